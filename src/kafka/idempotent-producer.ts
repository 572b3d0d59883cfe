// Before kafkajs: its record batch checksum, computed natively (see crc32c.ts).
import './crc32c.js';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { connectKafkaClient } from './client.js';
import type { ProducerHandle } from './publisher.js';

/**
 * The receiver's (and the dead-letter path's) idempotent kafkajs producer, replaceable:
 * after a request failed for good the publisher swaps in a new one (see ProducerHandle),
 * which gets a new producer id from the broker and starts its sequence numbers afresh.
 */
export class IdempotentProducer implements ProducerHandle {
  private current: Producer;
  private connectedNow = false;
  private replacements = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.current = this.create();
  }

  get producer(): Producer {
    return this.current;
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  async connect(): Promise<void> {
    await connectKafkaClient(this.current, this.config);
    this.connectedNow = true;
  }

  async replace(): Promise<void> {
    const old = this.current;
    this.current = this.create();
    this.replacements++;
    this.logger.warn({ replacements: this.replacements }, 'replacing the idempotent producer after a failed request (fresh producer id and sequence numbers)');
    await old.disconnect().catch(() => undefined);
    await this.connect();
  }

  async disconnect(): Promise<void> {
    await this.current.disconnect();
  }

  private create(): Producer {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // The Java client's murmur2: a key lands in the same partition whichever client wrote it.
      createPartitioner: Partitioners.DefaultPartitioner,
      // An idempotent producer must not give up on a batch while the broker is away: requests
      // waiting meanwhile get 503 from the receiver's publish timeout, and the sender retries
      // them. What kafkajs does give up on (errors no retry helps) ends in replace().
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
    });
    producer.on(producer.events.CONNECT, () => {
      if (producer === this.current) this.connectedNow = true;
    });
    producer.on(producer.events.DISCONNECT, () => {
      if (producer === this.current) this.connectedNow = false;
    });
    return producer;
  }
}
