import { CallstreamError, describeError, exhaustedResource, isCallstreamError, type ExhaustedResource } from '../errors.js';
import type { Logger } from '../logger.js';
import { newestPerKey, type Row, type TableSpec, type Warehouse } from '../warehouse/index.js';
import { backoffDelay, sleep } from './backoff.js';
import { ExhaustionRelief } from './exhaustion-relief.js';
import { activeTracer, failed, MAX_LINKS, tracingOn, type Link } from '../tracing/index.js';

export interface FlushOptions {
  maxRecords: number;
  intervalMs: number;
  /**
   * The bytes (buffer-budget.ts: recordBytes) this coordinator holds at most, in the writes
   * in flight and the buffer filling: a flush is due once the buffer holds its share.
   * Unset: no limit in bytes.
   */
  bufferBytes?: number;
}

export interface FlushStats {
  /** After each successful write: rows written, rows of which changed the table, duplicates dropped before, receipt times of the rows. */
  onWrite?: (info: { rows: number; changed: number; duplicates: number; ms: number; receivedAt: number[] }) => void;
  /** Which tables onWrite counts (default: all); the sink counts its event tables, not the audit trail's index. */
  counts?: (spec: TableSpec) => boolean;
  onRetry?: (info: { attempt: number; error: unknown }) => void;
  /** A write attempt failed for want of memory or disk (SINK_WAREHOUSE_EXHAUSTED); onRetry follows. */
  onExhausted?: (info: { resource: ExhaustedResource; attempt: number; error: unknown }) => void;
  /**
   * Rows that must no longer be written (an erasure recorded since they were taken in): asked
   * before every attempt, so a row buffered or retried meanwhile is dropped, not written.
   */
  dropAtWrite?: (spec: TableSpec, row: Row) => boolean;
  /** Rows dropAtWrite dropped from a write. */
  onDropped?: (count: number) => void;
}

/** A row the warehouse refused for good, with the reason: the sink dead-letters its record. */
export interface RejectedRow {
  spec: TableSpec;
  row: Row;
  error: CallstreamError;
}

interface Pending {
  rows: Map<TableSpec, Row[]>;
  count: number;
  bytes: number;
  done: Promise<RejectedRow[]>;
  resolve: (rejected: RejectedRow[]) => void;
  reject: (err: unknown) => void;
  /** Tracing on: links to the contexts of the records whose rows this write carries (at most MAX_LINKS), and how many were left out. */
  links?: Link[];
  linksDropped?: number;
}

/**
 * Gathers the rows of the partitions being consumed concurrently into one write per
 * table, flushing when maxRecords or a share of bufferBytes are buffered, or intervalMs
 * after the first one.
 * A caller's promise resolves only after the warehouse write that carried its rows
 * succeeded, so offsets are committed after the write, never before.
 * Transient write failures are retried with capped backoff until the write succeeds
 * or the coordinator is stopped; meanwhile callers wait, and the consumer with them
 * (backpressure instead of an unbounded buffer). A warehouse out of memory or disk is
 * recovered and written in smaller pieces meanwhile (ExhaustionRelief).
 */
export class FlushCoordinator {
  private pending: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  /**
   * The writes in progress: at most the warehouse's maxWritesInFlight (1 unless it says
   * otherwise); what arrives meanwhile goes in the next.
   */
  private readonly writing = new Set<Promise<void>>();
  /** The interval or the size limit came while no further write could start: write as soon as one ends. */
  private due = false;
  private readonly stopController = new AbortController();
  /** Out of memory or disk: recover the warehouse, write smaller pieces (exhaustion-relief.ts). */
  private readonly relief: ExhaustionRelief;
  /** The write attempts under way, each with the rows it carries (attemptsUnderWay). */
  private readonly attempts = new Map<Promise<RejectedRow[]>, ReadonlyArray<[TableSpec, Row[]]>>();

  constructor(
    private readonly warehouse: Warehouse,
    private readonly options: FlushOptions,
    private readonly logger: Logger,
    private readonly stats: FlushStats = {},
  ) {
    this.relief = new ExhaustionRelief(warehouse, logger, options.maxRecords);
  }

  /**
   * What this coordinator holds at most before its callers should wait: the writes in
   * flight (maxWritesInFlight, each up to maxRecords and its share of bufferBytes) and one
   * buffer filling. The sink's backpressure (buffer-budget.ts) waits above it.
   */
  get capacity(): { records: number; bytes: number } {
    return { records: this.buffers * this.options.maxRecords, bytes: this.options.bufferBytes ?? Infinity };
  }

