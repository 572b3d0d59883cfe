import type { Command } from 'commander';
import { example, subcommand, usageError, type Done } from '../define.js';
import { described, environmentHelp } from '../env-help.js';

/** `query`: one read-only SQL statement; the work is in commands/query.ts. */
export function defineQuery(program: Command, done: Done): void {
  subcommand(program, 'query', 'Run one read-only SQL query on the embedded DuckDB warehouse (through the running pipeline if there is one).')
    .argument('<sql...>', 'the statement; quote it, or its words are joined with spaces')
    .option('--json', described('print the rows as one JSON array', { default: 'an aligned text table' }))
    .addHelpText('after', environmentHelp(['dataDir', 'queryTimeoutMs', 'queryMaxRows']) + example('callstream query --json "SELECT call_id, event_type FROM call_events LIMIT 5"'))
    .action(async (words: string[], options: { json?: boolean }, cmd: Command) => {
      const sql = words.join(' ').trim();
      if (!sql) usageError(cmd, 'expected a SQL statement, e.g. "SELECT count(*) FROM call_events"');
      done(await (await import('../commands/query.js')).query(sql, { json: options.json ?? false }));
    });
}
