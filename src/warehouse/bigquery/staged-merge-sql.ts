import type { TableSpec } from '../tables.js';
import { newestFirstSql } from '../version-rule.js';
import { dayNumberSql, quoteId, sourceExpr, storedDaysSql, versionGuardedMerge } from './merge-sql.js';

/** Column of a staged row naming the append (one per upsert) it came with. */
export const STAGE_ID_COLUMN = 'stage_id';
/** Column of a staged row: when it was appended (the staging table's partitioning column). */
export const STAGED_AT_COLUMN = 'staged_at';

const DAY_MS = 86_400_000;
/** More disjoint day ranges than this are bounded by one range from the first to the last. */
const MAX_RANGES = 64;

/** The UTC day numbers (days since 1970-01-01) of the given event times in ms. */
export function daysOf(eventTimes: Iterable<number>): Set<number> {
  const days = new Set<number>();
  for (const ms of eventTimes) days.add(Math.floor(ms / DAY_MS));
  return days;
}

/**
 * A constant predicate on T.event_time (the partitioning column) that holds the partitions
 * of the given days (those of the staged rows and those their keys are stored on, see
 * storedDaysSql): BigQuery prunes the target scan to those partitions. Adjacent days form
 * one range.
 */
export function partitionFilterSql(days: Iterable<number>): string {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('partitionFilterSql needs at least one day');
  let ranges: Array<[number, number]> = [];
  for (const day of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && day <= last[1]) last[1] = day + 1;
    else ranges.push([day, day + 1]);
  }
  if (ranges.length > MAX_RANGES) ranges = [[ranges[0][0], ranges[ranges.length - 1][1]]];
  const terms = ranges.map(([from, to]) => `(T.event_time >= ${dayLiteral(from)} AND T.event_time < ${dayLiteral(to)})`);
  return terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`;
}

function dayLiteral(day: number): string {
  return `TIMESTAMP '${new Date(day * DAY_MS).toISOString().slice(0, 10)} 00:00:00+00'`;
}

/**
 * The MERGE from a staging table into its target: the staged rows of the appends in
 * @stage_ids (an ARRAY<STRING> parameter), newest per key by the version rule (newestFirstSql),
 * into the target under the same version guard as the
 * parameter MERGE, the target bounded by targetFilter (see partitionFilterSql).
 */
export function stagedMergeSql(tableRef: string, stagingRef: string, spec: TableSpec, targetFilter: string): string {
  const key = spec.keyColumns.map(quoteId).join(', ');
  const newest = `SELECT *, ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY ${newestFirstSql(spec)}) AS stage_rank FROM ${stagingRef} WHERE ${STAGE_ID_COLUMN} IN UNNEST(@stage_ids)`;
  const source = `(SELECT ${spec.columns.map(sourceExpr).join(', ')} FROM (${newest}) AS r WHERE r.stage_rank = 1)`;
  return versionGuardedMerge(tableRef, spec, source, targetFilter);
}

/** The days the target stores the keys staged in @stage_ids on (see storedDaysSql). */
export function stagedKeysStoredDaysSql(tableRef: string, stagingRef: string, spec: TableSpec): string {
  const keys = `(SELECT DISTINCT ${spec.keyColumns.map(quoteId).join(', ')} FROM ${stagingRef} WHERE ${STAGE_ID_COLUMN} IN UNNEST(@stage_ids))`;
  return storedDaysSql(tableRef, spec, keys);
}

/** Removes the staged rows of the appends in @stage_ids. */
export function deleteStagedSql(stagingRef: string): string {
  return `DELETE FROM ${stagingRef} WHERE ${STAGE_ID_COLUMN} IN UNNEST(@stage_ids)`;
}

/** The appends a staging table holds, with the event days of their rows (at most `limit` pairs). */
export function listStagedSql(stagingRef: string, limit: number): string {
  return `SELECT ${STAGE_ID_COLUMN} AS stage_id, ${dayNumberSql('event_time')} AS day FROM ${stagingRef} GROUP BY 1, 2 LIMIT ${limit}`;
}
