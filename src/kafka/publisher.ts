// Before kafkajs: its record batch checksum, computed natively (see crc32c.ts).
import './crc32c.js';
import kafkajs, { type IHeaders, type PartitionMetadata, type Producer, type TopicMessages } from 'kafkajs';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface OutgoingMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers?: IHeaders;
}

interface Waiter {
  messages: OutgoingMessage[];
  bytes: number;
  /** Its records' bytes per topic, counted once at publish(). */
  bytesPerTopic: Map<string, number>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The idempotent producer the publisher sends with, and a way to swap it. After a produce
 * request failed for good, kafkajs rolls back the sequence numbers of every partition of
 * that request, also of partitions the broker did append to; a later request then reuses
 * those numbers and the broker drops it as a duplicate while acknowledging it. A fresh
 * producer (new producer id, sequences from 0) cannot be fooled so.
 */
export interface ProducerHandle {
  readonly producer: Producer;
  replace(): Promise<void>;
}

export interface PublisherOptions {
  /** How long to gather concurrent publishes into one produce request. */
  lingerMs: number;
  /** Largest batch in bytes; a fuller queue is sent at once. */
  maxBatchBytes?: number;
  /** Bytes waiting at most; beyond it publishes fail fast (the receiver answers 503). */
  maxQueuedBytes?: number;
  /** Each topic's max.message.bytes (ensureTopics): a record over it is refused before producing. */
  recordLimits?: ReadonlyMap<string, number>;
  /**
   * Each topic's partition count (ensureTopics). For these topics the publisher places each
   * record itself (kafkajs's murmur2 partitioner, as the Java client) and checks that every
   * partition it wrote to acknowledged.
   */
  partitions?: ReadonlyMap<string, number>;
  /** Called when the broker did not acknowledge a produce request. */
  onError?: (err: unknown) => void;
}

/** How often the records of partitions left out of an acknowledgement are sent again with the same producer. */
const MISSING_PARTITION_RETRIES = 5;

/** What a record batch and a record add to the bytes of key, value and headers (Kafka's v2 format, generously). */
const BATCH_OVERHEAD_BYTES = 128;
const RECORD_OVERHEAD_BYTES = 32;

/** The bytes a message takes in a record batch, near enough to check it against max.message.bytes. */
export function recordBytes(m: OutgoingMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES + m.value.length + Buffer.byteLength(m.key);
  for (const [name, value] of Object.entries(m.headers ?? {})) bytes += Buffer.byteLength(name) + Buffer.byteLength(String(value ?? '')) + 8;
  return bytes;
}

/**
 * Publishes with acks=all through an idempotent producer, gathering the messages of
 * concurrent HTTP requests into one produce request (like the Java client's linger.ms).
 * A publish resolves only once the broker acknowledged every message it carried.
 *
 * No request's records can sink another's: a record over its topic's limit is refused before
 * producing (fits()), a shared request keeps each topic's bytes under its limit, and when a
 * shared request fails all the same, the producer is replaced and each request is sent again
 * alone, so the others are stored and acknowledged, and only the one at fault is refused.
 */
export class Publisher {
  private queue: Waiter[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private readonly maxBatchBytes: number;
  private readonly maxQueuedBytes: number;

  /** The last request failed: swap in a fresh producer before the next one. */
  private stale = false;
  /** The Java client's murmur2 placement, as the producer would choose it (keys are always set). */
  private readonly partitioner = kafkajs.Partitioners.DefaultPartitioner();
  private readonly partitionMetadata = new Map<string, PartitionMetadata[]>();

  constructor(
    private readonly handle: ProducerHandle,
    private readonly logger: Logger,
    private readonly options: PublisherOptions,
  ) {
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
  }

  /** The largest record `topic` takes (its max.message.bytes less a batch header); Infinity when unknown. */
  recordLimit(topic: string): number {
    const limit = this.options.recordLimits?.get(topic);
    return limit === undefined ? Infinity : limit - BATCH_OVERHEAD_BYTES;
  }

  /** Whether the broker can take this record at all (its topic's max.message.bytes). */
  fits(message: OutgoingMessage): boolean {
    return recordBytes(message) <= this.recordLimit(message.topic);
  }

  /**
   * Resolves when all messages are acknowledged by the broker; rejects with
   * KAFKA_RECORD_TOO_LARGE when one is over its topic's limit (nothing is produced), with
   * KAFKA_UNAVAILABLE otherwise.
   */
  publish(messages: OutgoingMessage[]): Promise<void> {
    const sizes = messages.map(recordBytes);
    const tooLarge = messages.findIndex((m, i) => sizes[i] > this.recordLimit(m.topic));
    if (tooLarge >= 0) {
      const { topic } = messages[tooLarge];
      return Promise.reject(new CallstreamError('KAFKA_RECORD_TOO_LARGE', `A record of ${sizes[tooLarge]} bytes is over the ${this.options.recordLimits?.get(topic)} bytes (max.message.bytes) topic ${topic} takes`));
    }
    const bytesPerTopic = new Map<string, number>();
    messages.forEach((m, i) => bytesPerTopic.set(m.topic, (bytesPerTopic.get(m.topic) ?? 0) + sizes[i]));
    const bytes = sizes.reduce((a, b) => a + b, 0);
    if (this.queuedBytes + bytes > this.maxQueuedBytes) {
      return Promise.reject(new CallstreamError('KAFKA_UNAVAILABLE', 'Too much is waiting for the broker; refusing more until it catches up'));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, bytes, bytesPerTopic, resolve, reject });
      this.queuedBytes += bytes;
      this.schedule();
    });
  }

  /** Sends what is queued and waits for it. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.sending) {
      if (!this.sending) this.sendNow();
      await this.sending;
    }
  }

  private schedule(): void {
    if (this.sending) return; // the next batch goes out when the current one is acked
    if (this.queuedBytes >= this.maxBatchBytes || this.options.lingerMs === 0) {
      this.sendNow();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.sendNow(), this.options.lingerMs);
    }
  }

  private sendNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sending || this.queue.length === 0) return;
    const batch = this.takeBatch();
    this.sending = this.send(batch).finally(() => {
      this.sending = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  /**
   * The next requests, up to maxBatchBytes, and with each topic's bytes under that topic's
   * limit: kafkajs puts a partition's records of one request into one record batch, which
   * the broker checks against max.message.bytes whole.
   */
  private takeBatch(): Waiter[] {
    const batch: Waiter[] = [];
    const perTopic = new Map<string, number>();
    let bytes = 0;
    while (this.queue.length > 0 && (batch.length === 0 || (bytes + this.queue[0].bytes <= this.maxBatchBytes && this.roomFor(this.queue[0], perTopic)))) {
      const w = this.queue.shift()!;
      bytes += w.bytes;
      for (const [topic, n] of w.bytesPerTopic) perTopic.set(topic, (perTopic.get(topic) ?? 0) + n);
      batch.push(w);
    }
    this.queuedBytes -= bytes;
    return batch;
  }

  private roomFor(w: Waiter, perTopic: ReadonlyMap<string, number>): boolean {
    return [...w.bytesPerTopic].every(([topic, n]) => (perTopic.get(topic) ?? 0) + n <= this.recordLimit(topic));
  }

  private async send(batch: Waiter[]): Promise<void> {
    const { failure, unacknowledged } = await this.produce(batch);
    if (!failure) {
      const pending = batch.filter((w) => unacknowledged.has(w));
      for (const w of batch) if (!unacknowledged.has(w)) w.resolve();
      if (pending.length === 0) return;
      return this.sendEachAlone(pending);
    }
    if (batch.length === 1) return batch[0].reject(failure);
    // Which request's records failed the shared request is unknown: each goes again alone.
    return this.sendEachAlone(batch);
  }

  private async sendEachAlone(batch: Waiter[]): Promise<void> {
    for (const w of batch) {
      const { failure, unacknowledged } = await this.produce([w]);
      if (failure) w.reject(failure);
      else if (unacknowledged.size > 0) w.reject(new CallstreamError('KAFKA_UNAVAILABLE', 'A partition the request was written to did not acknowledge it'));
      else w.resolve();
    }
  }

  /**
   * Sends one produce request (never throws): the error to answer when it failed, and the
   * requests whose partitions did not all acknowledge although kafkajs resolved. kafkajs 2.2.4
   * can resolve a produce without a partition whose leader moved during it: it keeps the
   * answers of brokers that answered and never re-sends to the new leader if that broker had
   * answered for other partitions already (kafkajs issue #1303). Such a request is sent again
   * with a fresh producer instead of being acknowledged.
   */
  private async produce(batch: Waiter[]): Promise<{ failure?: CallstreamError; unacknowledged: Set<Waiter> }> {
    const byTopic = new Map<string, TopicMessages>();
    const placed = new Map<Waiter, string[]>();
    for (const w of batch) {
      const keys: string[] = [];
      for (const m of w.messages) {
        let t = byTopic.get(m.topic);
        if (!t) byTopic.set(m.topic, (t = { topic: m.topic, messages: [] }));
        const partition = this.partitionOf(m);
        if (partition !== undefined) keys.push(`${m.topic}\u0000${partition}`);
        t.messages.push({ key: m.key, value: m.value, headers: m.headers, partition });
      }
      placed.set(w, keys);
    }
    try {
      if (this.stale) {
        await this.handle.replace();
        this.stale = false;
      }
      const written = await this.sendUntilAcknowledged([...byTopic.values()]);
      const unacknowledged = new Set(batch.filter((w) => placed.get(w)!.some((key) => !written.has(key))));
      if (unacknowledged.size > 0) {
        this.stale = true; // kafkajs's sequence numbers for the partition left out are not to be trusted
        this.logger.warn({ requests: unacknowledged.size, of: batch.length }, 'partitions still missing from the produce acknowledgement; sending those requests again with a fresh producer');
      }
      return { unacknowledged };
    } catch (cause) {
      this.stale = true;
      this.logger.warn({ err: cause, requests: batch.length }, 'publish failed; the producer is replaced before the next request');
      this.options.onError?.(cause);
      const failure = isTooLarge(cause)
        ? new CallstreamError('KAFKA_RECORD_TOO_LARGE', 'The broker refused a record as larger than its topic takes (max.message.bytes)', { cause })
        : new CallstreamError('KAFKA_UNAVAILABLE', 'The broker did not acknowledge the write', { cause });
      return { failure, unacknowledged: new Set() };
    }
  }

  /**
   * Sends, then sends again what the acknowledgement left out: only the records of the missing
   * partitions, in their order, with the same producer. kafkajs rolled those partitions'
   * sequence numbers back when their first attempt failed, so the same records get the same
   * numbers again, and a broker that did append them the first time (a leader that wrote and
   * replicated, then died before answering) drops the repeat as the duplicate it is: nothing is
   * written twice. Resolves with the "topic\u0000partition"s acknowledged.
   */
  private async sendUntilAcknowledged(topicMessages: TopicMessages[]): Promise<Set<string>> {
    const written = new Set<string>();
    let pending = topicMessages;
    for (let attempt = 0; attempt < MISSING_PARTITION_RETRIES && pending.length > 0; attempt++) {
      const acknowledged = await this.handle.producer.sendBatch({ topicMessages: pending, acks: -1 });
      for (const r of acknowledged ?? []) if (r.errorCode === 0) written.add(`${r.topicName}\u0000${r.partition}`);
      pending = pending
        .map((t) => ({ topic: t.topic, messages: t.messages.filter((m) => m.partition !== undefined && !written.has(`${t.topic}\u0000${m.partition}`)) }))
        .filter((t) => t.messages.length > 0);
      if (pending.length > 0) {
        this.logger.warn({ partitions: pending.map((t) => `${t.topic}[${[...new Set(t.messages.map((m) => m.partition))].join(',')}]`), attempt }, 'the broker acknowledged the produce request without some of its partitions (kafkajs #1303); sending those records again');
        this.options.onError?.(new Error('partitions missing from a produce acknowledgement'));
      }
    }
    return written;
  }

  /** The record's partition, chosen as kafkajs's default partitioner would; undefined when the topic's size is unknown. */
  private partitionOf(m: OutgoingMessage): number | undefined {
    const count = this.options.partitions?.get(m.topic);
    if (count === undefined) return undefined;
    let partitionMetadata = this.partitionMetadata.get(m.topic);
    if (partitionMetadata?.length !== count) {
      partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0 }) as PartitionMetadata);
      this.partitionMetadata.set(m.topic, partitionMetadata);
    }
    return this.partitioner({ topic: m.topic, partitionMetadata, message: { key: m.key, value: m.value } });
  }
}

/** MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE anywhere in a kafkajs error's causes. */
function isTooLarge(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; depth++) {
    const { type, errors, cause, originalError } = e as { type?: string; errors?: unknown[]; cause?: unknown; originalError?: unknown };
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
    if (errors?.some(isTooLarge)) return true;
    e = originalError ?? cause;
  }
  return false;
}
