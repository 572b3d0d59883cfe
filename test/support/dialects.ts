import { TABLES, type Warehouse } from '../../src/warehouse/index.js';
import { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';

/** What differs between the warehouses' SQL in the tests' read-back queries. */
export interface Dialect {
  table(warehouse: Warehouse, name: string): string;
  epochMs(column: string): string;
  jsonText(column: string): string;
  /** A JSON column's string value at a path such as '$.From'. */
  jsonValue(column: string, path: string): string;
  /** A whole row of table alias t as JSON text (every column). */
  rowText(): string;
  /** An order-independent checksum of a whole table: count and XOR of row hashes. */
  checksum(warehouse: Warehouse, table: string): string;
}

export const duckdbDialect: Dialect = {
  table: (_warehouse, name) => name,
  epochMs: (column) => `epoch_ms(${column})`,
  jsonText: (column) => `CAST(${column} AS VARCHAR)`,
  jsonValue: (column, path) => `json_extract_string(${column}, '${path}')`,
  rowText: () => 'CAST(to_json(t) AS VARCHAR)',
  checksum: (_warehouse, table) => `SELECT count(*) AS n, CAST(bit_xor(hash(to_json(t))) AS VARCHAR) AS x FROM ${table} t`,
};

export const bigQueryDialect: Dialect = {
  table: (warehouse, name) => (warehouse as BigQueryWarehouse).tableRef(TABLES.find((t) => t.name === name)!),
  epochMs: (column) => `UNIX_MILLIS(${column})`,
  jsonText: (column) => `TO_JSON_STRING(${column})`,
  jsonValue: (column, path) => `JSON_VALUE(${column}, '${path}')`,
  rowText: () => 'TO_JSON_STRING(t)',
  checksum: (warehouse, table) =>
    `SELECT COUNT(*) AS n, CAST(BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(t))) AS STRING) AS x FROM ${bigQueryDialect.table(warehouse, table)} t`,
};
