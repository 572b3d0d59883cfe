import { describe, expect, it } from 'vitest';
import { CALL_EVENTS, type Row } from '../../src/warehouse/index.js';
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

  it('finds the stored version on another day than the staged rows, whatever mergeLookbackDays', async () => {
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
    // Three days later: found with a lookback of 3 days, and with 0 too (the stored version's
    // day is looked up before the MERGE, so the bound holds it whatever the lookback).
    expect(await offsetsAfter(3, lateEvening + 3 * DAY)).toEqual([2]);
    expect(await offsetsAfter(0, lateEvening + 3 * DAY)).toEqual([2]);
  });

  describe('one row per key, whatever the days of its versions (flush of one record, one write in flight, lookback 1)', () => {
    const DAY = 86_400_000;
    /** Upserts each batch as its own flush and MERGE, then returns the key's rows (offset and event time). */
    let merges: string[] = [];
    async function rowsAfter(...flushes: Row[][]): Promise<Array<Record<string, unknown>>> {
      const warehouse = stagedWarehouse({ mergeLookbackDays: 1, stagedWritesInFlight: 1 });
      try {
        await warehouse.ensureTables([CALL_EVENTS]);
        merges = [];
        const client = (warehouse as unknown as { client: { createQueryJob(q: { query: string }): Promise<unknown> } }).client;
        const createQueryJob = client.createQueryJob.bind(client);
        client.createQueryJob = (q) => {
          if (q.query.startsWith('MERGE')) merges.push(q.query);
          return createQueryJob(q);
        };
        for (const rows of flushes) await warehouse.upsert(CALL_EVENTS, rows);
        return await warehouse.query(
          `SELECT kafka_offset, UNIX_MILLIS(event_time) AS event_ms FROM ${warehouse.tableRef(CALL_EVENTS)} WHERE call_id = 'd1' ORDER BY kafka_offset`,
        );
      } finally {
        await warehouse.close();
      }
    }
    const version = (offset: number, occurredAt: string, receivedAt: number) =>
      callRow('d1', offset, { occurred_at: Date.parse(occurredAt), event_time: Date.parse(occurredAt), received_at: receivedAt });
    const received = Date.UTC(2026, 11, 2, 0, 1);

    it('a newer version on an earlier day than the stored one replaces it', async () => {
      const rows = await rowsAfter([version(1, '2026-12-02T00:00:05Z', received)], [version(2, '2026-12-01T23:59:58Z', received + 1_000)]);
      expect(rows).toEqual([{ kafka_offset: 2, event_ms: Date.parse('2026-12-01T23:59:58Z') }]);
      // Still bounded: the second MERGE reads the staged row's day and the stored version's, nothing else.
      expect(merges[1]).toContain("(T.event_time >= TIMESTAMP '2026-12-01 00:00:00+00' AND T.event_time < TIMESTAMP '2026-12-03 00:00:00+00')");
    });

    it('a replayed older version on an earlier day, in a MERGE of its own, changes nothing', async () => {
      const older = version(1, '2026-11-20T10:00:00Z', received);
      const newer = version(2, '2026-12-02T10:00:00Z', received + 1_000);
      expect(await rowsAfter([older], [newer], [older])).toEqual([{ kafka_offset: 2, event_ms: Date.parse('2026-12-02T10:00:00Z') }]);
      // Two days twelve days apart: two ranges, not one spanning the days between.
      expect(merges[2]).toContain(
        "((T.event_time >= TIMESTAMP '2026-11-20 00:00:00+00' AND T.event_time < TIMESTAMP '2026-11-21 00:00:00+00') OR (T.event_time >= TIMESTAMP '2026-12-02 00:00:00+00' AND T.event_time < TIMESTAMP '2026-12-03 00:00:00+00'))",
      );
    });

    it('a newer version more than the lookback after the stored one replaces it', async () => {
      const first = callRow('d1', 1, { event_time: received, received_at: received });
      const later = callRow('d1', 2, { event_time: received + 9 * DAY, received_at: received + 9 * DAY });
      expect(await rowsAfter([first], [later])).toEqual([{ kafka_offset: 2, event_ms: received + 9 * DAY }]);
    });
  });
});
