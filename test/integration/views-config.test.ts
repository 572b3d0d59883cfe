import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { createWarehouse, TABLES, type Warehouse } from '../../src/warehouse/index.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';

const ENV = { CALLSTREAM_VIEWS_OUTCOME_FIELD: 'result', CALLSTREAM_VIEWS_CALLS_FIELDS: 'score:INT64,sentiment' };

/**
 * The columns of `calls` once the warehouse ensured its tables, as a started sink leaves it:
 * one row of NULLs joined to the (empty) view shows its column names on both engines.
 */
async function callsColumns(warehouse: Warehouse): Promise<string[]> {
  try {
    await warehouse.ensureTables(TABLES);
    const [row] = await warehouse.query('SELECT c.* FROM (SELECT 1 AS one) o LEFT JOIN calls c ON FALSE');
    return Object.keys(row);
  } finally {
    await warehouse.close();
  }
}

describe('createWarehouse: the views follow CALLSTREAM_VIEWS_*', () => {
  const tail = ['talk_seconds', 'score', 'sentiment'];

  it('on DuckDB', async () => {
    const config = loadConfig(ENV);
    const warehouse = await createWarehouse(config, ':memory:', undefined, createLogger({ level: 'silent' }));
    expect((await callsColumns(warehouse)).slice(-3)).toEqual(tail);
  });

  it('on BigQuery (the emulator)', async () => {
    await requireEmulator();
    const config = loadConfig(ENV, { warehouse: 'bigquery' });
    const warehouse = await createWarehouse(config, ':memory:', emulatorWarehouse().settings, createLogger({ level: 'silent' }));
    expect((await callsColumns(warehouse)).slice(-3)).toEqual(tail);
  });
});
