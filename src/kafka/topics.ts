// Before kafkajs: its record batch checksum, computed natively (see crc32c.ts).
import './crc32c.js';
import kafkajs, { type Admin, type ITopicConfig } from 'kafkajs';
import type { Config } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

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

/**
 * The topics callstream writes and reads, with how they are created (size limit, retention
 * per kind: CALLSTREAM_RETENTION_*; a topic that exists already is left as it is): for each flow
 * (Callaro's events, the providers' callbacks) its own events, audit and dead-letter topic;
 * and the erasures topic `callstream erase` records into.
 */
export function topicPlan(config: Config): ITopicConfig[] {
  const replicationFactor = config.topicReplicationFactor;
  const size = { name: 'max.message.bytes', value: String(topicMaxMessageBytes(config)) };
  const retention = (days: number) => ({ name: 'retention.ms', value: String(days === -1 ? -1 : days * 86_400_000) });
  const topic = (name: string, numPartitions: number, days: number): ITopicConfig => ({ topic: name, numPartitions, replicationFactor, configEntries: [size, retention(days)] });
  const events = (name: string) => topic(name, config.topicPartitions, config.retentionEventsDays);
  const raw = (name: string) => topic(name, config.topicPartitions, config.retentionRawDays);
  const deadLetter = (name: string) => topic(name, 1, config.retentionDeadLetterDays);
  return [
    events(config.topicEvents),
    raw(config.topicRaw),
    deadLetter(config.topicDeadLetter),
    events(config.topicTelephony),
    raw(config.topicTelephonyRaw),
    deadLetter(config.topicTelephonyDeadLetter),
    // One partition: the sink reads it whole before it writes anything. Compacted, never deleted: the latest erasure per subject stays for good.
    { topic: config.topicErasures, numPartitions: 1, replicationFactor, configEntries: [size, { name: 'cleanup.policy', value: 'compact' }] },
  ];
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
 * waits until their leaders are known. Existing topics are left as they are. `only`: these
 * topics of the plan alone (a command that writes one topic creates no other).
 */
export async function ensureTopics(admin: Admin, config: Config, logger: Logger, only?: readonly string[]): Promise<TopicFacts> {
  const plan = topicPlan(config).filter((t) => !only || only.includes(t.topic));
  try {
    const existing = new Set(await admin.listTopics());
    const missing = plan.filter((t) => !existing.has(t.topic));
    if (missing.length > 0 && !config.createTopics) {
      throw new CallstreamError('KAFKA_TOPIC_SETUP_FAILED', `Topics missing and CALLSTREAM_CREATE_TOPICS=false: ${missing.map((t) => t.topic).join(', ')}`);
    }
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing, waitForLeaders: true, timeout: 30_000 });
      logger.info({ topics: missing.map((t) => ({ topic: t.topic, partitions: t.numPartitions })) }, 'created topics');
    }
    const { topics } = await admin.fetchTopicMetadata({ topics: plan.map((t) => t.topic) });
    const limits = await recordLimits(admin, plan.map((t) => t.topic));
    warnAboutSmallTopics(limits, config, logger);
    return { recordLimits: limits, partitions: new Map(topics.map((t) => [t.name, t.partitions.length])) };
  } catch (cause) {
    if (cause instanceof CallstreamError) throw cause;
    throw new CallstreamError('KAFKA_TOPIC_SETUP_FAILED', `Could not create or check topics ${plan.map((t) => t.topic).join(', ')}`, { cause });
  }
}

/** Each topic's effective max.message.bytes. */
async function recordLimits(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
  });
  const limits = new Map<string, number>();
  for (const resource of resources) {
    const entry = resource.configEntries.find((e) => e.configName === 'max.message.bytes');
    limits.set(resource.resourceName, Number(entry?.configValue ?? BROKER_DEFAULT_MAX_MESSAGE_BYTES));
  }
  return limits;
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

/**
 * admin.fetchTopicOffsets, tried again (up to ~10 s) while the topic's partitions have no leader
 * yet: right after ensureTopics created it, a loaded broker answers "not the leader" for a moment,
 * which failed start-up (seen on the shared CI machine).
 */
export async function fetchTopicOffsetsWhenReady(admin: Admin, topic: string): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (attempt >= 20 || !type || !NOT_READY.has(type)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * Math.min(attempt, 10)));
      await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    }
  }
}
