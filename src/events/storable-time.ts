/**
 * The times every warehouse's TIMESTAMP column holds: BigQuery's range, 0001-01-01 to
 * 9999-12-31 (UTC), in epoch milliseconds (DuckDB's is wider). A time outside it can be
 * refused or left out at the door; the sink never gets a row it cannot write.
 */
export const MIN_STORABLE_TIME_MS = -62_135_596_800_000; // Date.UTC would read year 1 as 1901
export const MAX_STORABLE_TIME_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

export function isStorableTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_STORABLE_TIME_MS && ms <= MAX_STORABLE_TIME_MS;
}
