import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type TableSpec } from '../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckdbDialect } from '../support/dialects.js';
import { viewsContract } from './views-contract.js';
import { warehouseContract } from './warehouse-contract.js';

const viewsFile = join(mkdtempSync(join(tmpdir(), 'callstream-views-')), 'w.duckdb');

warehouseContract('duckdb', () => DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-duck-')), 'w.duckdb')), duckdbDialect);

describe('DuckDbWarehouse', () => {
  it('adds new nullable columns when the table spec gains them, keeping the rows', async () => {
    const warehouse = await DuckDbWarehouse.open(':memory:');
    const v1: TableSpec = { name: 'evolving', keyColumns: ['call_id', 'event_type'], clusterBy: ['call_id'], columns: [
      { name: 'call_id', type: 'STRING', required: true, description: '' },
      { name: 'event_type', type: 'STRING', required: true, description: '' },
    ] };
    await warehouse.ensureTables([v1]);
    const v2: TableSpec = { ...v1, columns: [...v1.columns, { name: 'sentiment', type: 'STRING', description: '' }] };
    await warehouse.ensureTables([v2]);
    const columns = await warehouse.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'evolving' ORDER BY ordinal_position");
    expect(columns.map((c) => c.column_name)).toEqual(['call_id', 'event_type', 'sentiment']);
    await warehouse.close();
  });

  it('runs queries read-only', async () => {
    const warehouse = await DuckDbWarehouse.open(':memory:');
    await expect(warehouse.query('CREATE TABLE sneaky (a INT)')).rejects.toMatchObject({ code: 'WH_QUERY_REFUSED' });
    await warehouse.close();
  });
});
viewsContract('duckdb', (views) => DuckDbWarehouse.open(viewsFile, { views }), duckdbDialect);
