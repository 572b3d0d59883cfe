import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigQuerySource, duckDbSource, traceCall, type TraceSource } from '../../src/trace/index.js';
import { CALL_EVENTS, DEAD_LETTERS, REQUESTS, TABLES, TELEPHONY_CALLBACKS, type Row, type Warehouse } from '../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { rowFor } from '../support/table-rows.js';

/**
 * The trace's lookups on both warehouses (the SQL differs: table names, time functions): the
 * same rows give the same story, joined across the flows, and --since bounds it. The whole
 * path through the pipeline and the CLI is test/e2e/trace.test.ts.
 */

const T0 = Date.parse('2026-11-30T10:00:00Z');
const CALL = 'vs_trace_1';
const SID = 'CA0000trace0001';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function request(id: string, at: number, values: Partial<Row>): Row {
  return rowFor(REQUESTS, { request_id: id, received_at: at, event_time: at, ingested_at: at + 5, flow: 'callaro', status: 202, method: 'POST', route: '/callaro/webhooks', body_bytes: 100, kafka_partition: 1, kafka_offset: at - T0, ...values }, at);
}

/** A call delivered twice, refused once, dead-lettered once, with two callbacks; and another call that must stay out. */
async function fill(warehouse: Warehouse): Promise<void> {
  await warehouse.ensureTables(TABLES);
  await warehouse.upsert(REQUESTS, [
    request('r1', T0, { entity_key: CALL, verified_by: 'bearer #1', trace_id: TRACE_ID }),
    request('r2', T0 + 1000, { entity_key: CALL, verified_by: 'bearer #1' }),
    request('r3', T0 + 2000, { entity_key: CALL, status: 422, error_code: 'RCV_SCHEMA_INVALID', call_sid: SID }),
    request('r4', T0 + 3000, { flow: 'telephony', route: '/api/v1/webhooks/telephony/twilio', entity_key: SID, verified_by: 'twilio: twilio #1' }),
    request('r5', T0 + 4000, { flow: 'telephony', route: '/api/v1/webhooks/telephony/twilio', entity_key: SID, verified_by: 'twilio: twilio #2' }),
    request('other', T0 + 500, { entity_key: 'vs_other' }),
  ]);
  await warehouse.upsert(CALL_EVENTS, [
    rowFor(CALL_EVENTS, { call_id: CALL, event_type: 'call.completed', call_sid: SID, request_id: 'r2', received_at: T0 + 1000, event_time: T0 + 1000, ingested_at: T0 + 1100, kafka_partition: 3, kafka_offset: 77 }, T0),
    rowFor(CALL_EVENTS, { call_id: 'vs_other', event_type: 'call.completed', call_sid: 'CA_other', request_id: 'other', received_at: T0 + 500, event_time: T0 + 500 }, T0),
  ]);
  await warehouse.upsert(TELEPHONY_CALLBACKS, [
    rowFor(TELEPHONY_CALLBACKS, { vendor_slug: 'twilio', provider_call_id: SID, callback_status: 'ringing', call_sid: SID, request_id: 'r4', received_at: T0 + 3000, event_time: T0 + 3000, ingested_at: T0 + 3100 }, T0),
    rowFor(TELEPHONY_CALLBACKS, { vendor_slug: 'twilio', provider_call_id: SID, callback_status: 'completed', call_sid: SID, request_id: 'r5', received_at: T0 + 4000, event_time: T0 + 4000, ingested_at: T0 + 4100 }, T0),
  ]);
  await warehouse.upsert(DEAD_LETTERS, [
    rowFor(DEAD_LETTERS, { source_topic: 'events', source_partition: 3, source_offset: 78, flow: 'callaro', entity_key: CALL, error_code: 'CODEC_BAD_FRAME', reason: 'not avro', request_id: 'unknown', received_at: T0 + 5000, event_time: T0 + 5000, value_bytes: 8 }, T0),
  ]);
}

