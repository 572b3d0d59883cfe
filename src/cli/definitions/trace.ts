import { Option, type Command } from 'commander';
import { connectorOption, example, subcommand, usageError, type Done } from '../define.js';
import { described, environmentHelp } from '../env-help.js';
import { isoTime } from '../usage.js';

/** `trace`: one call's story; the work is in commands/trace.ts and src/trace/. */
export function defineTrace(program: Command, done: Done): void {
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
      const { SUBJECT } = await import('../../trace/index.js');
      if (!SUBJECT.test(id)) usageError(cmd, `"${id.slice(0, 80)}" is not a call_id, call_sid or request id (letters, digits and . _ : @ + - only)`);
      done(await (await import('../commands/trace.js')).trace(id, options));
    });
}
