import type { Column, Row, TableSpec } from './tables.js';

/**
 * The version rule, in one place: which of two rows of the same key is the newer version.
 * Everything that orders versions derives from the table's version order (versionOrder: its
 * versionColumns, else VERSION_ORDER): isNewer and newestPerKey (TypeScript, within a batch),
 * newerSql (each warehouse's MERGE and UPDATE guard, across batches), newestFirstSql (a
 * window's ORDER BY: the staged BigQuery MERGE picking one staged row per key, the views'
 * "latest" rows) and versionGuardedMergeSql (the MERGE itself, for both warehouses).
 * test/integration/version-rule.test.ts checks on random histories that every warehouse ends
 * as isNewer says.
 *
 * The later receipt (received_at, stamped by the receiver when the request arrived and carried
 * inside the record) is the newer version; within one millisecond the higher request_id
 * decides, so the order is total and the result never depends on the order in which rows
 * arrive. The same request seen again (a redelivery, a replay, a re-publication by
 * `replay-raw`) is never newer than itself.
 *
 * Nothing of the record's place in Kafka takes part: a topic deleted and created again
 * (offsets from 0), a renamed topic, a mirrored cluster (other offsets) or a repartitioned
 * one leave the order as it was. What identifies a version is the request, not the topic's
 * generation.
 */
export const VERSION_ORDER = ['received_at', 'request_id'] as const;

/**
 * The columns that order versions of a table's key, compared in turn: its versionColumns (the
 * requests table adds `status`: see REQUESTS in tables.ts), else VERSION_ORDER.
 */
export function versionOrder(spec: TableSpec): readonly string[] {
  return spec.versionColumns ?? VERSION_ORDER;
}

/** A version column's value compared: receipt times as numbers, request ids as text (as SQL compares them). */
function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const [textA, textB] = [String(a), String(b)];
  return textA === textB ? 0 : textA > textB ? 1 : -1;
}

/** Whether row a is a newer version than row b of the same key of the table `spec` (see versionOrder). */
export function isNewer(spec: TableSpec, a: Row, b: Row): boolean {
  for (const column of versionOrder(spec)) {
    const order = compare(a[column], b[column]);
    if (order !== 0) return order > 0;
  }
  return false;
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
    if (!seen || isNewer(spec, row, seen)) byKey.set(key, row);
  }
  return [...byKey.values()];
}

/**
 * isNewer as SQL: whether the incoming row (alias `incoming`, by default a MERGE's source S)
 * is newer than the stored one (`stored`, by default its target T).
 */
export function newerSql(spec: TableSpec, incoming = 'S', stored = 'T'): string {
  const order = versionOrder(spec);
  const from = (i: number): string => {
    const column = order[i];
    const greater = `${incoming}.${column} > ${stored}.${column}`;
    if (i === order.length - 1) return greater;
    // The rest in parentheses once it is a disjunction itself: AND binds tighter than OR.
    const rest = i + 1 === order.length - 1 ? from(i + 1) : `(${from(i + 1)})`;
    return `${greater} OR (${incoming}.${column} = ${stored}.${column} AND ${rest})`;
  };
  return `(${from(0)})`;
}

/** The table's version order as an ORDER BY list, newest first (`received_at DESC, request_id DESC`). */
export function newestFirstSql(spec: TableSpec): string {
  return versionOrder(spec).map((column) => `${column} DESC`).join(', ');
}

/** The columns an upsert may change: all but the key. */
export function nonKeyColumns(spec: TableSpec): Column[] {
  return spec.columns.filter((c) => !spec.keyColumns.includes(c.name));
}

/** The MERGE join of a target T and a source S on the key columns, quoted by the warehouse's rule. */
export function keyMatchSql(spec: TableSpec, quote: (name: string) => string): string {
  return spec.keyColumns.map((c) => `T.${quote(c)} = S.${quote(c)}`).join(' AND ');
}

/** What a newer version S replaces in the stored row T: every column but the key. */
export function replaceSetSql(spec: TableSpec, quote: (name: string) => string): string {
  return nonKeyColumns(spec)
    .map((c) => `${quote(c.name)} = S.${quote(c.name)}`)
    .join(', ');
}

/**
 * The version-guarded MERGE of a source S (one row per key, the table's columns) into a
 * target T, for either warehouse: `target` and `source` come aliased in the warehouse's own
 * syntax (`INTO "t" AS T`, `` `p.d.t` T ``), `quote` is its identifier rule, and `targetFilter`,
 * when given, is ANDed to the join to bound the target scan (BigQuery's partition filter).
 */
export function versionGuardedMergeSql(spec: TableSpec, parts: { target: string; source: string; quote: (name: string) => string; targetFilter?: string }): string {
  const { target, source, quote, targetFilter } = parts;
  const prune = targetFilter ? `\n  AND ${targetFilter}` : '';
  return `MERGE ${target}
USING ${source}
ON ${keyMatchSql(spec, quote)}${prune}
WHEN MATCHED AND ${newerSql(spec)} THEN UPDATE SET ${replaceSetSql(spec, quote)}
WHEN NOT MATCHED THEN INSERT (${spec.columns.map((c) => quote(c.name)).join(', ')}) VALUES (${spec.columns.map((c) => `S.${quote(c.name)}`).join(', ')})`;
}
