import type { Logger } from '../logger.js';

/** A partition's next offset to commit (every record below it is written), with the epoch its batch was fetched in. */
export interface Committable {
  topic: string;
  partition: number;
  offset: string;
  highWatermark: string;
  epoch: number;
}

export type CommitOffsets = (offsets: Array<{ topic: string; partition: number; offset: string }>) => Promise<void>;

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * The sink's side of the group: which partitions this member owns in which epoch, and the
 * written offsets waiting to be committed.
 *
 * Commits go one request at a time, carrying the progress of every partition, so commits
 * never fall behind the writes however small the batches. A failed commit only means the
 * records are read again, idempotently.
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
export class OffsetCommits {
  /**
   * Bumped whenever the group's assignment may have changed (a rebalance begins, a join
   * ends, the consumer crashes).
   */
  private currentEpoch = 0;
  /** The "topic\u0000partition"s this member owns in the current epoch (empty while rebalancing). */
  private assigned = new Set<string>();
  private readonly committable = new Map<string, Committable>();
  /** The commit request in flight. */
  private committing?: Promise<void>;
  private commitAgain = false;
  private staleLoggedIn = -1;
  private closed = false;

  constructor(
    private readonly commit: CommitOffsets,
    private readonly logger: Logger,
    /** Called for each partition's offset once it is committed. */
    private readonly onCommitted: (c: Committable) => void,
  ) {}

  /** The epoch a batch fetched now belongs to: take it before any wait. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** Offsets written but not committed yet. */
  get pending(): number {
    return this.committable.size;
  }

  /** The group gave this member these partitions (a join ended). */
  assign(memberAssignment: Record<string, number[]>): void {
    this.currentEpoch++;
    this.assigned = new Set(Object.entries(memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => partitionKey(topic, p))));
  }

  /** The assignment is gone (a rebalance begins, the consumer crashed): nothing fetched before is committed. */
  revokeAll(): void {
    this.currentEpoch++;
    this.assigned = new Set();
  }

  owns(topic: string, partition: number): boolean {
    return this.assigned.has(partitionKey(topic, partition));
  }

  /** Every record below `offset` is written: commit it (with the next request); resolves once that request returned (committed or failed). */
  written(c: Committable): Promise<void> {
    this.committable.set(partitionKey(c.topic, c.partition), c);
    return this.commitWritten();
  }

  /** After this, nothing is committed any more (the sink has left). */
  close(): void {
    this.closed = true;
  }

  /** Resolves when everything written so far is committed (or its commit failed). */
  commitWritten(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.committing) {
      this.commitAgain = true;
      return this.committing;
    }
    this.committing = this.commitLoop().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  private async commitLoop(): Promise<void> {
    do {
      this.commitAgain = false;
      const all = [...this.committable.values()];
      this.committable.clear();
      const offsets = all.filter((o) => o.epoch === this.currentEpoch && this.owns(o.topic, o.partition));
      if (offsets.length < all.length) {
        const stale = all.filter((o) => !offsets.includes(o)).map(({ topic, partition, offset }) => ({ topic, partition, offset }));
        // Every batch still in flight at a rebalance lands here: once per epoch is enough to tell.
        const level = this.staleLoggedIn === this.currentEpoch ? 'debug' : 'info';
        this.staleLoggedIn = this.currentEpoch;
        this.logger[level]({ stale }, 'not committing offsets fetched before a rebalance; their records are read again by the partition owner');
      }
      if (offsets.length === 0 || this.closed) break;
      try {
        await this.commit(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
      } catch (err) {
        this.logger.warn({ err, partitions: offsets.length }, 'offset commit failed; the records will be read again');
        // Kept for the next commit (unless a newer offset took its place); not retried at once, which would spin while the broker is away.
        for (const o of offsets) {
          const key = partitionKey(o.topic, o.partition);
          if (!this.committable.has(key)) this.committable.set(key, o);
        }
        break;
      }
      for (const o of offsets) this.onCommitted(o);
    } while (this.commitAgain || this.committable.size > 0);
  }
}
