import { Option, type Command } from 'commander';
import { example, subcommand, usageError, type Done } from '../define.js';
import { described, environmentHelp } from '../env-help.js';
import { anyErrorCodes, isoTime } from '../usage.js';

/** `redrive`: dead letters back to their topics; the work is in commands/redrive.ts. */
export function defineRedrive(program: Command, done: Done): void {
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
      done(await (await import('../commands/redrive.js')).redriveCommand({ codes: options.codes, from: options.from, to: options.to, dryRun: options.dryRun ?? false, yes: options.yes ?? false }));
    });
}
