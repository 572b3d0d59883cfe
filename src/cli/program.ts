import { Command, Option } from 'commander';
import type { OptionKey } from '../config/options.js';
import { connectorOption, example, NAME, subcommand, usageError, withOneLineErrors, type Done } from './define.js';
import { described, environmentHelp } from './env-help.js';
import { defineReplay, defineReplayRaw } from './replay-commands.js';
import { defineStatus } from './status-command.js';
import { anyErrorCodes, gapKinds, isoTime, positiveInt, sinceTime } from './usage.js';

/** The variables start and sink help name first; the README's table has every one. */
const RUN_ENV: OptionKey[] = ['kafkaBrokers', 'host', 'port', 'warehouse', 'dataDir', 'connectorFile', 'schemaRegistryUrl', 'logLevel'];

/** All of the command line, built anew for each main() call (tests run it in-process). */
export function buildProgram(version: string, done: Done): Command {
  const program = withOneLineErrors(new Command(NAME), NAME)
    .description('Callaro webhooks -> Kafka (Avro) -> idempotent upserts into DuckDB or BigQuery.')
    .version(version, '-V, --version', 'print the version and exit')
    .option('--verbose', 'on an error, also show its cause chain (as LOG_LEVEL=debug or trace does)')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show the help of a command')
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      [
        '',
        'Configuration comes from environment variables (KAFKA_BROKERS, CALLSTREAM_WAREHOUSE, CALLSTREAM_CONNECTOR, ...):',
        'every one, with its default, is in docs/configuration.md. `callstream <command> --help` shows a command\'s.',
        '',
        'Examples:',
        '  callstream start                                     # local broker + receiver on :8080 + sink into ./data/',
        '  callstream sink --connector connectors/bigquery-sink.json',
        '  callstream query "SELECT count(*) FROM call_events"',
        '  callstream replay --to-earliest --dry-run',
        '  callstream status --json                             # is it healthy? exit 0 yes, 1 no',
        '  callstream trace vs_12345                            # one call\'s story: requests, dead letters, rows',
        '  callstream erase --phone +14155550100 --dry-run      # what an erasure would delete',
        '  callstream gaps --since 24h                          # calls whose report never came; exit 1 if any',
      ].join('\n'),
    );

  const run = (parts: { receiver?: boolean; sink?: boolean }) => async (options: { connector?: string }) =>
    done(await (await import('./commands/run.js')).run(options, parts));
  subcommand(program, 'start', 'Run the whole pipeline until Ctrl-C or SIGTERM: a local Kafka broker (unless KAFKA_BROKERS is set), the receiver and the sink.')
    .addOption(connectorOption())
    .addHelpText('after', environmentHelp([...RUN_ENV, 'authTokens', 'hmacSecrets']) + example('KAFKA_BROKERS=broker-1:9092 callstream start --connector connectors/bigquery-sink.json'))
    .action(run({}));
  subcommand(program, 'receiver', 'Run only the HTTP receiver: it validates webhooks and publishes them to Kafka.')
    .addOption(connectorOption())
    .addHelpText('after', environmentHelp(['kafkaBrokers', 'host', 'port', 'topicEvents', 'connectorFile', 'authTokens', 'hmacSecrets', 'maxBodyBytes', 'schemaRegistryUrl', 'logLevel']) + example('KAFKA_BROKERS=broker-1:9092 PORT=8080 callstream receiver'))
    .action(run({ sink: false }));
  subcommand(program, 'sink', 'Run only the sink: Kafka -> the warehouse; health and metrics on HOST:PORT.')
    .addOption(connectorOption())
    .addHelpText('after', environmentHelp([...RUN_ENV, 'consumerGroup', 'topicEvents', 'flushMaxRecords', 'flushIntervalMs', 'sinkBufferBytes']) + example('KAFKA_BROKERS=broker-1:9092 callstream sink --connector connectors/bigquery-sink.json'))
    .action(run({ receiver: false }));

  defineReplay(subcommand(program, 'replay', 'Rewind the sink\'s consumer group to reprocess records (stop every sink of the group first).'), done);
  defineReplayRaw(subcommand(program, 'replay-raw', 'Re-validate the requests the receiver refused for their content (kept in the audit topic) and re-publish those valid now.'), done);

  subcommand(program, 'query', 'Run one read-only SQL query on the embedded DuckDB warehouse (through the running pipeline if there is one).')
    .argument('<sql...>', 'the statement; quote it, or its words are joined with spaces')
    .option('--json', described('print the rows as one JSON array', { default: 'an aligned text table' }))
    .addHelpText('after', environmentHelp(['dataDir', 'queryTimeoutMs', 'queryMaxRows']) + example('callstream query --json "SELECT call_id, event_type FROM call_events LIMIT 5"'))
    .action(async (words: string[], options: { json?: boolean }, cmd: Command) => {
      const sql = words.join(' ').trim();
      if (!sql) usageError(cmd, 'expected a SQL statement, e.g. "SELECT count(*) FROM call_events"');
      done(await (await import('./commands/query.js')).query(sql, { json: options.json ?? false }));
    });
  subcommand(program, 'trace', 'Tell one call\'s whole story across both flows: every request about it, its dead letters and its rows, in time order.')
    .argument('<id>', 'a call_id, a call_sid (or any provider call id), or a request id')
    .option('--json', described('print the story as one JSON document', { default: 'a timeline for people' }))
    .addOption(new Option('--since <time>', described('only what happened at or after this ISO time (on BigQuery: the partition filter)', { default: `everything on DuckDB, the last 90 days on BigQuery` })).argParser(isoTime))
    .option('--bodies', described('also fetch each request\'s audit record (headers, body) and each dead letter from its topic, by partition@offset: personal data, shown only when asked', { default: 'the tables only' }))
    .addOption(connectorOption())
    .addHelpText(
      'after',
      '\nReads the requests and dead_letters tables (the audit trail\'s index, CALLSTREAM_REQUEST_LOG) and the event tables; ' +
        'the raw bytes stay in the topics at the partition@offset shown.\n' +
        environmentHelp(['warehouse', 'dataDir', 'connectorFile', 'requestLog']) +
        example('callstream trace vs_12345', 'callstream trace CA0123456789abcdef --json', 'callstream trace vs_12345 --bodies', 'callstream trace 5f0c6a1e-0d1b-4c55-9a8e-2d9e0c1b7a10 --since 2026-11-01'),
    )
    .action(async (id: string, options: { json?: boolean; since?: Date; connector?: string; bodies?: boolean }, cmd: Command) => {
      const { SUBJECT } = await import('../trace/index.js');
      if (!SUBJECT.test(id)) usageError(cmd, `"${id.slice(0, 80)}" is not a call_id, call_sid or request id (letters, digits and . _ : @ + - only)`);
      done(await (await import('./commands/trace.js')).trace(id, options));
    });
  subcommand(program, 'gaps', 'List the calls whose report never came: the provider says a call ended and no call.completed carries its call_sid, the reverse, or a call stuck.')
    .addOption(new Option('--since <span|time>', described('only gaps whose evidence (the call\'s end, its last status, the report) is this recent: 90m, 24h, 7d or an ISO time', { default: 'the whole call_gaps window (CALLSTREAM_GAPS_WINDOW_DAYS)' })).argParser((v) => sinceTime(v)))
    .addOption(new Option('--kind <kinds>', described('only these kinds, comma-separated: unreported, no_provider, stuck', { default: 'all' })).argParser(gapKinds))
    .addOption(new Option('--limit <n>', described('list at most this many, oldest first (the counts are of all)', { default: '200' })).argParser(positiveInt).default(200))
    .option('--json', described('print { counts, total, gaps } as one JSON document', { default: 'a list for people' }))
    .addOption(connectorOption())
    .addHelpText(
      'after',
      '\nReads the call_gaps view (docs/analytics.md). Exit 1 when any gap is found (a cron job can page on it), 0 when none.\n' +
        environmentHelp(['warehouse', 'dataDir', 'connectorFile', 'gapsUnreportedMinutes', 'gapsStuckHours', 'gapsWindowDays']) +
        example('callstream gaps', 'callstream gaps --since 24h --kind unreported', 'callstream gaps --json --connector connectors/bigquery-sink.json'),
    )
    .action(async (options: { since?: Date; kind?: Array<'unreported' | 'no_provider' | 'stuck'>; limit: number; json?: boolean; connector?: string }) => {
      done(await (await import('./commands/gaps.js')).gaps({ since: options.since, kinds: options.kind, limit: options.limit, json: options.json, connector: options.connector }));
    });
  subcommand(program, 'redrive', 'Re-publish dead-lettered records to the topic they came from, once their cause is fixed (a widened table, a new setting).')
    .addOption(new Option('--codes <list>', described('only dead letters with these error codes, comma-separated (e.g. SINK_ROW_REJECTED)', { default: 'every code' })).argParser(anyErrorCodes))
    .addOption(new Option('--from <time>', described('only dead letters written at or after this ISO time', { default: 'the start of the dead-letter topics' })).argParser(isoTime))
    .addOption(new Option('--to <time>', described('only dead letters written at or before this ISO time', { default: 'now' })).argParser(isoTime))
    .option('--dry-run', described('count what would be re-published, publish nothing', { default: 'off' }))
    .option('--yes', described('re-publish without asking', { default: 'ask on a terminal; without one, publish nothing' }))
    .addHelpText(
      'after',
      '\nIdempotent (each record keeps its request id and receipt time); a record redriven before and refused again is reported with its reason, not re-published. The sink\'s group is not touched; erasures are honoured by the sink.\n' +
        environmentHelp(['kafkaBrokers', 'topicDeadLetter', 'topicTelephonyDeadLetter', 'topicEvents', 'topicTelephony']) +
        example('callstream redrive --codes SINK_ROW_REJECTED --dry-run', 'callstream redrive --from 2026-11-27T00:00:00Z --yes'),
    )
    .action(async (options: { codes?: string[]; from?: Date; to?: Date; dryRun?: boolean; yes?: boolean }, cmd: Command) => {
      if (options.from && options.to && options.from > options.to) usageError(cmd, `--from ${options.from.toISOString()} is after --to ${options.to.toISOString()}`);
      done(await (await import('./commands/redrive.js')).redriveCommand({ codes: options.codes, from: options.from, to: options.to, dryRun: options.dryRun ?? false, yes: options.yes ?? false }));
    });
  subcommand(program, 'erase', 'Erase one subject\'s rows from every table, and record the erasure so the sink never writes them again (replays, redeliveries, late events).')
    .option('--phone <e164>', described('a phone number in E.164, e.g. +14155550100: rows holding it (hashed in CALLSTREAM_PII_MODE=hash) and the calls it took part in', { default: 'none: give exactly one of --phone, --call-id, --tenant' }))
    .option('--call-id <id>', described('a Callaro call id: the call\'s events, compliance events, callbacks and requests', { default: 'none' }))
    .option('--tenant <id>', described('a tenant id: all its events, and its calls\' callbacks and requests', { default: 'none' }))
    .option('--dry-run', described('count what would be erased; change and record nothing', { default: 'erase' }))
    .option('--json', described('print the receipt as one JSON document', { default: 'a receipt for people' }))
    .addOption(connectorOption())
    .addHelpText(
      'after',
      '\nOn DuckDB through the running pipeline when there is one (it owns the file), else on the file itself; on BigQuery from here ' +
        '(a sink elsewhere honours the erasure once it has read the erasures topic; the rows are deleted once more after 5 s). ' +
        'The topics keep their bytes until their retention ends: see the README\'s "Privacy".' +
        environmentHelp(['warehouse', 'dataDir', 'connectorFile', 'topicErasures', 'piiMode', 'piiHashKey']) +
        example('callstream erase --phone +14155550100 --dry-run', 'callstream erase --call-id vs_12345 --json', 'callstream erase --tenant 44 --connector connectors/bigquery-sink.json'),
    )
    .action(async (options: { phone?: string; callId?: string; tenant?: string; dryRun?: boolean; json?: boolean; connector?: string }, cmd: Command) => {
      const { E164_SUBJECT, ID_SUBJECT, TENANT_SUBJECT } = await import('../erasure/index.js');
      const given = (['phone', 'callId', 'tenant'] as const).filter((k) => options[k] !== undefined);
      if (given.length !== 1) usageError(cmd, 'expected exactly one of --phone, --call-id, --tenant');
      const [which] = given;
      const value = options[which]!;
      if (which === 'phone' && !E164_SUBJECT.test(value)) usageError(cmd, `--phone "${value.slice(0, 40)}" is not an E.164 number (a + and 7 to 15 digits, e.g. +14155550100)`);
      if (which === 'callId' && !ID_SUBJECT.test(value)) usageError(cmd, `--call-id "${value.slice(0, 80)}" is not a call id (letters, digits and . _ : @ + - only)`);
      if (which === 'tenant' && !TENANT_SUBJECT.test(value)) usageError(cmd, `--tenant "${value.slice(0, 40)}" is not a tenant id (an integer)`);
      const subject = { kind: which === 'callId' ? ('call' as const) : which, value };
      done(await (await import('./commands/erase.js')).eraseCommand({ subject, dryRun: options.dryRun ?? false, json: options.json ?? false, connector: options.connector }));
    });
  defineStatus(
    subcommand(program, 'status', 'Check once whether the pipeline is healthy: parts up, consumer lag, dead letters, last write, refusals; exit 0 healthy, 1 not.'),
    done,
  );
  return program;
}
