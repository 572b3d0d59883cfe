import { Option, type Command } from 'commander';
import { connectorOption, example, subcommand, type Done } from '../define.js';
import { described, environmentHelp, shownDefault } from '../env-help.js';
import { count, httpUrl, seconds } from '../usage.js';
import { STATUS_DEFAULTS, type StatusCommandOptions } from '../../status/command-options.js';

/** `status`: a one-shot health check; the work is in commands/status.ts and src/status/. */
export function defineStatus(program: Command, done: Done): void {
  const d = STATUS_DEFAULTS;
  subcommand(program, 'status', 'Check once whether the pipeline is healthy: parts up, consumer lag, dead letters, last write, refusals; exit 0 healthy, 1 not.')
    .addOption(new Option('--url <url>', described('where the receiver, sink or pipeline serves /readyz and /metrics', { default: `http://$HOST:$PORT, i.e. http://${shownDefault('host')}:${shownDefault('port')}; HOST 0.0.0.0 or :: is asked on loopback` })).argParser(httpUrl))
    .addOption(new Option('--group <group>', described('the sink\'s consumer group', { default: `a connector file's "consumerGroup", else ${shownDefault('consumerGroup')}`, env: 'consumerGroup' })))
    .addOption(connectorOption())
    .addOption(new Option('--window <seconds>', described('seconds between the two scrapes of /metrics that give the refusal rate; 0: one scrape, totals only', { default: String(d.windowSeconds) })).argParser(seconds(0, 300)))
    .addOption(new Option('--max-lag <records>', described('unhealthy above this many records of lag, over both flows\' topics', { default: String(d.maxLag) })).argParser(count))
    .addOption(new Option('--max-dead-letters <records>', described('unhealthy above this many records in the dead-letter topics together; fewer (but some) is a warning', { default: String(d.maxDeadLetters) })).argParser(count))
    .addOption(new Option('--max-idle <seconds>', described('unhealthy when no warehouse write happened for longer than this while records wait', { default: String(d.maxIdleSeconds) })).argParser(seconds(1, 30 * 86_400)))
    .addOption(new Option('--timeout <seconds>', described('bound of each HTTP request, and of the Kafka questions together', { default: String(d.timeoutSeconds) })).argParser(seconds(0.1, 300)))
    .option('--json', described('print the report as one JSON document', { default: 'readable tables' }))
    .addHelpText(
      'after',
      [
        '',
        'Checks, once: the process at --url (GET /readyz: receiver, producer, sink), the Kafka cluster, the sink\'s consumer',
        'group (state, members), its lag per topic and partition on both flows\' topics (CALLSTREAM_TOPIC_EVENTS and',
        'CALLSTREAM_TOPIC_TELEPHONY), the records in both dead-letter topics, and from GET /metrics the time of the last',
        'warehouse write and the refusals by code.',
        '',
        'Refusals: the totals since the process started, plus the count and rate over --window: /metrics is read twice,',
        '--window seconds apart (a single read cannot tell a rate). --window 0 reads once and shows the totals only.',
        '',
        'Exit status: 0 healthy (warnings allowed); 1 unhealthy: the process down or not ready, Kafka down, a topic missing,',
        'no sink in the group, lag above --max-lag, dead letters above --max-dead-letters, or no write for longer than',
        '--max-idle while records wait; 2 a mistake on the command line. Dead letters up to --max-dead-letters are a warning.',
        '',
      ].join('\n') +
        environmentHelp(['host', 'port', 'kafkaBrokers', 'consumerGroup', 'topicEvents', 'topicTelephony', 'topicDeadLetter', 'topicTelephonyDeadLetter', 'connectorFile']) +
        example('callstream status', 'callstream status --url http://10.0.0.5:8080 --json --window 10', 'callstream status --max-lag 50000 --max-dead-letters 0 || echo unhealthy'),
    )
    .action(async (options: StatusCommandOptions) => {
      done(await (await import('../commands/status.js')).status(options));
    });
}
