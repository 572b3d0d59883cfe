import type { Command } from 'commander';
import { connectorOption, example, subcommand, usageError, type Done } from '../define.js';
import { described, environmentHelp } from '../env-help.js';

/** `erase`: one subject's rows, and the erasure recorded; the work is in commands/erase.ts and src/erasure/. */
export function defineErase(program: Command, done: Done): void {
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
      const { E164_SUBJECT, ID_SUBJECT, TENANT_SUBJECT } = await import('../../erasure/index.js');
      const given = (['phone', 'callId', 'tenant'] as const).filter((k) => options[k] !== undefined);
      if (given.length !== 1) usageError(cmd, 'expected exactly one of --phone, --call-id, --tenant');
      const [which] = given;
      const value = options[which]!;
      if (which === 'phone' && !E164_SUBJECT.test(value)) usageError(cmd, `--phone "${value.slice(0, 40)}" is not an E.164 number (a + and 7 to 15 digits, e.g. +14155550100)`);
      if (which === 'callId' && !ID_SUBJECT.test(value)) usageError(cmd, `--call-id "${value.slice(0, 80)}" is not a call id (letters, digits and . _ : @ + - only)`);
      if (which === 'tenant' && !TENANT_SUBJECT.test(value)) usageError(cmd, `--tenant "${value.slice(0, 40)}" is not a tenant id (an integer)`);
      const subject = { kind: which === 'callId' ? ('call' as const) : which, value };
      done(await (await import('../commands/erase.js')).eraseCommand({ subject, dryRun: options.dryRun ?? false, json: options.json ?? false, connector: options.connector }));
    });
}
