import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALL_EVENTS, isNewer, newestPerKey, REQUESTS, type Row, type Warehouse } from '../../src/warehouse/index.js';
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
 *
 * The requests table orders by its own version order (then the higher status): its histories
 * are one request's audit records, with receipt ties between different statuses (a 202 and
 * the 413 that replaced it) and the same record read again at other offsets; the stored row's
 * receipt, status and offset must be those the TypeScript rule keeps, batch by batch.
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

/** Statuses one request's audit records may say (a 202 re-decided as 413 ties with it on receipt). */
const STATUSES = [200, 202, 413, 503];

/**
 * One request's audit records: few receipt times (so statuses tie on them), each record (a
 * receipt and a status) read one or more times at its own offsets.
 */
const requestHistory = (key: string) =>
  fc
    .array(fc.record({ at: fc.nat(2), status: fc.nat(STATUSES.length - 1), kafka_offset: fc.nat(50), batch: fc.nat(3) }), { minLength: 1, maxLength: 10 })
    .map((versions): History => {
      const batches: Row[][] = [[], [], [], []];
      for (const v of versions) {
        const at = T0 + v.at;
        batches[v.batch].push(rowFor(REQUESTS, { request_id: key, status: STATUSES[v.status], received_at: at, event_time: at, ingested_at: at, kafka_offset: v.kafka_offset }, T0));
      }
      return { key, batches };
    });

function expected(h: History): string {
  return String(newestPerKey(CALL_EVENTS, h.batches.flat())[0].request_id);
}

/** The requests row a history leaves, written batch by batch: each batch's newest replaces the stored row only when newer. */
function expectedRequest(h: History): Row {
  let stored: Row | undefined;
  for (const batch of h.batches) {
    const [newest] = newestPerKey(REQUESTS, batch);
    if (newest && (!stored || isNewer(REQUESTS, newest, stored))) stored = newest;
  }
  return stored!;
}

async function runAgainst(open: () => Promise<Warehouse>, dialect: Dialect, cases: number): Promise<void> {
  const histories = Array.from({ length: cases }, (_, n) => fc.sample(history(`vk_${n}`), { numRuns: 1, seed: 42 + n })[0]);
  const requestHistories = Array.from({ length: cases }, (_, n) => fc.sample(requestHistory(`rq_${n}`), { numRuns: 1, seed: 42 + n })[0]);
  const warehouse = await open();
  try {
    await warehouse.ensureTables([CALL_EVENTS, REQUESTS]);
    for (let b = 0; b < 4; b++) {
      const rows = histories.flatMap((h) => h.batches[b]);
      if (rows.length > 0) await warehouse.upsert(CALL_EVENTS, rows);
      const requests = requestHistories.flatMap((h) => h.batches[b]);
      if (requests.length > 0) await warehouse.upsert(REQUESTS, requests);
    }
    const stored = await warehouse.query(`SELECT call_id, request_id, count(*) OVER (PARTITION BY call_id) AS n FROM ${dialect.table(warehouse, CALL_EVENTS.name)}`);
    const byKey = new Map(stored.map((r) => [String(r.call_id), r]));
    for (const h of histories) {
      expect(byKey.get(h.key)?.request_id, `${h.key}: ${JSON.stringify(h.batches.map((b) => b.map((r) => r.request_id)))}`).toBe(expected(h));
      expect(Number(byKey.get(h.key)?.n), `${h.key} has one row`).toBe(1);
    }
    expect(stored.length).toBe(cases);

    const requests = await warehouse.query(
      `SELECT request_id, ${dialect.epochMs('received_at')} AS received_at, status, kafka_offset, count(*) OVER (PARTITION BY request_id) AS n FROM ${dialect.table(warehouse, REQUESTS.name)}`,
    );
    const byRequest = new Map(requests.map((r) => [String(r.request_id), r]));
    for (const h of requestHistories) {
      const want = expectedRequest(h);
      const got = byRequest.get(h.key);
      const versions = JSON.stringify(h.batches.map((b) => b.map((r) => `${Number(r.received_at) - T0}/${r.status}@${r.kafka_offset}`)));
      expect({ received_at: Number(got?.received_at), status: Number(got?.status), kafka_offset: Number(got?.kafka_offset) }, `${h.key}: ${versions}`).toEqual({
        received_at: want.received_at,
        status: want.status,
        kafka_offset: want.kafka_offset,
      });
      // Said without the TypeScript rule: the latest receipt's highest status, whichever came first.
      const latest = Math.max(...h.batches.flat().map((r) => Number(r.received_at)));
      const decided = Math.max(...h.batches.flat().filter((r) => r.received_at === latest).map((r) => Number(r.status)));
      expect({ received_at: Number(got?.received_at), status: Number(got?.status) }, `${h.key}: ${versions}`).toEqual({ received_at: latest, status: decided });
      expect(Number(got?.n), `${h.key} has one row`).toBe(1);
    }
    expect(requests.length).toBe(cases);
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
