import type { ColumnType, Row, TableSpec } from '../../src/warehouse/index.js';

const FILLER: Record<ColumnType, (column: string, at: number) => string | number> = {
  STRING: (column) => `${column}-1`,
  INT64: () => 0,
  TIMESTAMP: (_column, at) => at,
  JSON: () => '{}',
};

/**
 * A row of any table as the sink hands it over: the given values, a filler for every other
 * required column (times at `at`), NULL for the rest. For tests that care about a few
 * columns of a table whose other columns may still grow.
 */
export function rowFor(spec: TableSpec, values: Partial<Row>, at = Date.now()): Row {
  return Object.fromEntries(spec.columns.map((c) => [c.name, c.name in values ? (values[c.name] ?? null) : c.required ? FILLER[c.type](c.name, at) : null]));
}
