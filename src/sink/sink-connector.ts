import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { describeError, isCallstreamError } from '../errors.js';
import { connectKafkaClient, type OutgoingMessage, type Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { TABLES, type Row, type TableSpec, type Warehouse } from '../warehouse/index.js';
import type { Metrics } from '../metrics/index.js';
import { backoffDelay, sleep } from './backoff.js';
import { FlushCoordinator } from './flush-coordinator.js';
import type { DecodedRecord } from './rows.js';
import { sinkStreams, type SinkStream } from './streams.js';

const HEARTBEAT_EVERY_MS = 3_000;
/** How often a sink with a backlog (a replay, a catch-up) logs its progress. */
const PROGRESS_EVERY_MS = 10_000;

export interface SinkDeps {
  kafka: Kafka;
  config: Config;
  codec: AvroCodec;
  warehouse: Warehouse;
  /** Publishes dead-letter records (acks=all). */
  deadLetters: Publisher;
  logger: Logger;
  metrics: Metrics;
  /** Called when the consumer crashed for good, so the process can stop. */
  onFatal?: (err: unknown) => void;
}

/**
 * Consumes the topics of both flows (sinkStreams: Callaro's events, the providers'
 * callbacks) in one consumer group and upserts each record into its warehouse table.
 * Offsets are committed only after the write (and any dead-letter publish) succeeded,
 * so a crash or rebalance redelivers, and the idempotent upsert absorbs the repeat.
 *
 * Fetching and writing overlap: a batch is handed to the flush coordinator and the
 * consumer fetches on, while the batch's commit waits, in batch order, for its write.
 * At most two flushes' worth of records wait unwritten; beyond that the consumer waits
 * too (backpressure, bounded memory).
 */
export class SinkConnector {
  private readonly consumer: Consumer;
  private readonly flusher: FlushCoordinator;
  private readonly streams: ReadonlyMap<string, SinkStream>;
  private joined = false;
  private running = false;
  private readonly lagByPartition = new Map<number, number>();
  private consumedSinceReport = 0;
  private progressTimer?: NodeJS.Timeout;
  /** The after-write work (dead letters, commit) of every batch handed on, in batch order. */
  private tail: Promise<void> = Promise.resolve();
  /** Records handed to the flusher whose after-write work has not finished. */
  private unwritten = 0;
  /** Set when a batch's write or dead-lettering failed for good: nothing more is committed. */
  private broken?: unknown;
  /** Per "topic\u0000partition": the offset to commit next (every record below it is written). */
  private readonly committable = new Map<string, { topic: string; partition: number; offset: string; highWatermark: string }>();
  /** The commit request in flight; commits go one at a time, each carrying every partition's progress. */
  private committing?: Promise<void>;
  private commitAgain = false;

  constructor(private readonly deps: SinkDeps) {
    const { kafka, config, logger } = deps;
    this.streams = new Map(sinkStreams(config).map((s) => [s.topic, s]));
    this.consumer = kafka.consumer({
      groupId: config.consumerGroup,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: HEARTBEAT_EVERY_MS,
      maxBytesPerPartition: 2 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    const m = deps.metrics;
    this.flusher = new FlushCoordinator(deps.warehouse, { maxRecords: config.flushMaxRecords, intervalMs: config.flushIntervalMs }, logger, {
      onWrite: ({ rows, changed, duplicates, ms, receivedAt }) => {
        m.batches.inc();
        m.rowsUpserted.inc(rows);
        m.duplicates.inc(duplicates);
        m.replayed.inc(rows - changed);
        m.writeDuration.observe(ms / 1000);
        const now = Date.now();
        for (const at of receivedAt) m.endToEnd.observe((now - at) / 1000);
      },
      onRetry: () => m.retries.inc(),
    });
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      logger.info({ memberAssignment: e.payload.memberAssignment }, 'sink joined the consumer group');
    });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      logger.error({ error: describeError(e.payload.error), restart: e.payload.restart }, 'sink consumer crashed');
      if (!e.payload.restart) deps.onFatal?.(e.payload.error);
    });
    this.consumer.on(STOP, () => (this.joined = false));
    this.consumer.on(DISCONNECT, () => (this.joined = false));
  }

  /** True once the consumer has joined its group and is fetching. */
  get ready(): boolean {
    return this.running && this.joined;
  }

  async start(): Promise<void> {
    const { config, warehouse } = this.deps;
    await warehouse.ensureTables(TABLES);
    await connectKafkaClient(this.consumer, config);
    await this.consumer.subscribe({ topics: [...this.streams.keys()], fromBeginning: true });
    this.running = true;
    this.progressTimer = setInterval(() => this.reportProgress(), PROGRESS_EVERY_MS);
    this.progressTimer.unref();
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, Math.min(config.topicPartitions, 16)),
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /** Finishes the batches in flight (their offsets are committed) and leaves the group. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.progressTimer);
    // A warehouse that stays down must not hold the shutdown forever: after the grace
    // period the pending write is abandoned and its offsets stay uncommitted.
    const giveUp = setTimeout(() => this.flusher.stop(), this.deps.config.shutdownTimeoutMs / 2);
    await this.consumer.stop();
    await this.flusher.flushPending();
    await this.tail; // the batches handed on are written (or given up)
    await this.commitWritten(); // and their offsets committed
    clearTimeout(giveUp);
    this.flusher.stop();
    await this.consumer.disconnect();
  }

  private async handleBatch({ batch, heartbeat, resolveOffset }: EachBatchPayload): Promise<void> {
    if (this.broken) throw this.broken;
    if (batch.messages.length === 0) return;
    await this.fetchWriterSchemas(batch.messages, heartbeat);
    const now = Date.now();
    const rows = new Map<TableSpec, Row[]>();
    const sources = new Map<Row, KafkaMessage>();
    const dead: OutgoingMessage[] = [];
    const stream = this.streams.get(batch.topic)!;
    for (const message of batch.messages) {
      const outcome = this.toRow(stream, message, batch.partition, now);
      if ('reason' in outcome) {
        dead.push(this.deadLetter(stream, message, batch.partition, outcome.reason, outcome.code));
        continue;
      }
      sources.set(outcome.row, message);
      const list = rows.get(outcome.spec);
      if (list) list.push(outcome.row);
      else rows.set(outcome.spec, [outcome.row]);
    }
    this.deps.metrics.recordsConsumed.inc(batch.messages.length);
    this.consumedSinceReport += batch.messages.length;

    const written = this.flusher.add(rows);
    const count = batch.messages.length;
    const last = batch.lastOffset();
    this.unwritten += count;
    this.tail = this.tail.then(async () => {
      try {
        if (this.broken) return; // an earlier batch failed: committing past it would skip it
        const rejected = await written;
        for (const { row, error } of rejected) {
          const message = sources.get(row);
          if (message) dead.push(this.deadLetter(stream, message, batch.partition, describeError(error), error.code));
        }
        if (dead.length > 0) {
          await this.deps.deadLetters.publish(dead);
          this.deps.metrics.deadLettered.inc(dead.length);
          this.deps.logger.warn({ count: dead.length, topic: batch.topic, partition: batch.partition }, 'records sent to the dead-letter topic');
        }
        this.committable.set(`${batch.topic}\u0000${batch.partition}`, { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString(), highWatermark: batch.highWatermark });
        void this.commitWritten();
      } catch (err) {
        this.broken = err;
        this.deps.logger.error({ err, error: describeError(err), topic: batch.topic, partition: batch.partition }, 'a batch could not be written; the sink stops committing');
        if (this.running) this.deps.onFatal?.(err);
      } finally {
        this.unwritten -= count;
      }
    });
    // Fetching goes on from here; what is written is committed by the tail above.
    resolveOffset(last);
    await this.waitForRoom(heartbeat);
  }

  /**
   * Registry-framed records name their writer schema by id: fetch the ids not seen yet
   * before decoding. A registry that does not answer, or refuses the sink's credentials, is
   * waited for (capped backoff, heartbeating), never a reason to dead-letter; an id it does
   * not know is (decode fails).
   */
  private async fetchWriterSchemas(messages: KafkaMessage[], heartbeat: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.codec.prefetch(messages.map((m) => m.value));
      } catch (err) {
        // Unavailable, or refusing our credentials: wait for it (or for an operator), never dead-letter.
        const retriable = isCallstreamError(err, 'CODEC_REGISTRY_UNAVAILABLE') || isCallstreamError(err, 'CODEC_REGISTRY_REFUSED');
        if (!retriable || !this.running) throw err;
        const delayMs = backoffDelay(attempt, 500, 30_000);
        this.deps.metrics.registryWaits.inc();
        const level = isCallstreamError(err, 'CODEC_REGISTRY_REFUSED') ? 'error' : 'warn';
        this.deps.logger[level]({ error: describeError(err), attempt, delayMs }, 'schema registry unavailable or refusing the sink; retrying before decoding');
        await sleep(delayMs);
        await heartbeat().catch(() => undefined);
      }
    }
  }

  /** Backpressure: waits (heartbeating) while more than two flushes' worth of records are unwritten. */
  private async waitForRoom(heartbeat: () => Promise<void>): Promise<void> {
    const limit = 2 * this.deps.config.flushMaxRecords;
    while (this.unwritten > limit && !this.broken) {
      await Promise.race([this.tail, new Promise((r) => setTimeout(r, HEARTBEAT_EVERY_MS))]);
      await heartbeat().catch(() => undefined);
    }
  }

  /**
   * Commits what is written: one request at a time, carrying the progress of every
   * partition, so commits never fall behind the writes however small the batches. A failed
   * commit (a rebalance took a partition) only means its new owner re-reads those records,
   * idempotently. Resolves when everything written so far is committed.
   */
  private async commitWritten(): Promise<void> {
    if (this.committing) {
      this.commitAgain = true;
      return this.committing;
    }
    this.committing = (async () => {
      do {
        this.commitAgain = false;
        const offsets = [...this.committable.values()];
        this.committable.clear();
        if (offsets.length === 0) break;
        try {
          await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
        } catch (err) {
          this.deps.logger.warn({ err, partitions: offsets.length }, 'offset commit failed; the records will be read again');
          continue;
        }
        for (const { topic, partition, offset, highWatermark } of offsets) {
          const behind = Math.max(0, Number(BigInt(highWatermark) - BigInt(offset)));
          this.deps.metrics.lag.set({ topic, partition: String(partition) }, behind);
          this.lagByPartition.set(partition, behind);
        }
      } while (this.commitAgain || this.committable.size > 0);
    })().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  /** Logs records consumed and lag per partition while there is a backlog (a replay's progress). */
  private reportProgress(): void {
    const lag = Object.fromEntries([...this.lagByPartition].sort(([a], [b]) => a - b));
    const behind = Object.values(lag).reduce((a, b) => a + b, 0);
    if (behind > 0 || this.consumedSinceReport > 0) {
      this.deps.logger.info({ consumed: this.consumedSinceReport, lag, behind, intervalMs: PROGRESS_EVERY_MS }, 'sink progress');
    }
    this.consumedSinceReport = 0;
  }

  private toRow(stream: SinkStream, message: KafkaMessage, partition: number, now: number): { spec: TableSpec; row: Row } | { reason: string; code: string } {
    if (!message.value) return { reason: 'empty record value (tombstone)', code: 'SINK_DECODE_FAILED' };
    try {
      const { value, schema } = this.deps.codec.decode<DecodedRecord>(message.value);
      if (schema.name !== stream.schema) return { reason: `expected a ${stream.schema} record on ${stream.topic}, got ${schema.name}`, code: 'SINK_DECODE_FAILED' };
      const mapped = stream.toRow(value, { partition, offset: Number(message.offset) }, now);
      return mapped ?? { reason: `no table for event family "${String(value.family)}"`, code: 'SINK_ROW_REJECTED' };
    } catch (err) {
      return { reason: describeError(err), code: isCallstreamError(err) ? err.code : 'SINK_DECODE_FAILED' };
    }
  }

  private deadLetter(stream: SinkStream, message: KafkaMessage, partition: number, reason: string, code: string): OutgoingMessage {
    return {
      topic: stream.deadLetterTopic,
      key: message.key?.toString() ?? '',
      value: message.value ?? Buffer.alloc(0),
      headers: {
        ...message.headers,
        'callstream-error-code': code,
        'callstream-error': reason.slice(0, 2000),
        'callstream-source-topic': stream.topic,
        'callstream-source-partition': String(partition),
        'callstream-source-offset': message.offset,
      },
    };
  }
}
