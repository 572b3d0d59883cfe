import type { BigQuerySettings, Config } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Warehouse } from './warehouse.js';

/**
 * Opens the warehouse the config names: the embedded DuckDB file, or BigQuery from the
 * connector's settings. Each implementation is imported only here, when it is chosen.
 */
export async function createWarehouse(config: Config, duckDbFile: string, bigquery: BigQuerySettings | undefined, logger: Logger): Promise<Warehouse> {
  if (config.warehouse === 'duckdb') {
    const { DuckDbWarehouse } = await import('./duckdb/duckdb-warehouse.js');
    return DuckDbWarehouse.open(duckDbFile, { queryTimeoutMs: config.queryTimeoutMs, queryMaxRows: config.queryMaxRows });
  }
  if (!bigquery) {
    throw new CallstreamError('CFG_INVALID', 'CALLSTREAM_WAREHOUSE=bigquery needs a connector file with a "bigquery" section (CALLSTREAM_CONNECTOR or --connector)');
  }
  const { BigQueryWarehouse } = await import('./bigquery/bigquery-warehouse.js');
  return new BigQueryWarehouse(bigquery, logger.child({ component: 'bigquery' }));
}
