import { describe, expect, it } from 'vitest';
import { CALL_EVENTS } from '../../src/warehouse/index.js';
import { requireStorageWrite, stagedWarehouse } from '../support/bigquery-staged-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { callRow, warehouseContract } from './warehouse-contract.js';

warehouseContract(
  'bigquery staged (Storage Write API + MERGE against the emulator)',
  async () => {
    await requireStorageWrite();
    return stagedWarehouse();
  },
  bigQueryDialect,
);

describe('StagedBigQueryWarehouse', () => {
  it('merges through the staging table and leaves it empty', async () => {
    await requireStorageWrite();
    const warehouse = stagedWarehouse();
    try {
      await warehouse.ensureTables([CALL_EVENTS]);
      const rows = Array.from({ length: 50 }, (_, i) => callRow(`c-st-${i % 20}`, i));
      expect(await warehouse.upsert(CALL_EVENTS, rows)).toBe(20);
      const [target] = await warehouse.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT call_id) AS k, MAX(kafka_offset) AS top FROM ${warehouse.tableRef(CALL_EVENTS)}`);
      expect(target).toEqual({ n: 20, k: 20, top: 49 });
      const [staging] = await warehouse.query(`SELECT COUNT(*) AS n FROM ${warehouse.stagingRef(CALL_EVENTS)}`);
      expect(staging.n).toBe(0);
      expect(warehouse.staged).toMatchObject({ appends: 1, appendRetries: 0, streams: 1 });
      expect(warehouse.stats).toMatchObject({ merges: 1, rows: 20 });
    } finally {
      await warehouse.close();
    }
  });

  it('runs one MERGE for appends made meanwhile, newest per key across them, at most one per interval', async () => {
    await requireStorageWrite();
    const warehouse = stagedWarehouse({ mergeIntervalMs: 1_500 });
    try {
      await warehouse.ensureTables([CALL_EVENTS]);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-co-0', 1)]);
      const started = Date.now();
      // Three flushes while the interval runs: versions of one key, the newest in the middle.
      const changed = await Promise.all([
        warehouse.upsert(CALL_EVENTS, [callRow('c-co', 10, { received_at: Date.UTC(2026, 10, 27, 13) })]),
        warehouse.upsert(CALL_EVENTS, [callRow('c-co', 30, { received_at: Date.UTC(2026, 10, 27, 15) })]),
        warehouse.upsert(CALL_EVENTS, [callRow('c-co', 20, { received_at: Date.UTC(2026, 10, 27, 14) })]),
      ]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(warehouse.stats.merges).toBe(2);
      expect(warehouse.staged.appends).toBe(4);
      // Each upsert is told at most its own rows changed, though the MERGE covered all three (the sink's counters rely on it).
      for (const n of changed) expect(n).toBeLessThanOrEqual(1);
      const rows = await warehouse.query(`SELECT call_id, kafka_offset FROM ${warehouse.tableRef(CALL_EVENTS)} ORDER BY call_id`);
      expect(rows).toEqual([
        { call_id: 'c-co', kafka_offset: 30 },
        { call_id: 'c-co-0', kafka_offset: 1 },
      ]);
    } finally {
      await warehouse.close();
    }
  });

  it('bounds the MERGE to the partitions the staged rows touch, widened by mergeLookbackDays (at least 1 day)', async () => {
    await requireStorageWrite();
    const DAY = 86_400_000;
    const lateEvening = Date.UTC(2026, 10, 27, 23, 59, 59, 500);
    const first = callRow('c-prune', 1, { event_time: lateEvening, received_at: lateEvening });
    // Newer versions of the key whose event_time (their receipt, no occurred_at) falls on a later day.
    const version = (offset: number, ms: number) => callRow('c-prune', offset, { event_time: ms, received_at: ms });
    const offsetsAfter = async (lookback: number, later: number) => {
      const warehouse = stagedWarehouse({ mergeLookbackDays: lookback });
      try {
        await warehouse.ensureTables([CALL_EVENTS]);
        await warehouse.upsert(CALL_EVENTS, [first]);
        await warehouse.upsert(CALL_EVENTS, [version(2, later)]);
        const rows = await warehouse.query(`SELECT kafka_offset FROM ${warehouse.tableRef(CALL_EVENTS)} ORDER BY kafka_offset`);
        return rows.map((r) => r.kafka_offset);
      } finally {
        await warehouse.close();
      }
    };
    // A redelivery one second later, past midnight: found even with lookback 0.
    expect(await offsetsAfter(0, lateEvening + 1_000)).toEqual([2]);
    // Three days later: found with a lookback of 3 days...
    expect(await offsetsAfter(3, lateEvening + 3 * DAY)).toEqual([2]);
    // ...but not with 0: the stored version's partition is outside the bound, so the MERGE
    // does not see it (the documented price of pruning: set the lookback above the redelivery horizon).
    expect(await offsetsAfter(0, lateEvening + 3 * DAY)).toEqual([1, 2]);
  });
});
