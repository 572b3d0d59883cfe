import type { Admin, ITopicConfig } from 'kafkajs';
import type { Config } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Room for a body at the size limit plus its headers in one audit record. */
const AUDIT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * The topics callstream writes and reads, with how they are created: for each flow
 * (Callaro's events, the providers' callbacks) its own events, audit and dead-letter topic.
 */
export function topicPlan(config: Config): ITopicConfig[] {
  const replicationFactor = config.topicReplicationFactor;
  const events = (topic: string): ITopicConfig => ({ topic, numPartitions: config.topicPartitions, replicationFactor });
  const audit = (topic: string): ITopicConfig => ({
    ...events(topic),
    configEntries: [{ name: 'max.message.bytes', value: String(Math.max(AUDIT_MAX_MESSAGE_BYTES, config.maxBodyBytes * 2)) }],
  });
  const deadLetter = (topic: string): ITopicConfig => ({ topic, numPartitions: 1, replicationFactor });
  return [
    events(config.topicEvents),
    audit(config.topicRaw),
    deadLetter(config.topicDeadLetter),
    events(config.topicTelephony),
    audit(config.topicTelephonyRaw),
    deadLetter(config.topicTelephonyDeadLetter),
  ];
}

/**
 * Creates the missing topics explicitly (broker auto-create is never relied on) and
 * waits until their leaders are known. Existing topics are left as they are.
 */
export async function ensureTopics(admin: Admin, config: Config, logger: Logger): Promise<void> {
  const plan = topicPlan(config);
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
    await admin.fetchTopicMetadata({ topics: plan.map((t) => t.topic) });
  } catch (cause) {
    if (cause instanceof CallstreamError) throw cause;
    throw new CallstreamError('KAFKA_TOPIC_SETUP_FAILED', `Could not create or check topics ${plan.map((t) => t.topic).join(', ')}`, { cause });
  }
}
