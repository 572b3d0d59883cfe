import type { RowMatch } from './row-match.js';
import type { Column, Row, TableSpec } from './tables.js';

/**
 * What the sink needs from a warehouse. DuckDB and BigQuery implement it and share
 * one contract test suite (test/integration/warehouse-contract.ts).
 *
 * upsert() contract: rows are keyed by spec.keyColumns; a row replaces
 * the stored one only when it is a newer version (see isNewer), so redelivered or
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

/**
 * Version order of two rows of the same key: the later receipt (received_at, stamped by the
 * receiver when the request arrived and carried inside the record) is the newer version;
 * within one millisecond the higher request_id decides, so the order is total and the result
 * never depends on the order in which rows arrive. The same request seen again (a
 * redelivery, a replay, a re-publication by `replay-raw`) is never newer than itself.
 *
 * Nothing of the record's place in Kafka takes part: a topic deleted and created again
 * (offsets from 0), a renamed topic, a mirrored cluster (other offsets) or a repartitioned
 * one leave the order as it was. What identifies a version is the request, not the topic's
 * generation.
 */
export function isNewer(a: Row, b: Row): boolean {
  const [receivedA, receivedB] = [a.received_at as number, b.received_at as number];
  if (receivedA !== receivedB) return receivedA > receivedB;
  return String(a.request_id) > String(b.request_id);
}

/**
 * Keeps only the newest row per key, in first-seen key order. The key tuple is encoded as
 * JSON, so distinct tuples never share an entry whatever their text holds (a separator
 * joined between the columns could occur inside one and merge two keys).
 */
export function newestPerKey(spec: TableSpec, rows: Row[]): Row[] {
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = JSON.stringify(spec.keyColumns.map((c) => row[c] ?? null));
    const seen = byKey.get(key);
    if (!seen || isNewer(row, seen)) byKey.set(key, row);
  }
  return [...byKey.values()];
}

/** The columns an upsert may change: all but the key. */
export function nonKeyColumns(spec: TableSpec): Column[] {
  return spec.columns.filter((c) => !spec.keyColumns.includes(c.name));
}

/** The MERGE join of a target T and a source S on the key columns, quoted by the warehouse's rule. */
export function keyMatchSql(spec: TableSpec, quote: (name: string) => string): string {
  return spec.keyColumns.map((c) => `T.${quote(c)} = S.${quote(c)}`).join(' AND ');
}

/**
 * The same guard as isNewer, as SQL: whether the incoming row (alias `incoming`, by default a
 * MERGE's source S) is newer than the stored one (`stored`, by default its target T).
 */
export function newerSql(incoming = 'S', stored = 'T'): string {
  return `(${incoming}.received_at > ${stored}.received_at OR (${incoming}.received_at = ${stored}.received_at AND ${incoming}.request_id > ${stored}.request_id))`;
}
