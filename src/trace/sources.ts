import { existsSync } from 'node:fs';
import { duckDbPath, type BigQuerySettings, type Config } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import { askOverSocket, querySocketPath } from '../query-socket/index.js';
import { TABLES } from '../warehouse/index.js';
import type { BigQueryWarehouse } from '../warehouse/bigquery/bigquery-warehouse.js';
import type { TraceSource } from './lookup.js';

/** A trace source, and what to close when the trace is done. */
export interface OpenSource {
  source: TraceSource;
  close(): Promise<void>;
}

const quote = (name: string) => `"${name}"`;

/**
 * The embedded DuckDB warehouse: through the running pipeline's query socket (DuckDB lets no
 * second process open the file), else the file itself, read-only. Both apply the query rules
 * and limits of `callstream query`.
 */
export async function openDuckDbSource(config: Config): Promise<OpenSource> {
  const socket = querySocketPath(config.dataDir);
  const probe = await askOverSocket(socket, 'SELECT 1 AS ok');
  if (probe) {
    const ask = async (sql: string) => {
      const answer = await askOverSocket(socket, sql);
      if (!answer) throw new CallstreamError('WH_QUERY_FAILED', 'The pipeline stopped during the trace (its query socket went away)');
      return answer.rows;
    };
    return { source: duckDbSource(ask), close: async () => undefined };
  }
  const path = duckDbPath(config);
  // CFG_INVALID: CALLSTREAM_DATA_DIR (or the default ./data) does not point at a warehouse.
  if (!existsSync(path)) throw new CallstreamError('CFG_INVALID', `No warehouse at ${path}: start the pipeline first (npm start), or set CALLSTREAM_DATA_DIR`);
  const { DuckDbWarehouse } = await import('../warehouse/duckdb/duckdb-warehouse.js');
  const warehouse = await DuckDbWarehouse.open(path, { readOnly: true, queryTimeoutMs: config.queryTimeoutMs, queryMaxRows: config.queryMaxRows });
  return { source: duckDbSource(async (sql) => (await warehouse.boundedQuery(sql)).rows), close: () => warehouse.close() };
}

/** DuckDB's SQL for the trace, over any way of asking it (the query socket, the file, a warehouse in a test or the bench). */
export function duckDbSource(ask: TraceSource['ask']): TraceSource {
  return { kind: 'duckdb', ask, table: quote, epochMs: (c) => `epoch_ms(${c})`, timestamp: (ms) => `to_timestamp(${ms} / 1000.0)` };
}

/** BigQuery's SQL for the trace, over an open BigQueryWarehouse (fully qualified table names). */
export function bigQuerySource(warehouse: BigQueryWarehouse): TraceSource {
  // A table fully qualified; one of the analysts' views (call_gaps) as query() names it.
  const table = (name: string) => {
    const spec = TABLES.find((t) => t.name === name);
    return spec ? warehouse.tableRef(spec) : warehouse.viewRef(name);
  };
  return { kind: 'bigquery', ask: (sql) => warehouse.query(sql), table, epochMs: (c) => `UNIX_MILLIS(${c})`, timestamp: (ms) => `TIMESTAMP_MILLIS(${ms})` };
}

/** BigQuery, through the official client, with the connector's dataset and table prefix. */
export async function openBigQuerySource(settings: BigQuerySettings, logger: Logger): Promise<OpenSource> {
  const { BigQueryWarehouse } = await import('../warehouse/bigquery/bigquery-warehouse.js');
  const warehouse = new BigQueryWarehouse(settings, logger.child({ component: 'bigquery' }));
  return { source: bigQuerySource(warehouse), close: () => warehouse.close() };
}
