import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { describeError, isCallstreamError } from '../errors.js';
import type { OutgoingMessage, Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { TABLES, type Row, type TableSpec, type Warehouse } from '../warehouse/index.js';
import type { Metrics } from '../metrics/index.js';
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
    await this.consumer.connect();
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
    clearTimeout(giveUp);
    this.flusher.stop();
    await this.consumer.disconnect();
  }

  private async handleBatch({ batch, heartbeat, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
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

    const beat = setInterval(() => heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      const rejected = await this.flusher.add(rows);
      for (const { row, error } of rejected) {
        const message = sources.get(row);
        if (message) dead.push(this.deadLetter(stream, message, batch.partition, describeError(error), error.code));
      }
      if (dead.length > 0) {
        await this.deps.deadLetters.publish(dead);
        this.deps.metrics.deadLettered.inc(dead.length);
        this.deps.logger.warn({ count: dead.length, topic: batch.topic, partition: batch.partition }, 'records sent to the dead-letter topic');
      }
    } finally {
      clearInterval(beat);
    }
    if (!isRunning() || isStale()) return; // revoked meanwhile: the new owner re-reads these, idempotently
    const last = batch.lastOffset();
    resolveOffset(last);
    await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
    const behind = Number(BigInt(batch.highWatermark) - BigInt(last) - 1n);
    this.deps.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, behind));
    this.lagByPartition.set(batch.partition, Math.max(0, behind));
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
