import { describe, expect, it } from 'vitest';
import { CALL_EVENTS, type TableSpec } from '../../src/warehouse/index.js';
import { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { callRow, warehouseContract } from './warehouse-contract.js';
import { gapsContract } from './gaps-contract.js';
import { viewsContract } from './views-contract.js';
import { createLogger } from '../../src/logger.js';


warehouseContract(
  'bigquery (official client against the emulator)',
  async () => {
    await requireEmulator();
    return emulatorWarehouse();
  },
  bigQueryDialect,
);

const viewsDataset = emulatorWarehouse().settings;
viewsContract(
  'bigquery (official client against the emulator)',
  async (views) => {
    await requireEmulator();
    return Object.assign(new BigQueryWarehouse(viewsDataset, createLogger({ level: 'silent' })), { viewSettings: views });
  },
  bigQueryDialect,
);

describe('BigQueryWarehouse', () => {
  it('adds new nullable columns and refuses to retype one', async () => {
    await requireEmulator();
    const warehouse = emulatorWarehouse();
    const v1: TableSpec = { ...CALL_EVENTS, name: 'evolving', columns: CALL_EVENTS.columns.filter((c) => c.name !== 'agent_id') };
    await warehouse.ensureTables([v1]);
    await warehouse.ensureTables([{ ...v1, columns: CALL_EVENTS.columns }]);
    await warehouse.upsert({ ...v1, columns: CALL_EVENTS.columns }, [callRow('c-evolve', 1)]);
    const rows = await warehouse.query(`SELECT agent_id FROM ${warehouse.tableRef(v1)} WHERE call_id = 'c-evolve'`);
    expect(rows).toEqual([{ agent_id: 42 }]);
    const retyped = { ...v1, columns: v1.columns.map((c) => (c.name === 'direction' ? { ...c, type: 'INT64' as const } : c)) };
    await expect(warehouse.ensureTables([retyped])).rejects.toMatchObject({ code: 'CFG_INVALID' });
  });

  it('bounds the MERGE scan by the partition column when a lookback is set', async () => {
    await requireEmulator();
    const warehouse = emulatorWarehouse({ mergeLookbackDays: 3 });
    await warehouse.ensureTables([CALL_EVENTS]);
    await warehouse.upsert(CALL_EVENTS, [callRow('c-look', 1)]);
    await warehouse.upsert(CALL_EVENTS, [callRow('c-look', 2), callRow('c-look-2', 3)]);
    const rows = await warehouse.query(`SELECT call_id, kafka_offset FROM ${warehouse.tableRef(CALL_EVENTS)} ORDER BY call_id`);
    expect(rows).toEqual([
      { call_id: 'c-look', kafka_offset: 2 },
      { call_id: 'c-look-2', kafka_offset: 3 },
    ]);
  });

  it('keeps one row per key when a version falls more than the lookback after (or before) the stored one', async () => {
    await requireEmulator();
    const DAY = 86_400_000;
    const warehouse = emulatorWarehouse({ mergeLookbackDays: 1 });
    await warehouse.ensureTables([CALL_EVENTS]);
    const at = (offset: number, ms: number) => callRow('c-far', offset, { event_time: ms, received_at: ms });
    const first = Date.UTC(2026, 11, 1, 12);
    await warehouse.upsert(CALL_EVENTS, [at(1, first)]);
    // A redelivery nine days later (no occurred_at: event_time is its receipt), then the first version replayed.
    await warehouse.upsert(CALL_EVENTS, [at(2, first + 9 * DAY)]);
    await warehouse.upsert(CALL_EVENTS, [at(1, first)]);
    const rows = await warehouse.query(`SELECT kafka_offset FROM ${warehouse.tableRef(CALL_EVENTS)} WHERE call_id = 'c-far'`);
    expect(rows).toEqual([{ kafka_offset: 2 }]);
  });

  it('splits a batch into several MERGEs only when it would pass the request size limit', async () => {
    await requireEmulator();
    const warehouse = emulatorWarehouse({ maxRequestBytes: 20_000 });
    await warehouse.ensureTables([CALL_EVENTS]);
    const rows = Array.from({ length: 40 }, (_, i) => callRow(`c-chunk-${i}`, i, { payload: JSON.stringify({ pad: 'x'.repeat(1500), i }) }));
    await warehouse.upsert(CALL_EVENTS, rows);
    expect(warehouse.stats.merges).toBeGreaterThan(1);
    expect(warehouse.stats.maxRequestBytes).toBeLessThanOrEqual(20_000);
    const [count] = await warehouse.query(`SELECT COUNT(*) AS n FROM ${warehouse.tableRef(CALL_EVENTS)}`);
    expect(count.n).toBe(40);
  });
});

const gapsDataset = emulatorWarehouse().settings;
gapsContract(
  'bigquery (official client against the emulator)',
  async (views) => {
    await requireEmulator();
    return Object.assign(new BigQueryWarehouse(gapsDataset, createLogger({ level: 'silent' })), { viewSettings: views });
  },
  bigQueryDialect,
);
