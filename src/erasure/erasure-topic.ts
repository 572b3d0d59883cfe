import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Config } from '../config/index.js';
import { CallstreamError, describeError } from '../errors.js';
import { connectKafkaClient, fetchTopicOffsetsWhenReady, type OutgoingMessage } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import type { Erasure } from './erasure.js';
import { ErasureSet } from './erasure-set.js';

/** Longest wait at start for the erasures topic to be read to its end: the sink writes nothing before. */
const LOAD_TIMEOUT_MS = 60_000;

/** The record of an erasure on the erasures topic: keyed by subject, the value JSON. */
export function erasureRecord(topic: string, erasure: Erasure): OutgoingMessage {
  return { topic, key: erasure.key, value: Buffer.from(JSON.stringify(erasure)) };
}

/** An erasure read back; null for a tombstone (an erasure lifted) or a value that is not one. */
export function parseErasure(value: Buffer | null): Erasure | null {
  if (!value || value.length === 0) return null;
  const parsed = JSON.parse(value.toString('utf8')) as Partial<Erasure>;
  const list = <T>(v: T[] | undefined): T[] => (Array.isArray(v) ? v : []);
  if (typeof parsed.key !== 'string') return null;
  const kind = parsed.kind ?? 'call';
  const tenants = list(parsed.tenants);
  // Written before calls were bound to tenants: a tenant's calls are its own; a number's may be any tenant's.
  const callTenants = Array.isArray(parsed.callTenants) ? parsed.callTenants : kind === 'tenant' ? tenants : undefined;
  return { key: parsed.key, kind, erasedAt: String(parsed.erasedAt ?? ''), phones: list(parsed.phones), callIds: list(parsed.callIds), callSids: list(parsed.callSids), tenants, ...(callTenants ? { callTenants } : {}) };
}

/**
 * Reads the erasures topic into an ErasureSet: wholly before start() resolves (so a replay
 * cannot write a row an erasure covers), then every new record as it comes. A consumer group
 * of its own that never commits: every start reads from the beginning, and compaction keeps
 * the topic one record per subject.
 */
export class ErasureFollower {
  private consumer?: Consumer;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly erasures: ErasureSet,
    private readonly logger: Logger,
    /** Called after each erasure applied (not a tombstone), during the load and after it. */
    private readonly onErasure?: (erasure: Erasure) => void,
  ) {}

  async start(): Promise<void> {
    const topic = this.config.topicErasures;
    const admin = this.kafka.admin();
    await connectKafkaClient(admin, this.config);
    const ends = await fetchTopicOffsetsWhenReady(admin, topic).finally(() => admin.disconnect());
    const behind = new Map(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
    const consumer = this.kafka.consumer({ groupId: `${this.config.consumerGroup}.erasures.${randomUUID()}`, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
    this.consumer = consumer;
    await connectKafkaClient(consumer, this.config);
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let loaded!: () => void;
    const caughtUp = new Promise<void>((resolve) => (loaded = resolve));
    if (behind.size === 0) loaded();
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString('utf8') ?? '';
        try {
          const erasure = parseErasure(message.value);
          this.erasures.apply(key, erasure);
          if (erasure) this.onErasure?.(erasure);
        } catch (err) {
          this.logger.error({ partition, offset: message.offset, error: describeError(err) }, 'an erasures record could not be read; it is passed over');
        }
        if (Number(message.offset) + 1 >= (behind.get(partition) ?? 0) && behind.delete(partition) && behind.size === 0) loaded();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CallstreamError('KAFKA_UNAVAILABLE', `The erasures topic ${topic} was not read to its end within ${LOAD_TIMEOUT_MS / 1000} s; the sink does not write before it is`)), LOAD_TIMEOUT_MS);
    });
    try {
      await Promise.race([caughtUp, timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.logger.info({ topic, erasures: this.erasures.size }, 'erasures loaded; following the topic');
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** The erasure recorded under a key: reads the erasures topic to its end (what a rerun of `erase` from here merges with). */
export async function readRecordedErasure(kafka: Kafka, config: Config, logger: Logger, key: string): Promise<Erasure | undefined> {
  const erasures = new ErasureSet();
  const follower = new ErasureFollower(kafka, config, erasures, logger);
  try {
    await follower.start();
    return erasures.recorded(key);
  } finally {
    await follower.stop();
  }
}
