import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALL_EVENTS, newestPerKey, type Row, type Warehouse } from '../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { requireStorageWrite, stagedWarehouse } from '../support/bigquery-staged-emulator.js';
import { bigQueryDialect, duckdbDialect, type Dialect } from '../support/dialects.js';
import { rowFor } from '../support/table-rows.js';

/**
 * The version rule lives twice: isNewer / newestPerKey in TypeScript (within a batch) and
 * newerSql in each warehouse's MERGE (across batches; the staged BigQuery mode also picks the
 * newest staged row in SQL). Random histories of one key each (receipt ties, the same request
 * read again at other offsets, request ids of mixed case, any split into batches) are written
 * to each warehouse, all keys at once, batch by batch; every key must end as the TypeScript rule
 * says. A disagreement anywhere (a reversed tie-break, a >= for a >) makes keys differ.
 */

const T0 = Date.parse('2026-11-30T00:00:00Z');

interface History {
  key: string;
  batches: Row[][];
}

const REQUEST_IDS = ['r0', 'r1', 'R2', 'r3', 'a4', 'r5', 'Z6', 'r7'];

const history = (key: string) =>
  fc
    .array(fc.record({ request: fc.nat(REQUEST_IDS.length - 1), kafka_offset: fc.nat(50), batch: fc.nat(3) }), { minLength: 1, maxLength: 10 })
    .map((versions): History => {
      const batches: Row[][] = [[], [], [], []];
      for (const v of versions) {
        // One request, one receipt time wherever it is read; pairs of requests share a millisecond.
        const id = REQUEST_IDS[v.request];
        const at = T0 + Math.floor(v.request / 2);
        batches[v.batch].push(rowFor(CALL_EVENTS, { call_id: key, event_type: 'call.completed', request_id: id, received_at: at, event_time: T0, ingested_at: at, kafka_offset: v.kafka_offset, agent_id: v.request }, T0));
      }
      return { key, batches };
    });

function expected(h: History): string {
  return String(newestPerKey(CALL_EVENTS, h.batches.flat())[0].request_id);
}

async function runAgainst(open: () => Promise<Warehouse>, dialect: Dialect, cases: number): Promise<void> {
  const histories = Array.from({ length: cases }, (_, n) => fc.sample(history(`vk_${n}`), { numRuns: 1, seed: 42 + n })[0]);
  const warehouse = await open();
  try {
    await warehouse.ensureTables([CALL_EVENTS]);
    for (let b = 0; b < 4; b++) {
      const rows = histories.flatMap((h) => h.batches[b]);
      if (rows.length > 0) await warehouse.upsert(CALL_EVENTS, rows);
    }
    const stored = await warehouse.query(`SELECT call_id, request_id, count(*) OVER (PARTITION BY call_id) AS n FROM ${dialect.table(warehouse, CALL_EVENTS.name)}`);
    const byKey = new Map(stored.map((r) => [String(r.call_id), r]));
    for (const h of histories) {
      expect(byKey.get(h.key)?.request_id, `${h.key}: ${JSON.stringify(h.batches.map((b) => b.map((r) => r.request_id)))}`).toBe(expected(h));
      expect(Number(byKey.get(h.key)?.n), `${h.key} has one row`).toBe(1);
    }
    expect(stored.length).toBe(cases);
  } finally {
    await warehouse.close();
  }
}

describe('the version rule agrees in TypeScript and in each warehouse\'s SQL (random histories)', () => {
  it('DuckDB', () => runAgainst(() => DuckDbWarehouse.open(':memory:'), duckdbDialect, 300));

  it('BigQuery, parameter MERGE (official client against the emulator)', async () => {
    await requireEmulator();
    await runAgainst(async () => emulatorWarehouse(), bigQueryDialect, 150);
  });

  it('BigQuery, staged mode (Storage Write API appends, then the staged MERGE)', { timeout: 180_000 }, async () => {
    await requireStorageWrite();
    await runAgainst(async () => stagedWarehouse(), bigQueryDialect, 150);
  });
});
