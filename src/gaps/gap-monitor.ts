import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';
import type { Warehouse } from '../warehouse/index.js';
import { GAP_KINDS } from '../warehouse/views/index.js';
import { countGaps, type GapsSource } from './gaps.js';

/** The call_gaps view as the sink's own warehouse reads it. */
export function warehouseGapsSource(warehouse: Warehouse): GapsSource {
  const bigquery = warehouse.kind === 'bigquery';
  return {
    ask: (sql) => warehouse.query(sql),
    view: warehouse.viewRef?.('call_gaps') ?? 'call_gaps',
    epochMs: (c) => (bigquery ? `UNIX_MILLIS(${c})` : `epoch_ms(${c})`),
    timestamp: (ms) => (bigquery ? `TIMESTAMP_MILLIS(${ms})` : `to_timestamp(${ms} / 1000.0)`),
  };
}

/**
 * Keeps the gauge callstream_call_gaps{kind} current: counts the call_gaps view every
 * CALLSTREAM_GAPS_CHECK_INTERVAL_MS (one bounded query: the view reads its window only), so
 * an alert can page on calls whose report never came. A failed count is logged and the gauge
 * keeps its last value; callstream_call_gaps_checked_timestamp_seconds says how fresh it is.
 *
 * `counting` says whether this process counts now: with several sinks on one warehouse, only the
 * one that holds partition 0 of the events topic does (one billed query per interval, not one per
 * replica). One that does not shows no kind and a check time of 0, so a replica that counted
 * before a rebalance shows no stale number beside the current one.
 */
export class GapMonitor {
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(
    private readonly source: GapsSource,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly everyMs: number,
    private readonly counting: () => boolean = () => true,
  ) {}

  start(): void {
    if (this.everyMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.check(), this.everyMs);
    this.timer.unref();
    void this.check();
  }

  /** Counts once (a check under way is joined, not doubled). */
  check(): Promise<void> {
    this.checking ??= this.count().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Stops the timer; a count under way is waited for a moment at most (a warehouse that hangs must not hold the shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.timer = undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.checking, new Promise<void>((r) => (timer = setTimeout(r, 2_000)))]);
    clearTimeout(timer);
  }

  private async count(): Promise<void> {
    if (!this.counting()) {
      this.metrics.callGaps.reset();
      this.metrics.callGapsChecked.reset();
      // Asked again within a second (only the question, no query): the sink that joins with
      // partition 0, at start or after a rebalance, counts then rather than an interval later.
      if (this.timer) {
        clearTimeout(this.soon);
        this.soon = setTimeout(() => void this.check(), Math.min(1_000, this.everyMs));
        this.soon.unref();
      }
      return;
    }
    try {
      const counts = await countGaps(this.source);
      for (const kind of GAP_KINDS) this.metrics.callGaps.set({ kind }, counts[kind]);
      this.metrics.callGapsChecked.set(Date.now() / 1000);
    } catch (err) {
      this.logger.warn({ error: describeError(err) }, 'could not count the call_gaps view; the gauge keeps its last value');
    }
  }
}
