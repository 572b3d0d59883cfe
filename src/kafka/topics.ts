// Before kafkajs: its record batch checksum, computed natively (see crc32c.ts).
import './crc32c.js';
import kafkajs, { type Admin, type ITopicConfig } from 'kafkajs';
import { FLOWS, flowTopic, type Config } from '../config/index.js';
import { LOCAL_BROKER } from './client.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import { readTopicSettings, unsafeSettings, unsafeTopicsError, type TopicRole, type TopicSettings } from './topic-settings.js';

// kafkajs is CommonJS, and Node's ESM loader does not find this export by name.
const { ConfigResourceTypes } = kafkajs;

/** The broker's own default for max.message.bytes (1 MB and a batch header), for a topic that reports none. */
const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** The largest record a request's headers and ids add to its body (Node's header limit is 16 KiB). */
const RECORD_OVERHEAD_BYTES = 64 * 1024;

/**
 * The size contract: max.message.bytes of every topic callstream creates, so that no request
 * under the body limit can fail on a broker size limit. A request's largest record is its
 * body plus what is derived from it: an event record holds the body and its JSON columns
 * (each at most the body's size again: re-serialised parts of it), a provider callback the
 * raw body and its parsed fields (a form body's fields as JSON can be about three times the
 * form); so four times the body limit, plus the headers, at least 8 MiB. Dead-letter topics
 * take the same, since a dead letter carries the original record.
 */
export function topicMaxMessageBytes(config: Config): number {
  return Math.max(8 * 1024 * 1024, 4 * config.maxBodyBytes + RECORD_OVERHEAD_BYTES);
}

/** A topic of the plan: how it is created, and its role (which settings it must keep: topic-settings.ts). */
export interface PlannedTopic extends ITopicConfig {
  role: TopicRole;
}

/**
 * The topics callstream writes and reads, with how they are created (size limit, retention
 * per kind: CALLSTREAM_RETENTION_*; a topic that exists already is left as it is): for each flow
 * (Callaro's events, the providers' callbacks) its own events, audit and dead-letter topic;
 * and the erasures topic `callstream erase` records into. `replicas`: the replication factor
 * they will get (CALLSTREAM_TOPIC_REPLICATION, or the broker's default for -1); with two or
 * more, a write is acknowledged only once two replicas have it (min.insync.replicas=2).
 */
export function topicPlan(config: Config, replicas = config.topicReplicationFactor): PlannedTopic[] {
  const replicationFactor = config.topicReplicationFactor;
  const size = { name: 'max.message.bytes', value: String(topicMaxMessageBytes(config)) };
  // Only where it can be met: before Kafka capped it at the replication factor (3.7), a single replica refused every acks=all write.
  const durable = replicas >= 2 ? [{ name: 'min.insync.replicas', value: '2' }] : [];
  const retention = (days: number) => ({ name: 'retention.ms', value: String(days === -1 ? -1 : days * 86_400_000) });
  const topic = (role: TopicRole, name: string, numPartitions: number, days: number): PlannedTopic => ({ role, topic: name, numPartitions, replicationFactor, configEntries: [size, retention(days), ...durable] });
  const events = (name: string) => topic('events', name, config.topicPartitions, config.retentionEventsDays);
  const raw = (name: string) => topic('audit', name, config.topicPartitions, config.retentionRawDays);
  const deadLetter = (name: string) => topic('dead-letters', name, 1, config.retentionDeadLetterDays);
  return [
    ...FLOWS.flatMap((flow) => [events(flowTopic(config, flow, 'events').topic), raw(flowTopic(config, flow, 'raw').topic), deadLetter(flowTopic(config, flow, 'deadLetter').topic)]),
    // One partition: the sink reads it whole before it writes anything. Compacted, never deleted: the latest erasure per subject stays for good.
    { role: 'erasures', topic: config.topicErasures, numPartitions: 1, replicationFactor, configEntries: [size, { name: 'cleanup.policy', value: 'compact' }, ...durable] },
  ];
}

/** Each topic of the plan and its role. */
export function topicRoles(config: Config): Map<string, TopicRole> {
  return new Map(topicPlan(config).map((t) => [t.topic, t.role]));
}

/** What the publisher needs to know of each topic it writes. */
export interface TopicFacts {
  /** Effective max.message.bytes (the topic's own setting, else the broker's): records are checked against it before producing. */
  recordLimits: Map<string, number>;
  /** Partition count: the publisher places records itself, so it can check that every partition acknowledged. */
  partitions: Map<string, number>;
}

/**
 * Creates the missing topics explicitly (broker auto-create is never relied on) and
 * waits until their leaders are known. Existing topics are left as they are, but their settings
 * are checked: one that breaks a promise (compaction, the erasures' retention, a single
 * acknowledging replica, unclean election: topic-settings.ts) stops start-up with
 * KAFKA_TOPIC_UNSAFE, naming the topic, the setting and the command that fixes it. `only`:
 * these topics of the plan alone (a command that writes one topic creates no other).
 */
