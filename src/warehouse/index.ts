export { TABLES, CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS, TELEPHONY_CALLBACKS, tableForFamily, type TableSpec, type Column, type ColumnType, type Row } from './tables.js';
export { newestPerKey, isNewer, newerSql, type Warehouse } from './warehouse.js';
export { DuckDbWarehouse } from './duckdb/duckdb-warehouse.js';
export { BigQueryWarehouse, chunkBySize, type MergeStats } from './bigquery/bigquery-warehouse.js';
export { classifyBigQueryError } from './bigquery/classify-error.js';
export { createWarehouse } from './create-warehouse.js';
