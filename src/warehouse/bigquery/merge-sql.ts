import type { Column, ColumnType, TableSpec } from '../tables.js';
import { keyMatchSql, versionGuardedMergeSql } from '../version-rule.js';

/** BigQuery types of the @rows struct fields: JSON travels as STRING and is parsed in SQL. */
const PARAM_TYPE: Record<ColumnType, string> = { STRING: 'STRING', INT64: 'INT64', TIMESTAMP: 'TIMESTAMP', JSON: 'STRING' };

export const quoteId = (name: string) => `\`${name.replace(/`/g, '')}\``;

export function rowsParamTypes(spec: TableSpec): Record<string, string> {
  return Object.fromEntries(spec.columns.map((c) => [c.name, PARAM_TYPE[c.type]]));
}

/** A column of the MERGE source read from a row alias r whose JSON columns are STRING. */
export function sourceExpr(c: Column): string {
  return c.type === 'JSON' ? `PARSE_JSON(r.${quoteId(c.name)}) AS ${quoteId(c.name)}` : `r.${quoteId(c.name)}`;
}

const DAY_MS = 86_400_000;

/** The UTC day number (days since 1970-01-01) of a TIMESTAMP expression, as BigQuery SQL. */
export function dayNumberSql(timestamp: string): string {
  return `CAST(FLOOR(UNIX_MILLIS(${timestamp}) / ${DAY_MS}) AS INT64)`;
}

/**
 * The UTC days on which the target T stores a version of any key of `keys` (a subquery
 * with the key columns, one row per key). A MERGE bounded by partitions must hold these
 * days too: a version's event_time may lie on any day before or after the stored one's
 * (another occurred_at, a redelivery days later, a replayed older version), and a stored
 * version outside the bound is not matched, so the MERGE would insert a second row for the
 * key. It reads only the key columns and event_time of the target, unbounded.
 */
export function storedDaysSql(tableRef: string, spec: TableSpec, keys: string): string {
  return `SELECT DISTINCT ${dayNumberSql('T.event_time')} AS day FROM ${tableRef} T JOIN ${keys} S ON ${keyMatchSql(spec, quoteId)}`;
}

/** The key columns of the @keys parameter (an ARRAY<STRUCT> of them), as a subquery for storedDaysSql. */
export function paramKeysSql(spec: TableSpec): string {
  return `(SELECT DISTINCT ${spec.keyColumns.map((c) => `r.${quoteId(c)}`).join(', ')} FROM UNNEST(@keys) AS r)`;
}

/**
 * One MERGE per flush and table, staging the batch as an ARRAY<STRUCT> query parameter
 * (@rows) instead of insertAll (rows in the streaming buffer cannot be MERGEd) or a load
 * job (1,500 per table per day). With lookbackDays > 0 the target is bounded to the
 * partitions from @min_event_time minus that many days, so the scan stays small; the
 * caller sets @min_event_time to the oldest of the batch's event times and of the days
 * its keys are stored on (storedDaysSql), so no stored version falls outside the bound.
 */
export function mergeSql(tableRef: string, spec: TableSpec, lookbackDays: number): string {
  const prune = lookbackDays > 0 ? `T.event_time >= TIMESTAMP_SUB(@min_event_time, INTERVAL ${lookbackDays} DAY)` : '';
  return versionGuardedMerge(tableRef, spec, `(SELECT ${spec.columns.map(sourceExpr).join(', ')} FROM UNNEST(@rows) AS r)`, prune);
}

/**
 * The version-guarded MERGE (versionGuardedMergeSql) of a source S into the table T, in
 * BigQuery's syntax; targetFilter, when given, bounds the target scan.
 */
export function versionGuardedMerge(tableRef: string, spec: TableSpec, source: string, targetFilter: string): string {
  return versionGuardedMergeSql(spec, { target: `${tableRef} T`, source: `${source} S`, quote: quoteId, targetFilter });
}
