import type { Admin } from 'kafkajs';
import { CallstreamError } from '../errors.js';

/** Where a replay rewinds the group to. */
export type ReplayTarget = { kind: 'earliest' } | { kind: 'time'; at: Date } | { kind: 'offsets'; offsets: Map<number, string> };

export interface PartitionPlan {
  partition: number;
  /** The group's committed offset now (-1: none). */
  committed: string;
  /** Where the group will start again. */
  target: string;
  /** End of the partition (high watermark). */
  end: string;
  /** Records the sink will read again (from target up to where it had committed). */
  reprocess: number;
}

export interface ReplayPlan {
  groupId: string;
  topic: string;
  partitions: PartitionPlan[];
  totalReprocess: number;
}

/** Parses "0:120,3:0" into partition -> offset. */
export function parseOffsets(spec: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const match = /^(\d+):(\d+)$/.exec(part);
    if (!match) throw new CallstreamError('CFG_INVALID', `--offsets: expected <partition>:<offset>[,...], got "${part}"`);
    out.set(Number(match[1]), match[2]);
  }
  if (out.size === 0) throw new CallstreamError('CFG_INVALID', '--offsets: expected at least one <partition>:<offset>');
  return out;
}

/** Refuses while the group has members: offsets of a live group cannot be rewound. */
export async function assertGroupInactive(admin: Admin, groupId: string): Promise<void> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups.find((g) => g.groupId === groupId);
  if (group && group.members.length > 0) {
    const who = group.members.map((m) => `${m.clientId}@${m.clientHost}`).join(', ');
    throw new CallstreamError(
      'CFG_INVALID',
      `Consumer group ${groupId} has ${group.members.length} active member(s) (${who}); stop every sink of this group (Ctrl-C or SIGTERM) and run the replay again`,
    );
  }
}

/** Works out, per partition, where the group will restart and how much it will read again. */
export async function planReplay(admin: Admin, groupId: string, topic: string, target: ReplayTarget): Promise<ReplayPlan> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committedTopic] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = new Map((committedTopic?.partitions ?? []).map((p) => [p.partition, p.offset]));
  let targets: Map<number, string>;
  if (target.kind === 'earliest') targets = new Map(ends.map((e) => [e.partition, e.low]));
  else if (target.kind === 'time') targets = new Map((await admin.fetchTopicOffsetsByTimestamp(topic, target.at.getTime())).map((e) => [e.partition, e.offset]));
  else {
    for (const p of target.offsets.keys()) {
      if (!ends.some((e) => e.partition === p)) throw new CallstreamError('CFG_INVALID', `--offsets: topic ${topic} has no partition ${p}`);
    }
    targets = target.offsets;
  }
  const partitions: PartitionPlan[] = ends
    .filter((e) => targets.has(e.partition))
    .map((e) => {
      const low = BigInt(e.low);
      const high = BigInt(e.high);
      let to = BigInt(targets.get(e.partition)!);
      if (to < low) to = low;
      if (to > high) to = high;
      const done = committed.get(e.partition) ?? '-1';
      const doneAt = BigInt(done) < 0n ? low : BigInt(done);
      return { partition: e.partition, committed: done, target: to.toString(), end: e.high, reprocess: Number(doneAt > to ? doneAt - to : 0n) };
    })
    .sort((a, b) => a.partition - b.partition);
  return { groupId, topic, partitions, totalReprocess: partitions.reduce((n, p) => n + p.reprocess, 0) };
}

/** Moves the group's committed offsets to the plan's targets. */
export async function applyReplay(admin: Admin, plan: ReplayPlan): Promise<void> {
  await assertGroupInactive(admin, plan.groupId);
  await admin.setOffsets({ groupId: plan.groupId, topic: plan.topic, partitions: plan.partitions.map((p) => ({ partition: p.partition, offset: p.target })) });
}

export function formatPlan(plan: ReplayPlan): string {
  const rows = plan.partitions.map((p) => `  ${String(p.partition).padStart(9)}  ${p.committed.padStart(12)}  ${p.target.padStart(12)}  ${p.end.padStart(12)}  ${String(p.reprocess).padStart(11)}`);
  return [
    `Replay of ${plan.topic} for consumer group ${plan.groupId}:`,
    `  partition     committed        rewind           end   reprocess`,
    ...rows,
    `  ${plan.totalReprocess} record(s) will be read again; the idempotent upsert leaves unchanged rows as they are.`,
  ].join('\n');
}
