import type { UnsafeSetting } from '../kafka/index.js';

/**
 * What `callstream status` finds, and the verdict on it. collect.ts gathers the facts (HTTP and
 * Kafka); judge() here turns them into problems (unhealthy: exit 1) and warnings (healthy, but
 * worth a look), without any I/O, so that the rules are unit-tested on their own.
 */

export interface StatusThresholds {
  /** Unhealthy when the sink's group is more records behind than this, over both flows' topics. */
  maxLag: number;
  /** Unhealthy above this many records in the dead-letter topics together; any at all is a warning. */
  maxDeadLetters: number;
  /** Unhealthy when no warehouse write happened for longer than this while records wait. */
  maxIdleSeconds: number;
}

/** The process at --url: its GET /readyz. */
export interface ProcessFacts {
  url: string;
  /** It answered HTTP at all. */
  up: boolean;
  /** 200 from /readyz, with components all true. */
  ready: boolean;
  httpStatus?: number;
  /** receiver, producer and (in a process running the sink) sink: connected or not. */
  components?: Record<string, boolean>;
  /** Why it is down, or why its answer is not understood. */
  error?: string;
}

export interface KafkaFacts {
  /** The bootstrap servers (KAFKA_BROKERS, else the local broker). */
  bootstrap: string[];
  up: boolean;
  /** Brokers the cluster reports. */
  brokers?: number;
  error?: string;
}

export interface GroupFacts {
  id: string;
  /** Stable, Empty, Dead, PreparingRebalance, CompletingRebalance or Unknown (Kafka's words). */
  state?: string;
  /** warehouse: what the member announced it writes (src/sink/group-binding.ts); absent for an older callstream. */
  members?: Array<{ clientId: string; host: string; warehouse?: string }>;
  error?: string;
}

export interface PartitionLag {
  partition: number;
  /** The group's committed offset; null when it has committed none (the sink then starts at the earliest). */
  committed: number | null;
  start: number;
  end: number;
  lag: number;
}

export interface TopicLag {
  topic: string;
  /** The setting that names it, for a topic that is missing. */
  setting: string;
  exists: boolean;
  total: number;
  partitions: PartitionLag[];
}

export interface DeadLetterTopic {
  topic: string;
  setting: string;
  exists: boolean;
  /** End minus start offsets over its partitions. */
  records: number;
}

export interface LastWrite {
  /** Whether the process's /metrics tell (a process without the sink cannot). */
  known: boolean;
  /** ISO time of the last warehouse write; null when there was none since the process started. */
  at: string | null;
  /** Seconds since the last write, else since the process started; null when not known. */
  idleSeconds: number | null;
  processStartedAt: string | null;
  /** Why it is not known. */
  reason?: string;
}

export interface RefusalCount {
  code: string;
  /** callstream_requests_rejected_total{code}: since the process started. */
  total: number;
  /** The increase between the two scrapes; null with --window 0. */
  inWindow: number | null;
  perSecond: number | null;
}

export interface Refusals {
  known: boolean;
  /** Seconds between the two scrapes of /metrics (0: one scrape, totals only). */
  windowSeconds: number;
  total: number;
  inWindow: number | null;
  byCode: RefusalCount[];
  reason?: string;
}

export interface ResourceExhaustion {
  resource: string;
  /** callstream_sink_warehouse_exhausted_total{resource}: failed write attempts since the process started. */
  total: number;
  /** The increase between the two scrapes; null with --window 0. */
  inWindow: number | null;
}

/** The warehouse out of memory or disk (SINK_WAREHOUSE_EXHAUSTED), from the sink's /metrics. */
export interface Exhaustion {
  /** Whether the process's /metrics tell (a process without the sink, or an older one, cannot). */
  known: boolean;
  windowSeconds: number;
  /** The resources the last write attempt ran out of (callstream_sink_warehouse_exhausted = 1). */
  now: string[];
  byResource: ResourceExhaustion[];
  reason?: string;
}

export interface StatusFacts {
  checkedAt: string;
  process: ProcessFacts;
  kafka: KafkaFacts;
  group: GroupFacts;
  /** Null totals when Kafka could not be asked. */
  lag: { total: number | null; topics: TopicLag[] };
  deadLetters: { total: number | null; topics: DeadLetterTopic[] };
  lastWrite: LastWrite;
  refusals: Refusals;
  exhaustion: Exhaustion;
  /** Topic settings that break a promise (the start-up check, KAFKA_TOPIC_UNSAFE), each with its fix; absent when Kafka was not asked. */
  unsafeTopics?: UnsafeSetting[];
}

/** What --json prints. */
export interface StatusReport extends StatusFacts {
  healthy: boolean;
  problems: string[];
  warnings: string[];
  thresholds: StatusThresholds;
}

/** What an operator does about each exhausted resource. */
const REMEDY: Record<string, string> = {
  disk: 'free space where the warehouse file is',
  memory: 'give the warehouse more memory, or write smaller flushes (CALLSTREAM_FLUSH_MAX_RECORDS)',
};