  /**
   * Adds rows, with the bytes of the records they came from, and resolves once they are
   * written, with the rows the warehouse refused for good (found by bisecting the batch;
   * the caller dead-letters them).
   */
  add(rows: Map<TableSpec, Row[]>, bytes = 0, links?: readonly Link[]): Promise<RejectedRow[]> {
    let count = 0;
    for (const list of rows.values()) count += list.length;
    if (count === 0) return Promise.resolve([]);
    if (this.stopController.signal.aborted) return Promise.reject(new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'The sink is stopping'));
    const pending = (this.pending ??= newPending());
    for (const [spec, list] of rows) {
      const target = pending.rows.get(spec);
      if (target) target.push(...list);
      else pending.rows.set(spec, [...list]);
    }
    pending.count += count;
    pending.bytes += bytes;
    if (links && links.length > 0) {
      const kept = (pending.links ??= []);
      const room = Math.max(0, MAX_LINKS - kept.length);
      kept.push(...links.slice(0, room));
      pending.linksDropped = (pending.linksDropped ?? 0) + Math.max(0, links.length - room);
    }
    if (this.full(pending)) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushNow(), this.options.intervalMs);
    return pending.done;
  }

  /**
   * Writes what is buffered now, or as soon as a write in flight ends, instead of at the
   * interval: for a caller waiting for room, which only a write can free.
   */
  flushBuffered(): void {
    if (this.pending) this.flushNow();
  }

  /** Writes what is buffered now and waits until nothing is left. */
  async flushPending(): Promise<void> {
    while (this.pending || this.writing.size > 0) {
      this.flushNow();
      await Promise.all(this.writing);
    }
  }

  /**
   * Resolves once the write attempts under way now have ended (written or failed), with the
   * rows they carried: an erasure recorded meanwhile, which the next attempts honour
   * (dropAtWrite), may still have been written over by these.
   */
  async attemptsUnderWay(): Promise<Array<[TableSpec, Row[]]>> {
    const now = [...this.attempts];
    await Promise.allSettled(now.map(([attempt]) => attempt));
    return now.flatMap(([, tables]) => tables);
  }

  /** Stops retrying: waiting callers are rejected, so their offsets stay uncommitted. */
  stop(): void {
    this.stopController.abort();
    this.flushNow();
  }

  /**
   * Starts the write of what is buffered, or, when no further write may start, marks the
   * buffer due so it is written as soon as one ends. By default one write at a time and
   * one buffer filling: under load a write carries everything that arrived during the
   * previous one (group commit) instead of queueing many small writes. A warehouse whose
   * upsert waits for a periodic step of its own (the staged BigQuery MERGE) allows more
   * (maxWritesInFlight): those writes then share that step instead of waiting in turn.
   */
  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing.size >= (this.warehouse.maxWritesInFlight ?? 1)) {
      this.due = true;
      return;
    }
    const batch = this.pending;
    this.pending = undefined;
    this.due = false;
    if (!batch) return;
    const write: Promise<void> = this.write(batch).finally(() => {
      this.writing.delete(write);
      if (this.pending && (this.due || this.full(this.pending) || this.stopController.signal.aborted)) this.flushNow();
      else if (this.pending) this.timer ??= setTimeout(() => this.flushNow(), this.options.intervalMs);
    });
    this.writing.add(write);
  }

  /** The writes in flight at most and one buffer filling: what the budget is shared by. */
  private get buffers(): number {
    return 1 + (this.warehouse.maxWritesInFlight ?? 1);
  }

  /** A flush is due: maxRecords buffered, or the buffer's share of bufferBytes. */
  private full(pending: Pending): boolean {
    return pending.count >= this.options.maxRecords || pending.bytes >= (this.options.bufferBytes ?? Infinity) / this.buffers;
  }

  /**
   * Upserts rows; when the warehouse refuses them for their content (SINK_ROW_REJECTED),
   * bisects to find the rows at fault and returns those, so the rest is written and the
   * offsets move on. What is a row fault is the warehouse's classification of its error
   * (classify-error.ts of each warehouse), never the number of rows that failed: a batch of
   * nothing but bad rows is dead-lettered whole instead of stalling the sink, and a fault of
   * the table or the warehouse (unreachable, permissions, a missing column, disk full, quota)
   * is retried with every row kept.
   */
  private async upsertIsolating(spec: TableSpec, rows: Row[]): Promise<{ changed: number; rejected: RejectedRow[] }> {
    try {
      return { changed: await this.relief.upsert(spec, rows), rejected: [] };
    } catch (err) {
      if (!isCallstreamError(err, 'SINK_ROW_REJECTED')) throw err;
      if (rows.length === 1) return { changed: 0, rejected: [{ spec, row: rows[0], error: err }] };
      const middle = Math.ceil(rows.length / 2);
      const left = await this.upsertIsolating(spec, rows.slice(0, middle));
      const right = await this.upsertIsolating(spec, rows.slice(middle));
      return { changed: left.changed + right.changed, rejected: [...left.rejected, ...right.rejected] };
    }
  }

  private async write(batch: Pending): Promise<void> {
    if (!tracingOn()) return this.writeAttempts(batch);
    // One span per warehouse write, linked to the records whose rows it carries.
    const span = activeTracer().startSpan('sink write', {
      root: true,
      links: batch.links,
      attributes: { 'callstream.rows': batch.count, 'callstream.tables': batch.rows.size, 'callstream.links_dropped': batch.linksDropped ?? 0 },
    });
    let outcome: unknown;
    const settle = batch.resolve;
    const fail = batch.reject;
    batch.resolve = (rejected) => {
      span.setAttribute('callstream.rows_rejected', rejected.length);
      settle(rejected);
    };
    batch.reject = (err) => {
      outcome = err;
      fail(err);
    };
    try {
      await this.writeAttempts(batch, (attempt) => span.setAttribute('callstream.attempts', attempt + 1));
    } finally {
      if (outcome !== undefined) failed(span, outcome);
      span.end();
    }
  }

  private async writeAttempts(batch: Pending, onAttempt?: (attempt: number) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      onAttempt?.(attempt);
      if (this.stopController.signal.aborted && attempt > 0) {
        batch.reject(new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'The sink stopped before the write succeeded'));
        return;
      }
      this.dropErased(batch);
      const tables = [...batch.rows].map(([spec, rows]) => ({ spec, rows, unique: newestPerKey(spec, rows) }));
      const underWay = this.attempt(tables);
      this.attempts.set(underWay, tables.map(({ spec, unique }): [TableSpec, Row[]] => [spec, unique]));
      try {
        batch.resolve(await underWay);
        return;
      } catch (err) {
        if (isCallstreamError(err) && !err.retriable && err.code !== 'SINK_ROW_REJECTED') {
          batch.reject(err);
          return;
        }
        const resource = exhaustedResource(err);
        if (resource) {
          this.relief.exhausted(resource, batch.count, err);
          this.stats.onExhausted?.({ resource, attempt, error: err });
        }
        const delay = backoffDelay(attempt);
        this.stats.onRetry?.({ attempt, error: err });
        this.logger.warn({ err, attempt, retryInMs: delay, error: describeError(err) }, 'warehouse write failed; retrying');
        await sleep(delay, this.stopController.signal);
      } finally {
        this.attempts.delete(underWay);
      }
    }
  }

  /** Drops the rows an erasure recorded since they were taken in covers (dropAtWrite), before an attempt. */
  private dropErased(batch: Pending): void {
    const drop = this.stats.dropAtWrite;
    if (!drop) return;
    let dropped = 0;
    for (const [spec, rows] of batch.rows) {
      const kept = rows.filter((row) => !drop(spec, row));
      if (kept.length === rows.length) continue;
      dropped += rows.length - kept.length;
      if (kept.length === 0) batch.rows.delete(spec);
      else batch.rows.set(spec, kept);
    }
    if (dropped > 0) this.stats.onDropped?.(dropped);
  }

  /** One attempt at writing every table of a flush; resolves with the rows refused for good. */
  private async attempt(tables: Array<{ spec: TableSpec; rows: Row[]; unique: Row[] }>): Promise<RejectedRow[]> {
    const started = Date.now();
    await this.relief.beforeAttempt();
    const rejected: RejectedRow[] = [];
    let written = 0;
    let changed = 0;
    let duplicates = 0;
    const receivedAt: number[] = [];
    // A warehouse that takes several writes at once takes the tables of one flush at once
    // too: in staged BigQuery each waits for its table's MERGE, which then run side by side.
    const outcomes =
      (this.warehouse.maxWritesInFlight ?? 1) > 1
        ? await Promise.all(tables.map(({ spec, unique }) => this.upsertIsolating(spec, unique)))
        : await sequentially(tables.map(({ spec, unique }) => () => this.upsertIsolating(spec, unique)));
    for (const [k, { spec, rows, unique }] of tables.entries()) {
      const outcome = outcomes[k];
      rejected.push(...outcome.rejected);
      if (this.stats.counts && !this.stats.counts(spec)) continue;
      changed += outcome.changed;
      written += unique.length - outcome.rejected.length;
      duplicates += rows.length - unique.length;
      for (const row of unique) receivedAt.push(Number(row.received_at));
    }
    this.relief.landed();
    this.stats.onWrite?.({ rows: written, changed, duplicates, ms: Date.now() - started, receivedAt });
    return rejected;
  }
}

async function sequentially<T>(steps: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = [];
  for (const step of steps) out.push(await step());
  return out;
}

function newPending(): Pending {
  let resolve!: (rejected: RejectedRow[]) => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<RejectedRow[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection may find no listener yet (the handler attaches right after add()).
  done.catch(() => undefined);
  return { rows: new Map(), count: 0, bytes: 0, done, resolve, reject };
}
