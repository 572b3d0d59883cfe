import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { ErasureFollower, ErasureSet } from '../erasure/index.js';
import { describeError, isCallstreamError } from '../errors.js';
import { connectKafkaClient, type OutgoingMessage, type Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { EVENT_TABLES, TABLES, type Row, type TableSpec, type Warehouse } from '../warehouse/index.js';
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

interface Committable {
  topic: string;
  partition: number;
  offset: string;
  highWatermark: string;
  epoch: number;
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Consumes the topics of both flows (sinkStreams: Callaro's events, the providers'
 * callbacks) in one consumer group and upserts each record into its warehouse table.
 * Offsets are committed only after the write (and any dead-letter publish) succeeded,
 * so a crash or rebalance redelivers, and the idempotent upsert absorbs the repeat.
 *
 * Fetching and writing overlap: a batch is handed to the flush coordinator and the
 * consumer fetches on, while the batch's commit waits, in batch order, for its write.
 * At most two flushes' worth of records wait unwritten (more when the warehouse takes
 * several writes at once); beyond that the consumer waits too (backpressure, bounded memory).
 *
 * Because a batch's write outlives its eachBatch call, kafkajs's own guarantees around a
 * stop or a rebalance (it waits for running eachBatch calls, then leaves or rejoins) do not
 * cover the write: stop() and the assignment epochs below make up for that.
 */
export class SinkConnector {
  /** The erasures honoured: a row they cover is never written (replays, redeliveries, late events). */
  readonly erasures = new ErasureSet();
  private readonly erasureFollower: ErasureFollower;
  private readonly consumer: Consumer;
  private readonly flusher: FlushCoordinator;
  private readonly streams: ReadonlyMap<string, SinkStream>;
  private joined = false;
  /** False from the moment stop() begins: no batch is handed on after that. */
  private running = false;
  /** Set once stop() made its last commit: a write that finishes later must commit nothing. */
  private closed = false;
  /** Records behind the end, per topic and partition (both flows' topics share partition numbers). */
  private readonly lagByPartition = new Map<string, Map<number, number>>();
  /**
   * Bumped whenever the group's assignment may have changed (a rebalance begins, a join
   * ends, the consumer crashes). See commitWritten for why offsets carry it.
   */
  private epoch = 0;
  /** The "topic\u0000partition"s this member owns in the current epoch (empty while rebalancing). */
  private assigned = new Set<string>();
  private consumedSinceReport = 0;
  private progressTimer?: NodeJS.Timeout;
  /** The after-write work (dead letters, commit) of every batch handed on, in batch order. */
  private tail: Promise<void> = Promise.resolve();
  /** Records handed to the flusher whose after-write work has not finished. */
  private unwritten = 0;
  /** Set when a batch's write or dead-lettering failed for good: nothing more is committed. */
  private broken?: unknown;
  /** Per "topic\u0000partition": the offset to commit next (every record below it is written), with the epoch its batch was fetched in. */
  private readonly committable = new Map<string, Committable>();
  /** The commit request in flight; commits go one at a time, each carrying every partition's progress. */
  private committing?: Promise<void>;
  private commitAgain = false;
  private staleLoggedIn = -1;

  constructor(private readonly deps: SinkDeps) {
    const { kafka, config, logger } = deps;
    this.streams = new Map(sinkStreams(config).map((s) => [s.topic, s]));
    this.erasureFollower = new ErasureFollower(kafka, config, this.erasures, logger.child({ component: 'erasures' }));
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
        m.lastWrite.set(now / 1000);
        for (const at of receivedAt) m.endToEnd.observe((now - at) / 1000);
      },
      onRetry: () => m.retries.inc(),
      counts: (spec) => EVENT_TABLES.includes(spec),
    });
    const { GROUP_JOIN, REBALANCING, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      this.epoch++;
      this.assigned = new Set(Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => partitionKey(topic, p))));
      this.forgetLagOfRevoked();
      logger.info({ memberAssignment: e.payload.memberAssignment }, 'sink joined the consumer group');
    });
    // kafkajs rejoins next: what was fetched before must not be committed under the generation it brings.
    this.consumer.on(REBALANCING, () => {
      this.epoch++;
      this.assigned = new Set();
    });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      this.epoch++;
      this.assigned = new Set();
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
    // Read whole before the first fetch: a replay must not write a row an erasure covers.
    await this.erasureFollower.start();
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

  /**
   * Finishes the batches in flight, commits every offset whose write finished, and only
   * then leaves the group. The order matters: kafkajs's consumer.stop() leaves the group
   * and drops it, after which commitOffsets throws ("Consumer group was not initialized"),
   * and even while stop() is under way its runner silently skips commits. So the sink
   * stays a member (paused, heartbeating) until the commit is done.
   *
   * Bounded by half the shutdown grace (the receiver's close has the other half): a write
   * still failing or hanging after 40% of it is abandoned, and its offsets stay
   * uncommitted (the records are read again, idempotently).
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false; // from here handleBatch hands on nothing new
    clearInterval(this.progressTimer);
    // Paused, the consumer fetches nothing it would then refuse, yet keeps heartbeating.
    try {
      this.consumer.pause([...this.streams.keys()].map((topic) => ({ topic })));
    } catch {
      // run() never got as far as creating the group: there is nothing to pause.
    }
    const grace = this.deps.config.shutdownTimeoutMs;
    const timers: NodeJS.Timeout[] = [];
    const after = (ms: number) => new Promise<void>((resolve) => timers.push(setTimeout(resolve, ms)));
    try {
      void after(grace * 0.4).then(() => this.flusher.stop());
      const drained = (async () => {
        await this.flusher.flushPending();
        await this.tail; // every batch handed on is written, dead-lettered or given up
      })();
      await Promise.race([drained, after(grace * 0.45)]);
      const committed = (async () => {
        await this.commitWritten();
        // The last attempt failed (kafkajs already retried it): one more before leaving.
        if (this.committable.size > 0) await this.commitWritten();
      })();
      await Promise.race([committed, after(grace * 0.5)]);
    } finally {
      for (const timer of timers) clearTimeout(timer);
      this.closed = true;
      this.flusher.stop();
    }
    await this.consumer.disconnect();
    await this.erasureFollower.stop();
  }

  private async handleBatch({ batch, heartbeat, resolveOffset }: EachBatchPayload): Promise<void> {
    if (this.broken) throw this.broken;
    // Unresolved, a refused batch is fetched again by whoever owns the partition next.
    if (batch.messages.length === 0 || !this.running) return;
    // Taken before any wait: a batch whose fetch predates a rebalance must never count as fetched after it.
    const epoch = this.epoch;
    const stream = this.streams.get(batch.topic)!;
    if (stream.schema && !(await this.fetchWriterSchemas(batch.messages, heartbeat))) return;
    // No await from this check to the tail's extension below, so once stop() has begun the tail it awaits is complete.
    if (!this.running) return;
    const now = Date.now();
    const rows = new Map<TableSpec, Row[]>();
    const sources = new Map<Row, KafkaMessage>();
    const dead: OutgoingMessage[] = [];
    let erased = 0;
    for (const message of batch.messages) {
      const outcome = this.toRow(stream, message, batch.partition, now);
      if ('reason' in outcome) {
        this.refuse(stream, message, batch.partition, outcome.reason, outcome.code, dead);
        continue;
      }
      if (this.erasures.covers(outcome.spec, outcome.row)) {
        erased++;
        continue;
      }
      sources.set(outcome.row, message);
      const list = rows.get(outcome.spec);
      if (list) list.push(outcome.row);
      else rows.set(outcome.spec, [outcome.row]);
    }
    if (erased > 0) this.deps.logger.info({ topic: batch.topic, partition: batch.partition, erased }, 'records of erased subjects not written');
    if (stream.kind === 'events') this.deps.metrics.recordsConsumed.inc(batch.messages.length);
    this.consumedSinceReport += batch.messages.length;

    const written = this.flusher.add(rows);
    const count = batch.messages.length;
    const last = batch.lastOffset();
    this.unwritten += count;
    this.tail = this.tail.then(async () => {
      try {
        if (this.broken) return; // an earlier batch failed: committing past it would skip it
        const rejected = await written;
        if (this.closed) return; // stop() gave up on this write and left: whoever reads next redoes it
        for (const { row, error } of rejected) {
          const message = sources.get(row);
          if (message) this.refuse(stream, message, batch.partition, describeError(error), error.code, dead);
        }
        if (dead.length > 0) {
          await this.deps.deadLetters.publish(dead);
          this.deps.metrics.deadLettered.inc(dead.length);
          this.deps.logger.warn({ count: dead.length, topic: batch.topic, partition: batch.partition }, 'records sent to the dead-letter topic');
        }
        this.committable.set(partitionKey(batch.topic, batch.partition), { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString(), highWatermark: batch.highWatermark, epoch });
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
   * not know is (decode fails). False when the sink began stopping meanwhile.
   */
  private async fetchWriterSchemas(messages: KafkaMessage[], heartbeat: () => Promise<void>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.codec.prefetch(messages.map((m) => m.value));
        return true;
      } catch (err) {
        // Unavailable, or refusing our credentials: wait for it (or for an operator), never dead-letter.
        const retriable = isCallstreamError(err, 'CODEC_REGISTRY_UNAVAILABLE') || isCallstreamError(err, 'CODEC_REGISTRY_REFUSED');
        if (!retriable) throw err;
        if (!this.running) return false; // stopping: the batch is left to the next reader, not failed
        const delayMs = backoffDelay(attempt, 500, 30_000);
        this.deps.metrics.registryWaits.inc();
        const level = isCallstreamError(err, 'CODEC_REGISTRY_REFUSED') ? 'error' : 'warn';
        this.deps.logger[level]({ error: describeError(err), attempt, delayMs }, 'schema registry unavailable or refusing the sink; retrying before decoding');
        await sleep(delayMs);
        await heartbeat().catch(() => undefined);
      }
    }
  }

  /**
   * Backpressure: waits (heartbeating) while more records are unwritten than the writes in
   * flight and one buffer filling can hold: two flushes' worth, more for a warehouse that
   * takes several writes at once (maxWritesInFlight).
   */
  private async waitForRoom(heartbeat: () => Promise<void>): Promise<void> {
    const limit = (1 + (this.deps.warehouse.maxWritesInFlight ?? 1)) * this.deps.config.flushMaxRecords;
    while (this.unwritten > limit && !this.broken && this.running) {
      await Promise.race([this.tail, new Promise((r) => setTimeout(r, HEARTBEAT_EVERY_MS))]);
      await heartbeat().catch(() => undefined);
    }
  }

  /**
   * Commits what is written: one request at a time, carrying the progress of every
   * partition, so commits never fall behind the writes however small the batches. A failed
   * commit only means the records are read again, idempotently. Resolves when everything
   * written so far is committed (or its commit failed).
   *
   * Only offsets fetched in the current epoch are sent. A write is pipelined past its
   * eachBatch call, so kafkajs may rejoin while it is in flight, and kafkajs commits under
   * the generation current when the request goes out, not the one the records were
   * fetched in; the broker checks member and generation, not who owns the partition.
   * A write that finished after a rebalance moved its partition to another member would
   * thus overwrite the new owner's (further) offset with an older one. Waiting for such
   * writes before rejoining is not possible from outside kafkajs: the rebalance is often
   * noticed in its own fetch loop, which rejoins without calling us. Dropping the stale
   * offsets costs nothing: after any rejoin kafkajs fetches a kept partition again from
   * its committed offset, so those records are re-read, written and committed in the new
   * epoch anyway. The filter runs in the same synchronous step as the request it guards.
   * What remains is kafkajs's own retry of a request that failed retriably (a coordinator
   * move): a retry after a rejoin carries the new generation, and at worst moves an offset
   * back to one whose records are all written, i.e. a re-read, never a loss.
   */
  private async commitWritten(): Promise<void> {
    if (this.closed) return;
    if (this.committing) {
      this.commitAgain = true;
      return this.committing;
    }
    this.committing = (async () => {
      do {
        this.commitAgain = false;
        const all = [...this.committable.values()];
        this.committable.clear();
        const offsets = all.filter((o) => o.epoch === this.epoch && this.assigned.has(partitionKey(o.topic, o.partition)));
        if (offsets.length < all.length) {
          const stale = all.filter((o) => !offsets.includes(o)).map(({ topic, partition, offset }) => ({ topic, partition, offset }));
          // Every batch still in flight at a rebalance lands here: once per epoch is enough to tell.
          const level = this.staleLoggedIn === this.epoch ? 'debug' : 'info';
          this.staleLoggedIn = this.epoch;
          this.deps.logger[level]({ stale }, 'not committing offsets fetched before a rebalance; their records are read again by the partition owner');
        }
        if (offsets.length === 0 || this.closed) break;
        try {
          await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
        } catch (err) {
          this.deps.logger.warn({ err, partitions: offsets.length }, 'offset commit failed; the records will be read again');
          // Kept for the next commit (unless a newer offset took its place); not retried at once, which would spin while the broker is away.
          for (const o of offsets) {
            const key = partitionKey(o.topic, o.partition);
            if (!this.committable.has(key)) this.committable.set(key, o);
          }
          break;
        }
        for (const { topic, partition, offset, highWatermark } of offsets) {
          const behind = Math.max(0, Number(BigInt(highWatermark) - BigInt(offset)));
          this.deps.metrics.lag.set({ topic, partition: String(partition) }, behind);
          const perTopic = this.lagByPartition.get(topic) ?? new Map<number, number>();
          this.lagByPartition.set(topic, perTopic.set(partition, behind));
        }
      } while (this.commitAgain || this.committable.size > 0);
    })().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  /** Revoked partitions are some other member's to report: their last lag here would go stale. */
  private forgetLagOfRevoked(): void {
    for (const [topic, perTopic] of this.lagByPartition) {
      for (const partition of perTopic.keys()) {
        if (this.assigned.has(partitionKey(topic, partition))) continue;
        perTopic.delete(partition);
        this.deps.metrics.lag.remove({ topic, partition: String(partition) });
      }
    }
  }

  /** Logs records consumed and lag per topic and partition while there is a backlog (a replay's progress). */
  private reportProgress(): void {
    const lag = Object.fromEntries([...this.lagByPartition].map(([topic, perTopic]) => [topic, Object.fromEntries([...perTopic].sort(([a], [b]) => a - b))]));
    const behind = [...this.lagByPartition.values()].reduce((sum, perTopic) => sum + [...perTopic.values()].reduce((a, b) => a + b, 0), 0);
    if (behind > 0 || this.consumedSinceReport > 0) {
      this.deps.logger.info({ consumed: this.consumedSinceReport, lag, behind, intervalMs: PROGRESS_EVERY_MS }, 'sink progress');
    }
    this.consumedSinceReport = 0;
  }

  private toRow(stream: SinkStream, message: KafkaMessage, partition: number, now: number): { spec: TableSpec; row: Row } | { reason: string; code: string } {
    const position = { partition, offset: Number(message.offset) };
    if (!stream.schema) {
      // A dead-letter topic: the row comes from the record's key and headers.
      return stream.toRow({}, position, now, message) ?? { reason: 'no row for this dead letter', code: 'SINK_ROW_REJECTED' };
    }
    if (!message.value) return { reason: 'empty record value (tombstone)', code: 'SINK_DECODE_FAILED' };
    try {
      const { value, schema } = this.deps.codec.decode<DecodedRecord>(message.value);
      if (schema.name !== stream.schema) return { reason: `expected a ${stream.schema} record on ${stream.topic}, got ${schema.name}`, code: 'SINK_DECODE_FAILED' };
      const mapped = stream.toRow(value, position, now, message);
      return mapped ?? { reason: `no table for event family "${String(value.family)}"`, code: 'SINK_ROW_REJECTED' };
    } catch (err) {
      return { reason: describeError(err), code: isCallstreamError(err) ? err.code : 'SINK_DECODE_FAILED' };
    }
  }

  /**
   * A record that cannot be stored goes to its stream's dead-letter topic; one read from a
   * dead-letter topic itself (its index row refused) is logged, counted and passed over, since
   * dead-lettering it again would loop. The dead letter itself stays where it is.
   */
  private refuse(stream: SinkStream, message: KafkaMessage, partition: number, reason: string, code: string, dead: OutgoingMessage[]): void {
    if (stream.deadLetterTopic) {
      dead.push(this.deadLetter(stream.deadLetterTopic, stream, message, partition, reason, code));
      return;
    }
    this.deps.metrics.deadLettered.inc();
    this.deps.logger.error({ topic: stream.topic, partition, offset: message.offset, code, reason }, 'a dead letter could not be indexed into dead_letters; it stays in its topic');
  }

  private deadLetter(topic: string, stream: SinkStream, message: KafkaMessage, partition: number, reason: string, code: string): OutgoingMessage {
    const letter: OutgoingMessage = {
      topic,
      key: message.key?.toString() ?? '',
      value: message.value ?? Buffer.alloc(0),
      headers: {
        ...message.headers,
        'callstream-error-code': code,
        'callstream-error': reason.slice(0, 2000),
        'callstream-source-topic': stream.topic,
        'callstream-source-partition': String(partition),
        'callstream-source-offset': message.offset,
        // The version of the dead_letters row: the same record dead-lettered again (a replay) keeps its row.
        'callstream-source-timestamp': message.timestamp,
      },
    };
    if (this.deps.deadLetters.fits(letter)) return letter;
    // A dead-letter topic smaller than the record (created outside callstream): a dead letter that
    // cannot be written would stop the sink, so it carries the record's place instead of its bytes.
    return { ...letter, value: Buffer.alloc(0), headers: { ...letter.headers, 'callstream-value-omitted': String(letter.value.length) } };
  }
}