export async function ensureTopics(admin: Admin, config: Config, logger: Logger, only?: readonly string[]): Promise<TopicFacts> {
  const wanted = (t: PlannedTopic) => !only || only.includes(t.topic);
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topicPlan(config).filter((t) => wanted(t) && !existing.has(t.topic));
    if (missing.length > 0 && !config.createTopics) {
      throw new CallstreamError('KAFKA_TOPIC_SETUP_FAILED', `Topics missing and CALLSTREAM_CREATE_TOPICS=false: ${missing.map((t) => t.topic).join(', ')}`);
    }
    if (missing.length > 0) {
      const plan = topicPlan(config, await creationReplicas(admin, config)).filter((t) => missing.some((m) => m.topic === t.topic));
      await admin.createTopics({ topics: plan.map(({ role: _role, ...topic }) => topic), waitForLeaders: true, timeout: 30_000 });
      logger.info({ topics: plan.map((t) => ({ topic: t.topic, partitions: t.numPartitions })) }, 'created topics');
    }
    const names = topicPlan(config).filter(wanted).map((t) => t.topic);
    // Every topic of the plan that exists: the erasures' retention is compared with the events'.
    const present = new Set([...existing, ...missing.map((t) => t.topic)]);
    const settings = await whenTopicsReady(admin, names, () => readTopicSettings(admin, new Map([...topicRoles(config)].filter(([topic]) => present.has(topic)))));
    const unsafe = unsafeSettings(settings, (config.kafkaBrokers ?? [LOCAL_BROKER]).join(','), names);
    if (unsafe.length > 0) throw unsafeTopicsError(unsafe);
    noteSingleReplicas(settings.filter((t) => names.includes(t.topic)), logger);
    const limits = recordLimits(settings.filter((t) => names.includes(t.topic)));
    warnAboutSmallTopics(limits, config, logger);
    const { topics } = await whenTopicsReady(admin, names, () => admin.fetchTopicMetadata({ topics: names }));
    return { recordLimits: limits, partitions: new Map(topics.map((t) => [t.name, t.partitions.length])) };
  } catch (cause) {
    if (cause instanceof CallstreamError) throw cause;
    throw new CallstreamError('KAFKA_TOPIC_SETUP_FAILED', `Could not create or check topics ${topicPlan(config).filter(wanted).map((t) => t.topic).join(', ')}`, { cause });
  }
}

/** The replication factor created topics get: CALLSTREAM_TOPIC_REPLICATION, or for -1 the broker's default.replication.factor. */
async function creationReplicas(admin: Admin, config: Config): Promise<number> {
  if (config.topicReplicationFactor !== -1) return config.topicReplicationFactor;
  const { brokers } = await admin.describeCluster();
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.BROKER, name: String(brokers[0].nodeId), configNames: ['default.replication.factor'] }],
  });
  return Number(resources[0]?.configEntries.find((e) => e.configName === 'default.replication.factor')?.configValue ?? 1);
}

/**
 * The effective max.message.bytes of these existing topics of the plan: what a command that
 * produces to them (replay, redrive) checks its records against before producing (Publisher's
 * recordLimits), as the pipeline does with ensureTopics' facts.
 */
export async function readRecordLimits(admin: Admin, config: Config, topics: readonly string[]): Promise<Map<string, number>> {
  const roles = topicRoles(config);
  return recordLimits(await readTopicSettings(admin, new Map(topics.filter((t) => roles.has(t)).map((t) => [t, roles.get(t)!]))));
}

/** Each topic's effective max.message.bytes. */
function recordLimits(settings: readonly TopicSettings[]): Map<string, number> {
  return new Map(settings.map((t) => [t.topic, Number(t.configs['max.message.bytes'] ?? BROKER_DEFAULT_MAX_MESSAGE_BYTES)]));
}

/** One replica is allowed (a single broker), and said once: an acknowledged record is then as safe as that broker's disk. */
function noteSingleReplicas(settings: readonly TopicSettings[], logger: Logger): void {
  const single = settings.filter((t) => t.replicationFactor < 2).map((t) => t.topic);
  if (single.length > 0) logger.info({ topics: single }, 'topics with one replica: an acknowledged record is as safe as its broker\'s disk (CALLSTREAM_TOPIC_REPLICATION)');
}

/** A topic created before (or outside callstream) may take less than the body limit needs: say so once, at start. */
function warnAboutSmallTopics(limits: ReadonlyMap<string, number>, config: Config, logger: Logger): void {
  const wanted = topicMaxMessageBytes(config);
  const small = [...limits].filter(([, limit]) => limit < wanted);
  if (small.length === 0) return;
  logger.warn(
    { topics: Object.fromEntries(small), wanted, maxBodyBytes: config.maxBodyBytes },
    'topics accept smaller records than the body limit needs: larger requests get 413 RCV_RECORD_TOO_LARGE; raise their max.message.bytes (kafka-configs.sh --alter) or lower CALLSTREAM_MAX_BODY_BYTES',
  );
}

/** kafkajs's error types a topic just created answers with while its partitions get leaders. */
const NOT_READY = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/** kafkajs's error type, also when wrapped (a KafkaJSNumberOfRetriesExceeded keeps the last one). */
function errorType(err: unknown): string | undefined {
  const e = err as { type?: string; originalError?: { type?: string } } | undefined;
  return e?.type ?? e?.originalError?.type;
}

/**
 * Runs work again (up to ~15 s, the metadata refreshed between tries) while the topics' partitions
 * have no leader known yet: right after a topic is created, or a broker started, a loaded broker
 * answers "not the leader" or "does not host this topic-partition" for a moment, which failed
 * start-up (seen on the shared CI machine and on a freshly started local broker).
 */
export async function whenTopicsReady<T>(admin: Admin, topics: string[], work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const type = errorType(err);
      if (attempt >= 20 || !type || !NOT_READY.has(type)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * Math.min(attempt, 10)));
      await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
    }
  }
}

/** admin.fetchTopicOffsets once the topic's partitions have leaders (see whenTopicsReady). */
export function fetchTopicOffsetsWhenReady(admin: Admin, topic: string): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
  return whenTopicsReady(admin, [topic], () => admin.fetchTopicOffsets(topic));
}