function traceContract(name: string, open: () => Promise<{ warehouse: Warehouse; source: TraceSource }>) {
  describe(`trace lookups on ${name}`, () => {
    let warehouse: Warehouse;
    let source: TraceSource;
    beforeAll(async () => {
      ({ warehouse, source } = await open());
      await fill(warehouse);
    }, 120_000);
    afterAll(async () => warehouse?.close());

    it('tells the whole story from the call id, joined across both flows, and nothing of other calls', async () => {
      const story = await traceCall(source, CALL, {});
      expect(story.requests.map((r) => [r.request_id, r.status, r.error_code, r.verified_by])).toEqual([
        ['r1', 202, null, 'bearer #1'],
        ['r2', 202, null, 'bearer #1'],
        ['r3', 422, 'RCV_SCHEMA_INVALID', null],
        ['r4', 202, null, 'twilio: twilio #1'],
        ['r5', 202, null, 'twilio: twilio #2'],
      ]);
      expect(story.requests[0]).toMatchObject({ received_at: T0, kafka_partition: 1, kafka_offset: 0, body_bytes: 100, flow: 'callaro', route: '/callaro/webhooks' });
      expect(story.requests.map((r) => r.trace_id)).toEqual([TRACE_ID, null, null, null, null]);
      expect(story.rows.map((r) => [r.table, Object.values(r.key).join('/'), r.request_id])).toEqual([
        ['call_events', `${CALL}/call.completed`, 'r2'],
        ['telephony_callbacks', `twilio/${SID}/ringing`, 'r4'],
        ['telephony_callbacks', `twilio/${SID}/completed`, 'r5'],
      ]);
      expect(story.rows[0]).toMatchObject({ kafka_partition: 3, kafka_offset: 77, ingested_at: T0 + 1100, call_sid: SID });
      expect(story.dead_letters).toEqual([expect.objectContaining({ source_offset: 78, error_code: 'CODEC_BAD_FRAME', reason: 'not avro', event_time: T0 + 5000 })]);
      expect(story.joined).toEqual({ call_ids: [CALL], call_sids: [SID], request_ids: ['r1', 'r2', 'r3', 'r4', 'r5'] });
    });

    it('tells the same story from the call_sid or a request id, and bounds it with --since', async () => {
      const byCall = await traceCall(source, CALL, {});
      for (const id of [SID, 'r3', 'r5']) {
        const story = await traceCall(source, id, {});
        expect([story.requests, story.rows, story.dead_letters], id).toEqual([byCall.requests, byCall.rows, byCall.dead_letters]);
      }
      // --since bounds every table searched (BigQuery's partition filter), joins included.
      const late = await traceCall(source, SID, { sinceMs: T0 + 2500 });
      expect(late.requests.map((r) => r.request_id)).toEqual(['r4', 'r5']);
      expect(late.rows.map((r) => r.request_id)).toEqual(['r4', 'r5']);
      const lateByCall = await traceCall(source, CALL, { sinceMs: T0 + 2500 });
      expect([lateByCall.requests, lateByCall.rows, lateByCall.dead_letters.map((d) => d.source_offset)]).toEqual([[], [], [78]]);
      expect((await traceCall(source, 'vs_nobody', {})).requests).toEqual([]);
    });
  });
}

traceContract('DuckDB', async () => {
  const warehouse = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-trace-')), 'w.duckdb'));
  return { warehouse, source: duckDbSource(async (sql) => (await warehouse.boundedQuery(sql)).rows) };
});

/**
 * `callstream trace` upgraded before the sink that adds requests.trace_id when it starts (both
 * warehouses add missing columns then): the story is told without trace ids until then.
 */
function unmigratedContract(name: string, open: () => Promise<{ warehouse: Warehouse; source: TraceSource }>) {
  it(`tells the story without trace ids (null) while requests has no trace_id column, and with them once it has (${name})`, async () => {
    const { warehouse, source } = await open();
    const before = { ...REQUESTS, columns: REQUESTS.columns.filter((c) => c.name !== 'trace_id') };
    await warehouse.ensureTables(TABLES.map((t) => (t === REQUESTS ? before : t)));
    await warehouse.upsert(before, [rowFor(before, { request_id: 'r-old', entity_key: CALL, flow: 'callaro', status: 202, received_at: T0, event_time: T0 }, T0)]);
    const story = await traceCall(source, CALL, {});
    expect(story.requests.map((r) => [r.request_id, r.trace_id])).toEqual([['r-old', null]]);

    await warehouse.ensureTables(TABLES);
    await warehouse.upsert(REQUESTS, [request('r-new', T0 + 1000, { entity_key: CALL, trace_id: TRACE_ID })]);
    const after = await traceCall(source, CALL, {});
    expect(after.requests.map((r) => [r.request_id, r.trace_id])).toEqual([['r-old', null], ['r-new', TRACE_ID]]);
    await warehouse.close();
  });
}

describe('trace lookups on a requests table the sink has not migrated yet', () => {
  unmigratedContract('DuckDB', async () => {
    const warehouse = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-trace-old-')), 'w.duckdb'));
    return { warehouse, source: duckDbSource(async (sql) => (await warehouse.boundedQuery(sql)).rows) };
  });
  unmigratedContract('BigQuery emulator', async () => {
    await requireEmulator();
    const warehouse = emulatorWarehouse();
    return { warehouse, source: bigQuerySource(warehouse) };
  });

  it('still fails on any other error', async () => {
    const broken = duckDbSource(() => Promise.reject(new Error('Catalog Error: Table with name requests does not exist!')));
    await expect(traceCall(broken, CALL, {})).rejects.toThrow(/does not exist/);
  });

  it('does not take an error that quotes the query (naming trace_id) for a missing column', async () => {
    const asked: string[] = [];
    const timedOut = duckDbSource((sql) => {
      if (!sql.includes('trace_id') && !sql.includes('NULL AS trace_id')) return Promise.resolve([]);
      asked.push(sql);
      return Promise.reject(new Error(`WH_QUERY_TIMEOUT: the query ran past 30000 ms: ${sql}`));
    });
    await expect(traceCall(timedOut, CALL, {})).rejects.toThrow(/WH_QUERY_TIMEOUT/);
    expect(asked).toHaveLength(1); // not asked again without trace_id
  });
});

traceContract('BigQuery (official client against the emulator)', async () => {
  await requireEmulator();
  const warehouse = emulatorWarehouse();
  return { warehouse, source: bigQuerySource(warehouse) };
});
