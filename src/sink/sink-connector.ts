import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { callIdsOf, ErasureFollower, ErasureSet, tableMatch, type Erasure, type ErasureScope } from '../erasure/index.js';
import { CallstreamError, describeError, EXHAUSTED_RESOURCES, isCallstreamError } from '../errors.js';
import { connectKafkaClient, type OutgoingMessage, type Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { EVENT_TABLES, TABLES, type Row, type TableSpec, type Warehouse, type WarehouseIdentity } from '../warehouse/index.js';
import type { Metrics } from '../metrics/index.js';
import { backoffDelay, sleep } from './backoff.js';
import { BufferBudget, batchSize, fetchLimits, type BufferSize } from './buffer-budget.js';
import { deadLetterFor, publishDeadLetters } from './dead-letters.js';
import { decodeRecord, fetchWriterSchemas } from './decode.js';
import { FlushCoordinator } from './flush-coordinator.js';
import { bindingAssigner, checkGroupBinding } from './group-binding.js';
import { OffsetCommits } from './offset-commits.js';
import { SinkProgress } from './progress.js';
import { sinkStreams, type SinkStream } from './streams.js';
import { activeTracer, recordLinks, SpanKind, tracingOn, type Link, type Span } from '../tracing/index.js';

const HEARTBEAT_EVERY_MS = 3_000;

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
 * At most two flushes' worth of records wait unwritten (more when the warehouse takes
 * several writes at once), and at most CALLSTREAM_SINK_BUFFER_BYTES of them; a batch that
 * does not fit waits for room before it is decoded (backpressure, bounded memory:
 * buffer-budget.ts), and kafkajs, which fetches again only once every batch it handed out
 * returned, fetches at most a share of that ahead.
 *
 * Because a batch's write outlives its eachBatch call, kafkajs's own guarantees around a
 * stop or a rebalance (it waits for running eachBatch calls, then leaves or rejoins) do not
 * cover the write: stop() and the assignment epochs (offset-commits.ts) make up for that.
 *
 * Around it: decode.ts (record to row, waiting for the schema registry), dead-letters.ts,
 * flush-coordinator.ts (when to write), offset-commits.ts (what to commit, per epoch),
 * progress.ts (lag and progress lines), group-binding.ts (one warehouse per consumer group).
 */
export class SinkConnector {
  /** The erasures honoured: a row they cover is never written (replays, redeliveries, late events). */
  readonly erasures: ErasureSet;
  private readonly erasureFollower: ErasureFollower;
  private readonly consumer: Consumer;
  private readonly flusher: FlushCoordinator;
  private readonly streams: ReadonlyMap<string, SinkStream>;
  private joined = false;
  /** False from the moment stop() begins: no batch is handed on after that. */
  private running = false;
  /** Set once stop() made its last commit: a write that finishes later must commit nothing. */
  private closed = false;
  /** The group's assignment and the written offsets waiting for their commit. */
  private readonly commits: OffsetCommits;
  private readonly progress: SinkProgress;
  /** The after-write work (dead letters, commit) of every batch handed on, in batch order. */
  private tail: Promise<void> = Promise.resolve();
  /** Records handed to the flusher whose after-write work has not finished, in records and bytes. */
  private readonly budget: BufferBudget;
  /** Set when a batch's write failed for good, or stop() gave up its dead letters: nothing more is committed. */
  private broken?: unknown;
  /** Aborted by stop(): dead letters still being retried are given up (their batch stays uncommitted). */
  private readonly stopRetries = new AbortController();
  /** The warehouse's identity, announced to the group (read at start, before joining). */
  private identity?: WarehouseIdentity;
  /** The check of the group's leader after the latest join (group-binding.ts); start() waits for the first. */
  private leaderCheck: Promise<void> = Promise.resolve();
  private started = false;

