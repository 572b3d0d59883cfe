import type { BigQuerySettings, Config } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BigQueryWarehouse } from './bigquery/bigquery-warehouse.js';
import { viewSettings } from '../config/view-settings.js';
import type { Warehouse } from './warehouse.js';

/**
 * Opens the warehouse the config names: the embedded DuckDB file, or BigQuery from the
 * connector's settings (the parameter MERGE, or the staged mode through the Storage Write
 * API when writeMode is "staged"). Each implementation is imported only here, when it is chosen.
 */
export async function createWarehouse(config: Config, duckDbFile: string, bigquery: BigQuerySettings | undefined, logger: Logger): Promise<Warehouse> {
  if (config.warehouse === 'duckdb') {
    const { DuckDbWarehouse } = await import('./duckdb/duckdb-warehouse.js');
    return DuckDbWarehouse.open(duckDbFile, { queryTimeoutMs: config.queryTimeoutMs, queryMaxRows: config.queryMaxRows, views: viewSettings(config), memoryLimit: config.duckdbMemoryLimit });
  }
  if (!bigquery) {
    throw new CallstreamError('CFG_INVALID', 'CALLSTREAM_WAREHOUSE=bigquery needs a connector file with a "bigquery" section (CALLSTREAM_CONNECTOR or --connector)');
  }
  if (bigquery.writeMode === 'staged') {
    const { StagedBigQueryWarehouse } = await import('./bigquery/staged-warehouse.js');
    return withViews(new StagedBigQueryWarehouse(bigquery, logger.child({ component: 'bigquery' })), config);
  }
  const { BigQueryWarehouse } = await import('./bigquery/bigquery-warehouse.js');
  return withViews(new BigQueryWarehouse(bigquery, logger.child({ component: 'bigquery' })), config);
}

/** A BigQuery warehouse whose views follow the config's CALLSTREAM_VIEWS_* settings. */
function withViews<T extends BigQueryWarehouse>(warehouse: T, config: Config): T {
  warehouse.viewSettings = viewSettings(config);
  return warehouse;
}
