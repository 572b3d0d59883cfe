import { REPUBLISHED_COLUMN, type Column, type Row, type TableSpec } from './tables.js';

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
  ensureTables(specs: readonly TableSpec[]): Promise<void>;
  /** Returns how many rows it changed (inserted or replaced); the rest were not newer. */
  upsert(spec: TableSpec, rows: Row[]): Promise<number>;
  /** Runs a read-only SQL statement and returns JSON-safe row objects. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * Version order of two rows of the same key: within one partition the offset
 * decides (same key -> same partition, so the broker's order is the sender's order);
 * across partitions (after a repartition), and for a version re-published from the audit
 * topic (whose offset says nothing about when it was sent), the receipt time does. The
 * same request seen again is never newer.
 */
export function isNewer(a: Row, b: Row): boolean {
  if (a.request_id != null && a.request_id === b.request_id) return false; // the same request again (a raw replay): the same version
  const byReceipt = a.republished_at != null || b.republished_at != null || a.kafka_partition !== b.kafka_partition;
  if (byReceipt) return (a.received_at as number) > (b.received_at as number);
  return (a.kafka_offset as number) > (b.kafka_offset as number);
}

/** Keeps only the newest row per key, in first-seen key order. */
export function newestPerKey(spec: TableSpec, rows: Row[]): Row[] {
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = spec.keyColumns.map((c) => row[c]).join('\u0000');
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

/** The same guard as isNewer, as SQL over a target T and a source S. */
export function newerSql(spec: TableSpec): string {
  const republished = spec.columns.some((c) => c.name === REPUBLISHED_COLUMN) ? 'S.republished_at IS NOT NULL OR T.republished_at IS NOT NULL OR ' : '';
  return `(S.request_id <> T.request_id AND CASE WHEN ${republished}S.kafka_partition <> T.kafka_partition THEN S.received_at > T.received_at ELSE S.kafka_offset > T.kafka_offset END)`;
}
