import { Option, type Command } from 'commander';
import type { ReplayTarget } from '../../replay/plan.js';
import type { ReplaySubject } from '../../replay/raw-replay.js';
import { connectorOption, example, subcommand, usageError, type Done } from '../define.js';
import { described, environmentHelp, shownDefault } from '../env-help.js';
import { isoTime, offsets } from '../usage.js';

const SUBJECT_OPTIONS = ['callId', 'callSid', 'tenant'];
const ID = /^[A-Za-z0-9._:@+-]{1,256}$/;

function replaySubject(options: { callId?: string; callSid?: string; tenant?: string }): ReplaySubject | undefined {
  if (options.callId !== undefined) return { kind: 'call', value: options.callId };
  if (options.callSid !== undefined) return { kind: 'call_sid', value: options.callSid };
  if (options.tenant !== undefined) return { kind: 'tenant', value: options.tenant };
  return undefined;
}

/** `replay`: exactly one target, or one subject to repair; the rest of the work is in commands/replay.ts and commands/replay-raw.ts. */
export function defineReplay(program: Command, done: Done): void {
  const cmd = subcommand(program, 'replay', 'Rewind the sink\'s consumer group to reprocess records (stop every sink of the group first).');
  cmd
    .addOption(new Option('--to-earliest', 'rewind to the start of each partition').conflicts(['from', 'offsets', ...SUBJECT_OPTIONS]))
    .addOption(new Option('--from <time>', 'rewind to the first record at or after this ISO time, e.g. 2026-11-27T09:00:00Z (with --call-id, --call-sid or --tenant: its requests received from then)').argParser(isoTime).conflicts('offsets'))
    .addOption(new Option('--offsets <list>', 'rewind to these offsets, <partition>:<offset>,... (partitions not named stay)').argParser(offsets).conflicts(SUBJECT_OPTIONS))
    .addOption(new Option('--call-id <id>', 'repair one call instead: re-publish its requests from the audit topic (idempotent), leaving the group alone').conflicts(['callSid', 'tenant']))
    .addOption(new Option('--call-sid <id>', 'the same, for this telephony call id: the Callaro requests naming it and its provider callbacks (read with CALLSTREAM_TELEPHONY_VENDORS)').conflicts(['tenant']))
    .addOption(new Option('--tenant <id>', 'the same, for one tenant\'s requests'))
    .addOption(new Option('--to <time>', described('with --call-id, --call-sid or --tenant: its requests received until then', { default: 'now' })).argParser(isoTime))
    .addOption(new Option('--topic <topic>', described('topic to rewind', { default: `a connector file's "topic", else ${shownDefault('topicEvents')}`, env: 'topicEvents' })))
    .addOption(new Option('--group <group>', described('consumer group to rewind', { default: `a connector file's "consumerGroup", else ${shownDefault('consumerGroup')}`, env: 'consumerGroup' })))
    .addOption(connectorOption())
    .option('--dry-run', described('show per partition what would be read again, change nothing', { default: 'off' }))
    .option('--yes', described('rewind without asking', { default: 'ask on a terminal; without one, change nothing' }))
    .addOption(new Option('--wait', described('after the rewind, follow the group until the sink has read the rewound records again, with progress on stderr', { default: 'off: return at once' })).conflicts('dryRun'))
    .addHelpText(
      'after',
      '\nExactly one of --to-earliest, --from or --offsets is needed; or one of --call-id, --call-sid, --tenant (with --from/--to) to repair one subject.\n' +
        environmentHelp(['kafkaBrokers', 'topicEvents', 'consumerGroup', 'connectorFile']) +
        example('callstream replay --to-earliest --dry-run', 'callstream replay --from 2026-11-27T09:00:00Z --yes', 'callstream replay --offsets 0:1200,3:880 --group callstream-bigquery-sink', 'callstream replay --to-earliest --yes --wait', 'callstream replay --call-id vs_12345 --from 2026-11-27T00:00:00Z --yes'),
    )
    .action(async (options: { toEarliest?: boolean; from?: Date; to?: Date; offsets?: Map<number, string>; callId?: string; callSid?: string; tenant?: string; topic?: string; group?: string; connector?: string; dryRun?: boolean; yes?: boolean; wait?: boolean }) => {
      const subject = replaySubject(options);
      if (subject) {
        if (!ID.test(subject.value)) return usageError(cmd, `"${subject.value.slice(0, 80)}" is not an id (letters, digits and . _ : @ + - only)`);
        if (options.wait || options.topic || options.group) return usageError(cmd, '--wait, --topic and --group rewind a group; a repair of one subject re-publishes instead');
        if (options.from && options.to && options.from > options.to) return usageError(cmd, `--from ${options.from.toISOString()} is after --to ${options.to.toISOString()}`);
        const { dryRun = false, yes = false } = options;
        return done(await (await import('../commands/replay-raw.js')).replayRawCommand({ from: options.from, to: options.to, codes: [], dryRun, yes, subject }));
      }
      if (options.to) return usageError(cmd, '--to goes with --call-id, --call-sid or --tenant');
      let target: ReplayTarget;
      if (options.toEarliest) target = { kind: 'earliest' };
      else if (options.from) target = { kind: 'time', at: options.from };
      else if (options.offsets) target = { kind: 'offsets', offsets: options.offsets };
      else return usageError(cmd, 'expected one of --to-earliest, --from <time> or --offsets <list>');
      const { topic, group, connector, dryRun = false, yes = false, wait = false } = options;
      done(await (await import('../commands/replay.js')).replay({ target, topic, group, connector, dryRun, yes, wait }));
    });
}
