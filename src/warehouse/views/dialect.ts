import type { FieldType } from '../../config/view-settings.js';

/**
 * Everything the views' SQL says differently on DuckDB and BigQuery, in one place. The
 * view definitions (one module each) are written once against this interface; the rest
 * of their SQL is what both engines read alike (window functions, CASE, COUNT, SUBSTR,
 * LIKE, COALESCE, `a / b` as a floating-point division).
 */
export interface SqlDialect {
  /** An identifier, quoted (for column names that come from the configuration). */
  quote(name: string): string;
  /** The scalar at `$.<field>` of a JSON value, as text; NULL when absent or JSON null. */
  jsonText(json: string, field: string): string;
  /** Elements of a JSON array (NULL for NULL). */
  jsonArrayLength(json: string): string;
  /**
   * A FROM-clause fragment that joins one row per element of the JSON array `json` of the
   * row before it, naming the element `element` and its 0-based index `position`. Read the
   * element with jsonText and elementJson only (it is JSON text on BigQuery). Select
   * `position` under another alias: the BigQuery emulator loses an unaliased one.
   */
  unnestJsonArray(json: string, element: string, position: string): string;
  /** The JSON at `$.<field>` of an element of unnestJsonArray, as JSON; NULL when absent. */
  elementJson(element: string, field: string): string;
  /** The UTC day of a TIMESTAMP, as a DATE. */
  utcDate(timestamp: string): string;
  /** Milliseconds since the epoch of a TIMESTAMP, as an integer. */
  epochMs(timestamp: string): string;
  /** `expr` converted to `type`, NULL when it does not convert (instead of an error). */
  safeCast(expr: string, type: FieldType): string;
  /** `expr` converted to `type` (an error when it does not convert): e.g. a typed NULL. */
  cast(expr: string, type: FieldType): string;
  /** The time the query runs, a TIMESTAMP. */
  now(): string;
  /** A TIMESTAMP `minutes` (a whole number, from the settings) before `timestamp`. */
  minutesBefore(timestamp: string, minutes: number): string;
}

const DUCKDB_TYPE: Record<FieldType, string> = { STRING: 'VARCHAR', INT64: 'BIGINT', FLOAT64: 'DOUBLE', BOOL: 'BOOLEAN', TIMESTAMP: 'TIMESTAMPTZ' };

/** A JSON path to one top-level field; field names are identifiers (see FIELD_NAME), so no quoting. */
const path = (field: string) => `'$.${field}'`;

/** DuckDB's spelling (the json and icu extensions, built into @duckdb/node-api and the Python package). */
export const DUCKDB_DIALECT: SqlDialect = {
  quote: (name) => `"${name.replace(/"/g, '""')}"`,
  // json_value would return JSON (a quoted string); json_extract_string returns the text.
  jsonText: (json, field) => `json_extract_string(${json}, ${path(field)})`,
  jsonArrayLength: (json) => `CAST(json_array_length(${json}) AS BIGINT)`,
  // Two set-returning functions in one SELECT run in step: each element beside its index.
  unnestJsonArray: (json, element, position) =>
    `CROSS JOIN LATERAL (SELECT UNNEST(json_extract(${json}, '$[*]')) AS ${element}, generate_subscripts(json_extract(${json}, '$[*]'), 1) - 1 AS ${position}) AS ${element}_rows`,
  elementJson: (element, field) => `json_extract(${element}, ${path(field)})`,
  // A TIMESTAMPTZ cast to DATE takes the session's time zone; BigQuery's days are UTC.
  utcDate: (timestamp) => `CAST(timezone('UTC', ${timestamp}) AS DATE)`,
  epochMs: (timestamp) => `epoch_ms(${timestamp})`,
  safeCast: (expr, type) => `TRY_CAST(${expr} AS ${DUCKDB_TYPE[type]})`,
  cast: (expr, type) => `CAST(${expr} AS ${DUCKDB_TYPE[type]})`,
  now: () => 'now()',
  minutesBefore: (timestamp, minutes) => `(${timestamp} - INTERVAL ${wholeMinutes(minutes)} MINUTE)`,
};

/** BigQuery's spelling (GoogleSQL). */
export const BIGQUERY_DIALECT: SqlDialect = {
  quote: (name) => `\`${name.replace(/`/g, '')}\``,
  jsonText: (json, field) => `JSON_VALUE(${json}, ${path(field)})`,
  jsonArrayLength: (json) => `ARRAY_LENGTH(JSON_QUERY_ARRAY(${json}))`,
  // Elements as JSON text, parsed where read: the emulator's JSON_QUERY_ARRAY gives strings
  // even for a JSON column (BigQuery gives JSON), so text is what both give alike.
  unnestJsonArray: (json, element, position) => `CROSS JOIN UNNEST(JSON_QUERY_ARRAY(TO_JSON_STRING(${json}))) AS ${element} WITH OFFSET AS ${position}`,
  elementJson: (element, field) => `PARSE_JSON(JSON_QUERY(${element}, ${path(field)}))`,
  utcDate: (timestamp) => `DATE(${timestamp})`,
  epochMs: (timestamp) => `UNIX_MILLIS(${timestamp})`,
  safeCast: (expr, type) => `SAFE_CAST(${expr} AS ${type})`,
  cast: (expr, type) => `CAST(${expr} AS ${type})`,
  now: () => 'CURRENT_TIMESTAMP()',
  minutesBefore: (timestamp, minutes) => `TIMESTAMP_SUB(${timestamp}, INTERVAL ${wholeMinutes(minutes)} MINUTE)`,
};

/** A number of minutes as SQL: a whole non-negative number only, so a setting can never become SQL. */
function wholeMinutes(minutes: number): number {
  if (!Number.isSafeInteger(minutes) || minutes < 0) throw new Error(`expected a whole number of minutes, got ${minutes}`);
  return minutes;
}

/** Seconds from one TIMESTAMP to another, with the milliseconds (FLOAT64; NULL if either is NULL). */
export function secondsBetween(d: SqlDialect, from: string, to: string): string {
  return `(${d.epochMs(to)} - ${d.epochMs(from)}) / 1000`;
}
