import { Option, type Command } from 'commander';
import { CallstreamError, type ErrorCode } from '../../errors.js';
import { example, subcommand, usageError, type Done } from '../define.js';
import { described, environmentHelp } from '../env-help.js';
import { errorCodes, isoTime, REPLAYABLE_CODES } from '../usage.js';

/** `replay-raw`: the time range and the codes; the work is in commands/replay-raw.ts. */
export function defineReplayRaw(program: Command, done: Done): void {
  const cmd = subcommand(program, 'replay-raw', 'Re-validate the requests the receiver refused for their content (kept in the audit topic) and re-publish those valid now.');
  cmd
    .addOption(new Option('--from <time>', described('only requests received at or after this ISO time', { default: 'the start of the audit topic' })).argParser(isoTime))
    .addOption(new Option('--to <time>', described('only requests received at or before this ISO time', { default: 'now' })).argParser(isoTime))
    .addOption(new Option('--codes <list>', described(`refusal codes to reconsider, comma-separated; replayable: ${REPLAYABLE_CODES.join(', ')}`, { default: 'RCV_SCHEMA_INVALID' })).argParser(errorCodes))
    .option('--dry-run', described('count what would be accepted now and what stays refused, publish nothing', { default: 'off' }))
    .option('--yes', described('re-publish without asking', { default: 'ask on a terminal; without one, publish nothing' }))
    .addHelpText(
      'after',
      environmentHelp(['kafkaBrokers', 'topicRaw', 'topicEvents', 'schemaRegistryUrl']) +
        example('callstream replay-raw --from 2026-11-20T00:00:00Z --dry-run', 'callstream replay-raw --codes RCV_SCHEMA_INVALID,RCV_UNSUPPORTED_MEDIA_TYPE --yes'),
    )
    .action(async (options: { from?: Date; to?: Date; codes?: ErrorCode[]; dryRun?: boolean; yes?: boolean }) => {
      const { from, to, codes = ['RCV_SCHEMA_INVALID'], dryRun = false, yes = false } = options;
      if (from && to && from > to) usageError(cmd, `--from ${from.toISOString()} is after --to ${to.toISOString()}`);
      // Refused before any connection; the words of replayRaw's own check, which stays the rule.
      const refused = codes.filter((c) => !REPLAYABLE_CODES.includes(c));
      if (refused.length > 0) throw new CallstreamError('CFG_INVALID', `--codes: ${refused.join(', ')} cannot be replayed; replayable: ${REPLAYABLE_CODES.join(', ')}`);
      done(await (await import('../commands/replay-raw.js')).replayRawCommand({ from, to, codes, dryRun, yes }));
    });
}
