import kafkajs, { type Admin } from 'kafkajs';
import { CallstreamError } from '../errors.js';

// kafkajs is CommonJS, and Node's ESM loader does not find this export by name.
const { ConfigResourceTypes } = kafkajs;

/**
 * What each topic is for, which decides the settings it must have (topics.ts gives each topic
 * of the plan its role): events (Callaro's events, the providers' callbacks: what replay
 * reads again), audit (every request: trace and replay-raw), dead letters, and the erasures
 * `callstream erase` records.
 */
export type TopicRole = 'events' | 'audit' | 'dead-letters' | 'erasures';

/** The topic settings read at start and by `callstream status` (their effective values, broker defaults included). */
export const CHECKED_SETTINGS = ['max.message.bytes', 'cleanup.policy', 'retention.ms', 'min.insync.replicas', 'unclean.leader.election.enable'] as const;

export interface TopicSettings {
  topic: string;
  role: TopicRole;
  /** Replicas of its partitions (the fewest, if they differ). */
  replicationFactor: number;
  /** The effective value of each of CHECKED_SETTINGS the broker reported. */
  configs: Partial<Record<(typeof CHECKED_SETTINGS)[number], string>>;
}

/** A setting that breaks a promise: where, why, and the command that fixes it. */
export interface UnsafeSetting {
  topic: string;
  setting: string;
  value: string;
  why: string;
  fix: string;
}

/** Reads the settings of these topics (those that exist), in the order given. */
export async function readTopicSettings(admin: Admin, roles: ReadonlyMap<string, TopicRole>): Promise<TopicSettings[]> {
  const names = [...roles.keys()];
  if (names.length === 0) return [];
  const [{ topics }, { resources }] = await Promise.all([
    admin.fetchTopicMetadata({ topics: names }),
    admin.describeConfigs({ includeSynonyms: false, resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [...CHECKED_SETTINGS] })) }),
  ]);
  const order = (name: string) => names.indexOf(name);
  return [...topics].sort((a, b) => order(a.name) - order(b.name)).map((t) => {
    const entries = resources.find((r) => r.resourceName === t.name)?.configEntries ?? [];
    return {
      topic: t.name,
      role: roles.get(t.name)!,
      replicationFactor: Math.min(...t.partitions.map((p) => p.replicas.length)),
      configs: Object.fromEntries(entries.map((e) => [e.configName, e.configValue])),
    };
  });
}

/**
 * The settings that break what callstream promises, for the topics in `check` (all when
 * absent); the others only serve as comparison (the events' retention, for the erasures):
 * - events, audit and dead-letter topics must not be compacted: compaction keeps one record
 *   per key, and a replay (or trace, replay-raw) loses every other version or status of it;
 * - the erasures topic must keep each erasure at least as long as any event, callback or audit
 *   record it covers is kept: compacted, or deleting no earlier than they expire; else a
 *   replay after the erasure expired writes the erased rows again;
 * - a replicated topic must acknowledge a write (acks=all) only once two replicas have it
 *   (min.insync.replicas >= 2; Kafka caps it at the replication factor) and never elect an
 *   out-of-sync leader, or an acknowledged record (a 2xx) can be lost with one broker.
 * A topic of one replica is not refused: its records are as safe as that broker's disk.
 */
export function unsafeSettings(all: readonly TopicSettings[], brokers: string, check?: readonly string[]): UnsafeSetting[] {
  const found: UnsafeSetting[] = [];
  const fix = (topic: string, change: string) => `kafka-configs.sh --bootstrap-server ${brokers} --alter --entity-type topics --entity-name ${topic} ${change}`;
  const kept = all.filter((t) => t.role !== 'erasures' && t.role !== 'dead-letters');
  for (const t of all.filter((x) => !check || check.includes(x.topic))) {
    const policy = t.configs['cleanup.policy'] ?? 'delete';
    const policies = policy.split(',').map((p) => p.trim());
    if (t.role !== 'erasures' && policies.includes('compact')) {
      found.push({
        topic: t.topic,
        setting: 'cleanup.policy',
        value: policy,
        why: `compaction keeps one record per key, so a replay (and trace, replay-raw) loses the other versions and statuses of a key; what it removed already is gone`,
        fix: fix(t.topic, '--add-config cleanup.policy=delete'),
      });
    }
    if (t.role === 'erasures') {
      const outlived = erasuresOutlivedBy(t, kept);
      if (outlived) {
        found.push({
          topic: t.topic,
          setting: 'cleanup.policy',
          value: `${policy} with retention.ms=${t.configs['retention.ms']}`,
          why: `it forgets an erasure after ${days(Number(t.configs['retention.ms']))} while ${outlived.topic} keeps records for ${days(retentionOf(outlived))}, so a replay would write erased rows again`,
          fix: fix(t.topic, '--add-config cleanup.policy=compact'),
        });
      }
    }
    if (t.replicationFactor >= 2) {
      const minIsr = Math.min(Number(t.configs['min.insync.replicas'] ?? 1), t.replicationFactor);
      if (minIsr < 2) {
        found.push({
          topic: t.topic,
          setting: 'min.insync.replicas',
          value: t.configs['min.insync.replicas'] ?? '1',
          why: `with ${t.replicationFactor} replicas a write is acknowledged once a single replica has it (acks=all waits only for the in-sync ones), so a 2xx can be lost with one broker`,
          fix: fix(t.topic, '--add-config min.insync.replicas=2'),
        });
      }
      if (t.configs['unclean.leader.election.enable'] === 'true') {
        found.push({
          topic: t.topic,
          setting: 'unclean.leader.election.enable',
          value: 'true',
          why: 'a replica that is behind may become leader and drop acknowledged records',
          fix: fix(t.topic, '--add-config unclean.leader.election.enable=false'),
        });
      }
    }
  }
  return found;
}

/** retention.ms as a number of ms; -1 (for ever) as Infinity. */
function retentionOf(t: TopicSettings): number {
  const ms = Number(t.configs['retention.ms'] ?? 604_800_000);
  return ms < 0 ? Infinity : ms;
}

/** The kept topic whose records outlive the erasures topic's own, if any: compacted (alone) erasures are never forgotten. */
function erasuresOutlivedBy(erasures: TopicSettings, kept: readonly TopicSettings[]): TopicSettings | undefined {
  const policies = (erasures.configs['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim());
  if (!policies.includes('delete')) return undefined;
  const own = retentionOf(erasures);
  return [...kept].sort((a, b) => retentionOf(b) - retentionOf(a)).find((t) => retentionOf(t) > own);
}

function days(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'ever';
  const d = ms / 86_400_000;
  return Number.isInteger(d) ? `${d} days` : `${ms} ms`;
}

/** The start-up refusal: every unsafe setting, each with its fix. */
export function unsafeTopicsError(found: readonly UnsafeSetting[]): CallstreamError {
  const lines = found.map((u) => `${u.topic}: ${u.setting}=${u.value}: ${u.why}. Fix: ${u.fix}`);
  return new CallstreamError('KAFKA_TOPIC_UNSAFE', `Topic settings break callstream's promises:\n  ${lines.join('\n  ')}`, { details: found });
}
