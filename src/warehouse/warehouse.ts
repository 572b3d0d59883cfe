import type { RowMatch } from './row-match.js';
import type { Row, TableSpec } from './tables.js';

/**
 * What the sink needs from a warehouse. DuckDB and BigQuery implement it and share
 * one contract test suite (test/integration/warehouse-contract.ts).
 *
 * upsert() contract: rows are keyed by spec.keyColumns; a row replaces
 * the stored one only when it is a newer version (see isNewer in version-rule.ts), so redelivered or
 * replayed rows never change the table. Duplicate keys within `rows` are allowed.
 */
export interface Warehouse {
  readonly kind: 'duckdb' | 'bigquery';
  /**
   * How many upserts (flushes) the sink may have in flight at once; 1 when absent. More
   * than 1 only for a warehouse whose upsert waits for a periodic step of its own (the
   * staged BigQuery MERGE), so that further flushes append meanwhile and share that step.
   */
  readonly maxWritesInFlight?: number;
  ensureTables(specs: readonly TableSpec[]): Promise<void>;
  /** Returns how many rows it changed (inserted or replaced); the rest were not newer. */
  upsert(spec: TableSpec, rows: Row[]): Promise<number>;
  /** Runs a read-only SQL statement and returns JSON-safe row objects. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** How query() names one of the analysts' views (BigQuery: with the connector's table prefix); absent: its plain name. */
  viewRef?(name: string): string;
  /**
   * `callstream erase`: deletes the rows matching, and returns how many; with dryRun only
   * counts them. Runs on the warehouse's writing side (DuckDB: the owner of the file).
   */
  eraseRows(spec: TableSpec, match: RowMatch, options: { dryRun: boolean }): Promise<number>;
  /** The distinct non-null values of a column among the rows matching (what an erasure resolves its subject into). */
  distinctValues(spec: TableSpec, match: RowMatch, column: string): Promise<string[]>;
  /**
   * After SINK_WAREHOUSE_EXHAUSTED: gives back what the warehouse holds, before the sink writes
   * again. DuckDB closes and reopens its file (a fresh buffer pool and stage tables; a database
   * that a checkpoint on a full disk invalidated is attached again); queries wait meanwhile.
   * Absent where there is nothing to give back (BigQuery): the sink then only writes smaller pieces.
   */
  recover?(): Promise<void>;
  /**
   * Which warehouse this is, the same for every process writing to it (DuckDB: an id made when
   * the file is created and kept in it; BigQuery: the project, dataset and table prefix). The
   * sink announces it to its consumer group, which belongs to one warehouse (src/sink/group-binding.ts).
   */
  identity(): Promise<WarehouseIdentity>;
  close(): Promise<void>;
}

/** A warehouse's identity: `id` is compared, `description` names it in messages (a file and its host, a dataset). */
export interface WarehouseIdentity {
  id: string;
  description: string;
}
