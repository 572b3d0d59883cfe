import { describeError, type ExhaustedResource } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Row, TableSpec, Warehouse } from '../warehouse/index.js';

/** The smallest piece, as a share of a whole flush. */
const MIN_PIECE_SHARE = 1 / 64;

/**
 * What the flush coordinator does about a warehouse out of memory or disk
 * (SINK_WAREHOUSE_EXHAUSTED), where retrying the same write as is fails the same way for good
 * (measured: a DuckDB MERGE that ran out of its 512 MB failed 20 times in a row, a second apart).
 *
 * After such a fault the warehouse is recovered before the next attempt (DuckDB reopens its
 * file, see Warehouse.recover; a recovery that fails is tried again before each attempt, so the
 * sink goes on by itself once the disk has room again), and upserts go in pieces of half the rows
 * tried, halved again at each further fault of a write (not of a recovery) down to 1/64 of a flush (a disk full for an hour must
 * not leave the sink writing row by row when it has room again). Every write (flush) that lands doubles the pieces of
 * the next, so whole flushes come back after a few. (Growing after each piece instead livelocks: a
 * retry starts again from the first piece, and the piece that outgrew the room fails every time.)
 * A retry writes a batch's pieces again from the first: the version guard leaves the rows a failed attempt already wrote unchanged (no row is
 * doubled, they count as replayed), and offsets still wait for the whole write.
 */
export class ExhaustionRelief {
  /** Rows per upsert while relieving; undefined: whole tables. */
  private pieceRows: number | undefined;
  private recoveryDue = false;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly logger: Logger,
    /** Pieces this large or larger are whole flushes again. */
    private readonly wholeRows: number,
  ) {}

  /** Notes a fault of exhaustion of an attempt that tried `rowsTried` rows. */
  exhausted(resource: ExhaustedResource, rowsTried: number, error: unknown): void {
    // A recovery that failed (the disk still full) wrote nothing: it says nothing of the pieces' size.
    if (!this.recoveryDue) this.pieceRows = Math.max(Math.ceil(this.wholeRows * MIN_PIECE_SHARE), Math.floor((this.pieceRows ?? rowsTried) / 2));
    this.recoveryDue = true;
    const recovery = this.warehouse.recover ? 'recovering the warehouse' : 'the warehouse has nothing to recover';
    this.logger.error({ resource, pieceRows: this.pieceRows, error: describeError(error) }, `warehouse out of ${resource}; ${recovery}, then writing pieces of ${this.pieceRows} rows`);
  }

  /** Before a write attempt: recovers the warehouse when a fault asked for it; throws when that fails (the attempt fails, and the next one tries again). */
  async beforeAttempt(): Promise<void> {
    if (!this.recoveryDue) return;
    if (this.warehouse.recover) {
      const started = Date.now();
      await this.warehouse.recover();
      this.logger.warn({ ms: Date.now() - started }, 'warehouse recovered (reopened)');
    }
    this.recoveryDue = false;
  }

  /** Upserts rows, in pieces while relieving; returns the rows changed. */
  async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    // Taken once: with several writes in flight (staged BigQuery) another may change it meanwhile.
    const size = this.pieceRows;
    if (size === undefined || rows.length <= size) return this.warehouse.upsert(spec, rows);
    let changed = 0;
    for (let from = 0; from < rows.length; from += size) changed += await this.warehouse.upsert(spec, rows.slice(from, from + size));
    return changed;
  }

  /** After a write (a whole flush) landed. */
  landed(): void {
    if (this.pieceRows === undefined) return;
    this.pieceRows *= 2;
    if (this.pieceRows >= this.wholeRows) {
      this.pieceRows = undefined;
      this.logger.info('warehouse writes whole flushes again');
    }
  }
}