/** The refusal codes that mean the receiver could not store what it was sent (503). */
const STORE_FAILURES = ['RCV_BROKER_UNAVAILABLE'];

export function judge(facts: StatusFacts, thresholds: StatusThresholds): StatusReport {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { process: proc, kafka, group, lag, deadLetters, lastWrite, refusals, exhaustion } = facts;

  if (!proc.up) problems.push(`receiver down: nothing answers at ${proc.url}/readyz (${proc.error ?? 'no answer'})`);
  else if (!proc.ready) {
    const down = Object.entries(proc.components ?? {}).filter(([, ok]) => !ok).map(([name]) => name);
    problems.push(
      down.length > 0
        ? `process at ${proc.url} not ready: ${down.join(', ')} down (GET /readyz answered ${proc.httpStatus})`
        : `process at ${proc.url} not ready: GET /readyz answered ${proc.httpStatus}${proc.error ? ` (${proc.error})` : ''}`,
    );
  }

  if (!kafka.up) problems.push(`Kafka down: ${kafka.error ?? `no answer from ${kafka.bootstrap.join(',')}`}`);
  else {
    for (const t of [...lag.topics, ...deadLetters.topics]) {
      if (!t.exists) problems.push(`topic ${t.topic} (${t.setting}) does not exist: check the name, or start the pipeline once (it creates its topics)`);
    }
    const waiting = lag.total ?? 0;
    const backlog = waiting > 0 ? `; ${waiting} record(s) wait` : '';
    if (group.error) problems.push(`sink group ${group.id}: ${group.error}`);
    else if (group.state === 'Dead') problems.push(`no sink consumes: group ${group.id} is unknown to the cluster (Dead); check CALLSTREAM_CONSUMER_GROUP, or start the sink${backlog}`);
    else if (group.state === 'Empty' || (group.members?.length ?? 0) === 0) problems.push(`no sink consumes: group ${group.id} has no members (${group.state})${backlog}`);
    else if (group.state !== 'Stable') warnings.push(`group ${group.id} is ${group.state} (rebalancing); run status again in a few seconds`);

    for (const u of facts.unsafeTopics ?? []) problems.push(`topic ${u.topic}: ${u.setting}=${u.value}: ${u.why}; fix: ${u.fix}`);
    if (lag.total !== null && lag.total > thresholds.maxLag) {
      const perTopic = lag.topics.filter((t) => t.exists).map((t) => `${t.topic} ${t.total}`).join(', ');
      problems.push(`lag ${lag.total} record(s) above --max-lag ${thresholds.maxLag} (${perTopic})`);
    }
    if (deadLetters.total !== null && deadLetters.total > 0) {
      const perTopic = deadLetters.topics.filter((t) => t.records > 0).map((t) => `${t.topic} ${t.records}`).join(', ');
      const text = `${deadLetters.total} dead letter(s) (${perTopic}): records the sink could not decode or write, with the reason in their headers`;
      if (deadLetters.total > thresholds.maxDeadLetters) problems.push(`${text}; above --max-dead-letters ${thresholds.maxDeadLetters}`);
      else warnings.push(text);
    }
    if (lag.total !== null && lag.total > 0 && lastWrite.known && lastWrite.idleSeconds !== null && lastWrite.idleSeconds > thresholds.maxIdleSeconds) {
      const since = lastWrite.at ? `no warehouse write for ${seconds(lastWrite.idleSeconds)} (last ${lastWrite.at})` : `no warehouse write since the process started ${seconds(lastWrite.idleSeconds)} ago`;
      problems.push(`${since} while ${lag.total} record(s) wait; above --max-idle ${thresholds.maxIdleSeconds} s`);
    }
  }

  for (const r of refusals.byCode) {
    if (STORE_FAILURES.includes(r.code) && (r.inWindow ?? 0) > 0) {
      warnings.push(`${r.inWindow} request(s) refused with ${r.code} in the last ${refusals.windowSeconds} s: the receiver could not store them (the senders retry)`);
    }
  }
  for (const r of exhaustion.byResource) {
    if (exhaustion.now.includes(r.resource)) {
      problems.push(
        `warehouse out of ${r.resource} (SINK_WAREHOUSE_EXHAUSTED): the last write failed for want of it, ${r.total} failed attempt(s) since the process started; ` +
          `the sink retries in smaller pieces and reopens the warehouse, and goes on by itself once there is room: ${REMEDY[r.resource] ?? 'give the warehouse more of it'} (docs/operations.md, CallstreamWarehouseExhausted)`,
      );
    } else if ((r.inWindow ?? 0) > 0) {
      warnings.push(`${r.inWindow} warehouse write attempt(s) ran out of ${r.resource} in the last ${exhaustion.windowSeconds} s (SINK_WAREHOUSE_EXHAUSTED); the writes since succeeded`);
    }
  }
  const { checkedAt, ...parts } = facts;
  return { healthy: problems.length === 0, checkedAt, problems, warnings, thresholds, ...parts };
}

/** 75 -> "1 min 15 s". */
export function seconds(total: number): string {
  const s = Math.round(total);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h} h${m ? ` ${m} min` : ''}`;
}
