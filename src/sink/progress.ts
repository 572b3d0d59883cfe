import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';

/** How often a sink with a backlog (a replay, a catch-up) logs its progress. */
export const PROGRESS_EVERY_MS = 10_000;

/**
 * What the sink reports about how far behind it is: the lag gauge per topic and partition
 * (set at each commit) and, while there is a backlog, a progress line every 10 s.
 */
export class SinkProgress {
  /** Records behind the end, per topic and partition (both flows' topics share partition numbers). */
  private readonly lagByPartition = new Map<string, Map<number, number>>();
  private consumedSinceReport = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.report(), PROGRESS_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  consumed(records: number): void {
    this.consumedSinceReport += records;
  }

  /** A partition's offset was committed: it is this far behind its end. */
  committed(topic: string, partition: number, offset: string, highWatermark: string): void {
    const behind = Math.max(0, Number(BigInt(highWatermark) - BigInt(offset)));
    this.metrics.lag.set({ topic, partition: String(partition) }, behind);
    const perTopic = this.lagByPartition.get(topic) ?? new Map<number, number>();
    this.lagByPartition.set(topic, perTopic.set(partition, behind));
  }

  /** Revoked partitions are some other member's to report: their last lag here would go stale. */
  forgetRevoked(owns: (topic: string, partition: number) => boolean): void {
    for (const [topic, perTopic] of this.lagByPartition) {
      for (const partition of perTopic.keys()) {
        if (owns(topic, partition)) continue;
        perTopic.delete(partition);
        this.metrics.lag.remove({ topic, partition: String(partition) });
      }
    }
  }

  /** Logs records consumed and lag per topic and partition while there is a backlog (a replay's progress). */
  report(): void {
    const lag = Object.fromEntries([...this.lagByPartition].map(([topic, perTopic]) => [topic, Object.fromEntries([...perTopic].sort(([a], [b]) => a - b))]));
    const behind = [...this.lagByPartition.values()].reduce((sum, perTopic) => sum + [...perTopic.values()].reduce((a, b) => a + b, 0), 0);
    if (behind > 0 || this.consumedSinceReport > 0) {
      this.logger.info({ consumed: this.consumedSinceReport, lag, behind, intervalMs: PROGRESS_EVERY_MS }, 'sink progress');
    }
    this.consumedSinceReport = 0;
  }
}
