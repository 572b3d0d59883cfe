// The warehouse contract and table specs. The implementations are their own entry points
// (duckdb/duckdb-warehouse.js, bigquery/bigquery-warehouse.js) and createWarehouse() loads
// only the one the config names: a receiver process never loads DuckDB or the BigQuery
// client (about 40 MB of RSS and 200 ms of start-up).
export { TABLES, EVENT_TABLES, REQUESTS, DEAD_LETTERS, CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS, TELEPHONY_CALLBACKS, TABLE_BY_NAME, EVENT_TABLE_FLOW, tableName, type EventTableName, type TableName, type TableSpec, type Column, type ColumnType, type Row } from './tables.js';
export { type Warehouse, type WarehouseIdentity } from './warehouse.js';
export { newestPerKey, isNewer, newerSql, newestFirstSql, versionOrder, VERSION_ORDER } from './version-rule.js';
export { createWarehouse } from './create-warehouse.js';
export { compileMatch, matchSql, valuesAt, type Condition, type MatchDialect, type OwnerGuard, type Place, type RowMatch } from './row-match.js';
