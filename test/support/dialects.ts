import { TABLES, type Warehouse } from '../../src/warehouse/index.js';
import { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';

/** What differs between the warehouses' SQL in the tests' read-back queries. */
export interface Dialect {
  table(warehouse: Warehouse, name: string): string;
  epochMs(column: string): string;
  jsonText(column: string): string;
  /** An order-independent checksum of a whole table: count and XOR of row hashes. */
  checksum(warehouse: Warehouse, table: string): string;
}

export const duckdbDialect: Dialect = {
  table: (_warehouse, name) => name,
  epochMs: (column) => `epoch_ms(${column})`,
  jsonText: (column) => `CAST(${column} AS VARCHAR)`,
  checksum: (_warehouse, table) => `SELECT count(*) AS n, CAST(bit_xor(hash(to_json(t))) AS VARCHAR) AS x FROM ${table} t`,
};

export const bigQueryDialect: Dialect = {
  table: (warehouse, name) => (warehouse as BigQueryWarehouse).tableRef(TABLES.find((t) => t.name === name)!),
  epochMs: (column) => `UNIX_MILLIS(${column})`,
  jsonText: (column) => `TO_JSON_STRING(${column})`,
  checksum: (warehouse, table) =>
    `SELECT COUNT(*) AS n, CAST(BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(t))) AS STRING) AS x FROM ${bigQueryDialect.table(warehouse, table)} t`,
};
