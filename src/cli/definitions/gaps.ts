import { Option, type Command } from 'commander';
import { connectorOption, example, subcommand, type Done } from '../define.js';
import { described, environmentHelp } from '../env-help.js';
import { gapKinds, positiveInt, sinceTime } from '../usage.js';

/** `gaps`: the calls whose report never came; the work is in commands/gaps.ts. */
export function defineGaps(program: Command, done: Done): void {
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
      done(await (await import('../commands/gaps.js')).gaps({ since: options.since, kinds: options.kind, limit: options.limit, json: options.json, connector: options.connector }));
    });
}
