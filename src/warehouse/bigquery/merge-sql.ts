import type { Column, ColumnType, TableSpec } from '../tables.js';
import { keyMatchSql, newerSql, nonKeyColumns } from '../warehouse.js';

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

/**
 * One MERGE per flush and table, staging the batch as an ARRAY<STRUCT> query parameter
 * (@rows) instead of insertAll (rows in the streaming buffer cannot be MERGEd) or a load
 * job (1,500 per table per day). With lookbackDays > 0 the target is bounded to the
 * partitions from @min_event_time minus that many days, so the scan stays small.
 */
export function mergeSql(tableRef: string, spec: TableSpec, lookbackDays: number): string {
  const prune = lookbackDays > 0 ? `T.event_time >= TIMESTAMP_SUB(@min_event_time, INTERVAL ${lookbackDays} DAY)` : '';
  return versionGuardedMerge(tableRef, spec, `(SELECT ${spec.columns.map(sourceExpr).join(', ')} FROM UNNEST(@rows) AS r)`, prune);
}

/**
 * The version-guarded MERGE of a source S (one row per key, the table's columns) into a
 * target T; targetFilter, when given, is ANDed to the join to bound the target scan.
 */
export function versionGuardedMerge(tableRef: string, spec: TableSpec, source: string, targetFilter: string): string {
  const prune = targetFilter ? `\n  AND ${targetFilter}` : '';
  return `MERGE ${tableRef} T
USING ${source} S
ON ${keyMatchSql(spec, quoteId)}${prune}
WHEN MATCHED AND ${newerSql()} THEN UPDATE SET ${nonKeyColumns(spec).map((c) => `${quoteId(c.name)} = S.${quoteId(c.name)}`).join(', ')}
WHEN NOT MATCHED THEN INSERT (${spec.columns.map((c) => quoteId(c.name)).join(', ')}) VALUES (${spec.columns.map((c) => `S.${quoteId(c.name)}`).join(', ')})`;
}
