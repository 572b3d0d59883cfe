import type { IHeaders, Producer, TopicMessages } from 'kafkajs';
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
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface PublisherOptions {
  /** How long to gather concurrent publishes into one produce request. */
  lingerMs: number;
  /** Largest batch in bytes; a fuller queue is sent at once. */
  maxBatchBytes?: number;
  /** Bytes waiting at most; beyond it publishes fail fast (the receiver answers 503). */
  maxQueuedBytes?: number;
  /** Called when the broker did not acknowledge a produce request. */
  onError?: (err: unknown) => void;
}

/**
 * Publishes with acks=all through an idempotent producer, gathering the messages of
 * concurrent HTTP requests into one produce request (like the Java client's linger.ms).
 * A publish resolves only once the broker acknowledged every message it carried.
 */
export class Publisher {
  private queue: Waiter[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private readonly maxBatchBytes: number;
  private readonly maxQueuedBytes: number;

  constructor(
    private readonly producer: Producer,
    private readonly logger: Logger,
    private readonly options: PublisherOptions,
  ) {
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
  }

  /** Resolves when all messages are acknowledged by the broker; rejects with KAFKA_UNAVAILABLE otherwise. */
  publish(messages: OutgoingMessage[]): Promise<void> {
    const bytes = messages.reduce((n, m) => n + m.value.length + m.key.length, 0);
    if (this.queuedBytes + bytes > this.maxQueuedBytes) {
      return Promise.reject(new CallstreamError('KAFKA_UNAVAILABLE', 'Too much is waiting for the broker; refusing more until it catches up'));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, bytes, resolve, reject });
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

  private takeBatch(): Waiter[] {
    const batch: Waiter[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && (batch.length === 0 || bytes + this.queue[0].bytes <= this.maxBatchBytes)) {
      const w = this.queue.shift()!;
      bytes += w.bytes;
      batch.push(w);
    }
    this.queuedBytes -= bytes;
    return batch;
  }

  private async send(batch: Waiter[]): Promise<void> {
    const byTopic = new Map<string, TopicMessages>();
    for (const w of batch) {
      for (const m of w.messages) {
        let t = byTopic.get(m.topic);
        if (!t) byTopic.set(m.topic, (t = { topic: m.topic, messages: [] }));
        t.messages.push({ key: m.key, value: m.value, headers: m.headers });
      }
    }
    try {
      await this.producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
      for (const w of batch) w.resolve();
    } catch (cause) {
      this.logger.warn({ err: cause, requests: batch.length }, 'publish failed');
      this.options.onError?.(cause);
      const err = new CallstreamError('KAFKA_UNAVAILABLE', 'The broker did not acknowledge the write', { cause });
      for (const w of batch) w.reject(err);
    }
  }
}