  constructor(private readonly deps: SinkDeps) {
    const { kafka, config, logger } = deps;
    this.streams = new Map(sinkStreams(config).map((s) => [s.topic, s]));
    this.progress = new SinkProgress(deps.metrics, logger);
    this.erasures = new ErasureSet({ onEvict: (count) => this.learnedEvicted(count) });
    this.erasureFollower = new ErasureFollower(kafka, config, this.erasures, logger.child({ component: 'erasures' }), (erasure) => void this.eraseWrittenMeanwhile(erasure));
    this.consumer = kafka.consumer({
      groupId: config.consumerGroup,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: HEARTBEAT_EVERY_MS,
      ...fetchLimits(config.sinkBufferBytes),
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      partitionAssigners: [bindingAssigner(() => this.identity!)],
    });
    this.commits = new OffsetCommits((offsets) => this.consumer.commitOffsets(offsets), logger, (c) => this.progress.committed(c.topic, c.partition, c.offset, c.highWatermark));
    const m = deps.metrics;
    const flush = { maxRecords: config.flushMaxRecords, intervalMs: config.flushIntervalMs, bufferBytes: config.sinkBufferBytes };
    this.flusher = new FlushCoordinator(deps.warehouse, flush, logger, {
      onWrite: ({ rows, changed, duplicates, ms, receivedAt }) => {
        m.batches.inc();
        m.rowsUpserted.inc(rows);
        m.duplicates.inc(duplicates);
        m.replayed.inc(rows - changed);
        m.writeDuration.observe(ms / 1000);
        const now = Date.now();
        m.lastWrite.set(now / 1000);
        for (const resource of EXHAUSTED_RESOURCES) m.exhaustedNow.set({ resource }, 0);
        for (const at of receivedAt) m.endToEnd.observe((now - at) / 1000);
      },
      onRetry: () => m.retries.inc(),
      onExhausted: ({ resource }) => {
        m.exhausted.inc({ resource });
        m.exhaustedNow.set({ resource }, 1);
      },
      counts: (spec) => EVENT_TABLES.includes(spec),
      // An erasure recorded while rows wait in the buffer or for a retry: they are not written.
      dropAtWrite: (spec, row) => this.erasures.covers(spec, row),
      onDropped: (count) => m.erasedLate.inc({ stage: 'buffered' }, count),
    });
    this.budget = new BufferBudget(this.flusher.capacity);
    const { GROUP_JOIN, REBALANCING, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      this.commits.assign(e.payload.memberAssignment);
      this.progress.forgetRevoked((topic, partition) => this.commits.owns(topic, partition));
      logger.info({ memberAssignment: e.payload.memberAssignment }, 'sink joined the consumer group');
      if (!e.payload.isLeader) {
        // Only the latest join's check is awaited (by start()); an earlier one superseded by a rejoin must not go unhandled.
        const check = this.checkBinding(e.payload.leaderId);
        check.catch(() => undefined);
        this.leaderCheck = check;
      }
    });
    // kafkajs rejoins next: what was fetched before must not be committed under the generation it brings.
    this.consumer.on(REBALANCING, () => this.commits.revokeAll());
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      this.commits.revokeAll();
      logger.error({ error: describeError(e.payload.error), restart: e.payload.restart }, 'sink consumer crashed');
      if (!e.payload.restart) deps.onFatal?.(e.payload.error);
    });
    this.consumer.on(STOP, () => (this.joined = false));
    this.consumer.on(DISCONNECT, () => (this.joined = false));
  }

  /**
   * Resolves once every batch handed on so far is written (or given up): what an erasure
   * waits for before its DELETE, so that no row checked against the erasures before it was
   * recorded lands after it.
   */
  writtenSoFar(): Promise<void> {
    return this.tail;
  }

  /** Whether this sink's current assignment holds the partition (false between a rebalance and the next join). */
  holds(topic: string, partition: number): boolean {
    return this.joined && this.commits.owns(topic, partition);
  }

  /** True once the consumer has joined its group and is fetching. */
  get ready(): boolean {
    return this.running && this.joined;
  }

  async start(): Promise<void> {
    const { config, warehouse } = this.deps;
    await warehouse.ensureTables(TABLES);
    this.identity = await warehouse.identity();
    // Before joining: a group another warehouse's sinks consume is not joined (nor disturbed).
    await this.checkBinding();
    // Read whole before the first fetch: a replay must not write a row an erasure covers.
    await this.erasureFollower.start();
    await connectKafkaClient(this.consumer, config);
    await this.consumer.subscribe({ topics: [...this.streams.keys()], fromBeginning: true });
    this.running = true;
    this.progress.start();
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, Math.min(config.topicPartitions, 16)),
      eachBatch: (payload) => this.handleBatch(payload),
    });
    // Joined: with two sinks starting at once, the leader's warehouse keeps the group and this one got no partitions.
    await this.leaderCheck;
    this.started = true;
  }

  /** Throws SINK_GROUP_SHARED when the group (after a join: its leader) announces another warehouse; after start-up, stops the sink. */
  private async checkBinding(leaderId?: string): Promise<void> {
    const { kafka, config, logger } = this.deps;
    const admin = kafka.admin();
    try {
      await connectKafkaClient(admin, config);
      await checkGroupBinding(admin, config.consumerGroup, this.identity!, leaderId);
    } catch (err) {
      const refused = isCallstreamError(err, 'SINK_GROUP_SHARED');
      if (!refused && leaderId === undefined) throw err; // before joining: Kafka's own failure stops start-up
      if (!refused) {
        // After joining the leader's own assigner already kept another warehouse's sinks out; the check is made again at the next join.
        logger.warn({ error: describeError(err) }, 'could not check the warehouse of the group\'s leader');
        return;
      }
      if (!this.started) throw err;
      logger.error({ error: describeError(err) }, 'the consumer group belongs to another warehouse; the sink stops');
      this.deps.onFatal?.(err);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
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
    this.progress.stop();
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
      void after(grace * 0.4).then(() => {
        this.flusher.stop();
        this.stopRetries.abort();
      });
      const drained = (async () => {
        await this.flusher.flushPending();
        await this.tail; // every batch handed on is written, dead-lettered or given up
      })();
      await Promise.race([drained, after(grace * 0.45)]);
      const committed = (async () => {
        await this.commits.commitWritten();
        // The last attempt failed (kafkajs already retried it): one more before leaving.
        if (this.commits.pending > 0) await this.commits.commitWritten();
      })();
      await Promise.race([committed, after(grace * 0.5)]);
    } finally {
      for (const timer of timers) clearTimeout(timer);
      this.closed = true;
      this.commits.close();
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
    const epoch = this.commits.epoch;
    const stream = this.streams.get(batch.topic)!;
    if (stream.schema && !(await fetchWriterSchemas(this.deps, batch.messages, heartbeat, () => this.running))) return;
    // Before decoding: the rows count against the budget too.
    const size = batchSize(batch.messages);
    if (!(await this.waitForRoom(size, heartbeat))) return;
    // No await from this check to the tail's extension below, so once stop() has begun the tail it awaits is complete.
    if (!this.running) {
      this.budget.release(size);
      return;
    }
    // Tracing on: the batch's spans link to the records' traces (their traceparent headers).
    const traced = tracingOn() ? batchSpans(batch.topic, batch.partition, batch.messages) : undefined;
    const now = Date.now();
    const rows = new Map<TableSpec, Row[]>();
    const sources = new Map<Row, KafkaMessage>();
    const dead: OutgoingMessage[] = [];
    let erased = 0;
    for (const message of batch.messages) {
      const outcome = decodeRecord(this.deps.codec, stream, message, batch.partition, now);
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
    this.progress.consumed(batch.messages.length);
    traced?.decoded({ 'callstream.refused': dead.length, 'callstream.erased': erased });

    const written = this.flusher.add(rows, size.bytes, traced?.links);
    const last = batch.lastOffset();
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
          // Retried until stored (never fatal: the receiver in this process stays up); false only once stop() gave up.
          if (!(await publishDeadLetters(this.deps.deadLetters, dead, { logger: this.deps.logger, signal: this.stopRetries.signal }))) {
            this.broken = new CallstreamError('KAFKA_UNAVAILABLE', 'The sink stopped before its dead letters were stored; their batch is read again');
            return;
          }
          this.deps.metrics.deadLettered.inc(dead.length);
          this.deps.logger.warn({ count: dead.length, topic: batch.topic, partition: batch.partition }, 'records sent to the dead-letter topic');
        }
        const commit = traced?.commit();
        const committed = this.commits.written({ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString(), highWatermark: batch.highWatermark, epoch });
        if (commit) void committed.then(() => commit.end(), () => commit.end());
      } catch (err) {
        this.broken = err;
        this.deps.logger.error({ err, error: describeError(err), topic: batch.topic, partition: batch.partition }, 'a batch could not be written; the sink stops committing');
        if (this.running) this.deps.onFatal?.(err);
      } finally {
        this.budget.release(size);
      }
    });
    // Fetching goes on from here; what is written is committed by the tail above.
    resolveOffset(last);
  }

  /**
   * An erasure just read from the topic: what is buffered or retried from now on is dropped at
   * its write (dropAtWrite), but a write attempt already under way, its rows checked before,
   * may land them after `callstream erase` deleted (another process, as on BigQuery). Once the
   * attempts under way have ended, the rows of theirs it covers are deleted here, with their
   * calls' rows in every table: no acknowledged row of an erased subject outlives the erasure.
   */
  private async eraseWrittenMeanwhile(erasure: Erasure): Promise<void> {
    const carried = await this.flusher.attemptsUnderWay();
    const scope: ErasureScope = { ...erasure, callIds: [...erasure.callIds], callSids: [...erasure.callSids] };
    let covered = 0;
    for (const [spec, rows] of carried) {
      for (const row of rows) {
        if (!this.erasures.covers(spec, row)) continue;
        covered++;
        const { callId, callSid } = callIdsOf(spec, row);
        if (callId) scope.callIds.push(callId);
        if (callSid) scope.callSids.push(callSid);
      }
    }
    if (covered === 0) return;
    const { warehouse, logger, metrics } = this.deps;
    for (let attempt = 0; ; attempt++) {
      try {
        let deleted = 0;
        for (const spec of TABLES) deleted += await warehouse.eraseRows(spec, tableMatch(spec, scope), { dryRun: false });
        metrics.erasedLate.inc({ stage: 'in_flight' }, deleted);
        logger.info({ erasure: erasure.key, deleted }, 'rows of an erasure written by a write under way when it was recorded were deleted');
        return;
      } catch (err) {
        if (attempt >= 4 || !this.running) {
          logger.error({ erasure: erasure.key, error: describeError(err) }, 'rows of an erasure written by a write under way when it was recorded could not be deleted: run callstream erase again');
          return;
        }
        await sleep(backoffDelay(attempt), this.stopRetries.signal).catch(() => undefined);
      }
    }
  }

  /** Counts the refused calls the erasure set forgot; the first one is logged (the metric counts the rest). */
  private learnedEvicted(count: number): void {
    if (this.erasures.stats().evicted === count) {
      this.deps.logger.warn({ limit: this.erasures.stats().learnedLimit }, 'the erasure set forgets the refused calls of erased subjects it met longest ago; their later callbacks and requests are written (callstream_sink_erasure_learned_evicted_total)');
    }
    this.deps.metrics.erasureLearnedEvicted.inc(count);
  }

  /**
   * Backpressure: waits (heartbeating) until the batch fits the budget, in records (what the
   * flush coordinator holds: its writes in flight and one buffer filling) and in bytes; what
   * is buffered meanwhile is written without waiting for the flush interval, since only a
   * write frees room. False when the sink began stopping or broke meanwhile.
   */
  private waitForRoom(size: BufferSize, heartbeat: () => Promise<void>): Promise<boolean> {
    return this.budget.take(size, {
      idle: async () => {
        this.flusher.flushBuffered();
        await heartbeat().catch(() => undefined);
      },
      idleEveryMs: HEARTBEAT_EVERY_MS,
      proceed: () => this.running && !this.broken,
    });
  }

  /**
   * A record that cannot be stored goes to its stream's dead-letter topic; one read from a
   * dead-letter topic itself (its index row refused) is logged, counted and passed over, since
   * dead-lettering it again would loop. The dead letter itself stays where it is.
   */
  private refuse(stream: SinkStream, message: KafkaMessage, partition: number, reason: string, code: string, dead: OutgoingMessage[]): void {
    if (stream.deadLetterTopic) {
      dead.push(deadLetterFor(this.deps.deadLetters, stream.deadLetterTopic, stream, message, partition, reason, code));
      return;
    }
    this.deps.metrics.deadLettered.inc();
    this.deps.logger.error({ topic: stream.topic, partition, offset: message.offset, code, reason }, 'a dead letter could not be indexed into dead_letters; it stays in its topic');
  }
}

/**
 * The spans of a batch (tracing on), each linked to the records' contexts (recordLinks): the
 * decode, started now and ended by decoded(), and the commit of its offsets, from the end of
 * its write until the commit request that carries them returned. The write's span is the
 * flush coordinator's (one per warehouse write, linked to the records of every batch in it).
 */
function batchSpans(topic: string, partition: number, messages: KafkaMessage[]): { links: Link[]; decoded(attributes: Record<string, number>): void; commit(): Span } {
  const { links, dropped } = recordLinks(messages, partition);
  const attributes = {
    'messaging.system': 'kafka',
    'messaging.destination.name': topic,
    'messaging.destination.partition.id': String(partition),
    'messaging.batch.message_count': messages.length,
    'messaging.kafka.offset': Number(messages[0].offset),
    'callstream.links_dropped': dropped,
  };
  const decode = activeTracer().startSpan('sink decode', { kind: SpanKind.CONSUMER, links, attributes, root: true });
  return {
    links,
    decoded: (more) => {
      decode.setAttributes(more);
      decode.end();
    },
    commit: () => activeTracer().startSpan('sink commit', { links, attributes, root: true }),
  };
}
