import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { FlushCoordinator } from '../../src/sink/index.js';
import type { Dialect } from '../support/dialects.js';
import { CALL_EVENTS, CAMPAIGN_EVENTS, TABLES, TELEPHONY_CALLBACKS, type Row, type TableSpec, type Warehouse } from '../../src/warehouse/index.js';

const BASE = Date.UTC(2026, 10, 27, 12, 0, 0);

/** A call_events row as the sink builds it. */
export function callRow(callId: string, offset: number, extra: Partial<Row> = {}): Row {
  return {
    call_id: callId,
    event_type: 'call.completed',
    voice_session_id: 9000 + offset,
    call_sid: `CA${callId}`,
    agent_id: 42,
    direction: 'outbound',
    from_e164: '+14155550100',
    to_e164: '+919900000001',
    extracted_data: JSON.stringify({ offset, intent: 'demo' }),
    runtime_vars: '{}',
    tool_calls: JSON.stringify([{ name: 'crm.lookup' }]),
    tenant_id: 44,
    occurred_at: null,
    event_time: BASE + offset,
    payload: JSON.stringify({ event: 'call.completed', call_id: callId, offset }),
    request_id: `req-${callId}-${offset}`,
    received_at: BASE + offset,
    kafka_partition: 0,
    kafka_offset: offset,
    ingested_at: BASE + 1_000_000,
    ...extra,
  };
}

/** A telephony_callbacks row as the sink builds it (a Twilio status callback). */
export function callbackRow(vendor: string, callId: string, status: string, offset: number, extra: Partial<Row> = {}): Row {
  return {
    vendor_slug: vendor,
    provider_call_id: callId,
    callback_status: status,
    call_sid: callId,
    content_type: 'application/x-www-form-urlencoded',
    fields: JSON.stringify({ CallSid: callId, CallStatus: status, offset }),
    raw_body: `CallSid=${callId}&CallStatus=${status}&offset=${offset}`,
    occurred_at: null,
    event_time: BASE + offset,
    request_id: `req-cb-${callId}-${offset}`,
    received_at: BASE + offset,
    kafka_partition: 0,
    kafka_offset: offset,
    ingested_at: BASE + 1_000_000,
    ...extra,
  };
}

/**
 * The contract every warehouse honours, run against DuckDB and BigQuery alike:
 * same inputs, same resulting rows.
 */
export function warehouseContract(name: string, open: () => Promise<Warehouse>, dialect: Dialect): void {
  describe(`warehouse contract: ${name}`, () => {
    let warehouse: Warehouse;

    beforeAll(async () => {
      warehouse = await open();
      await warehouse.ensureTables(TABLES);
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    /** Rows of call_events for the given ids, normalized for comparison across warehouses. */
    async function read(ids: string[], spec: TableSpec = CALL_EVENTS): Promise<Array<Record<string, unknown>>> {
      const list = ids.map((id) => `'${id}'`).join(', ');
      const key = spec.keyColumns[0];
      const rows = await warehouse.query(
        `SELECT ${key} AS k, event_type, CAST(kafka_offset AS STRING) AS kafka_offset, ${dialect.epochMs('received_at')} AS received_ms, ` +
          `${dialect.jsonText('payload')} AS payload FROM ${dialect.table(warehouse, spec.name)} WHERE ${key} IN (${list}) ORDER BY k, event_type`,
      );
      return rows.map((r) => ({ ...r, received_ms: Number(r.received_ms), payload: JSON.parse(String(r.payload)) }));
    }

    it('inserts new keys with typed and JSON columns', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-insert', 3)]);
      const rows = await warehouse.query(
        `SELECT call_id, voice_session_id, direction, ${dialect.jsonText('extracted_data')} AS extracted, ${dialect.epochMs('event_time')} AS event_ms FROM ${dialect.table(warehouse, 'call_events')} WHERE call_id = 'c-insert'`,
      );
      expect(rows).toHaveLength(1);
      expect(Number(rows[0].voice_session_id)).toBe(9003);
      expect(rows[0].direction).toBe('outbound');
      expect(JSON.parse(String(rows[0].extracted))).toEqual({ offset: 3, intent: 'demo' });
      expect(Number(rows[0].event_ms)).toBe(BASE + 3);
    });

    it('keeps only the newest of duplicates within one batch', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-dup', 5), callRow('c-dup', 9), callRow('c-dup', 7)]);
      expect(await read(['c-dup'])).toEqual([expect.objectContaining({ k: 'c-dup', kafka_offset: '9' })]);
    });

    it('replaces with a newer version and ignores an older one arriving later', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-ver', 10)]);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-ver', 20)]);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-ver', 15)]);
      const [row] = await read(['c-ver']);
      expect(row).toMatchObject({ kafka_offset: '20', payload: { offset: 20 } });
    });

    it('orders versions across partitions by receipt time', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-part', 50, { kafka_partition: 0, received_at: BASE + 500 })]);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-part', 2, { kafka_partition: 3, received_at: BASE + 100 })]);
      expect((await read(['c-part']))[0]).toMatchObject({ kafka_offset: '50' });
      await warehouse.upsert(CALL_EVENTS, [callRow('c-part', 3, { kafka_partition: 3, received_at: BASE + 900 })]);
      expect((await read(['c-part']))[0]).toMatchObject({ kafka_offset: '3' });
    });

    it('never treats the same request seen again as newer, whatever its offset', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-same', 5)]);
      const before = await read(['c-same']);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-same', 500, { request_id: 'req-c-same-5', received_at: BASE + 5 })]);
      expect(await read(['c-same'])).toEqual(before);
    });

    it('orders versions re-published from the audit topic by receipt time, not offset', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-repub', 40, { received_at: BASE + 4_000 })]);
      // An older request re-published now: a higher offset, an earlier receipt. It must not win.
      await warehouse.upsert(CALL_EVENTS, [callRow('c-repub', 900, { received_at: BASE + 1_000, republished_at: BASE + 9_000 })]);
      expect((await read(['c-repub']))[0]).toMatchObject({ kafka_offset: '40' });
      // A later request re-published: it wins, and a live record below it by offset but sent earlier does not.
      await warehouse.upsert(CALL_EVENTS, [callRow('c-repub', 901, { received_at: BASE + 5_000, republished_at: BASE + 9_000 })]);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-repub', 41, { received_at: BASE + 4_500 })]);
      expect((await read(['c-repub']))[0]).toMatchObject({ kafka_offset: '901' });
    });

    it('orders versions by receipt, not position: a topic created again (offsets from 0), renamed or mirrored', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-gen', 0, { kafka_partition: 4, received_at: BASE + 1_000, request_id: 'req-gen-v1' })]);
      // The events topic was deleted and created again: v2 lands at the same partition and offset.
      await warehouse.upsert(CALL_EVENTS, [callRow('c-gen', 0, { kafka_partition: 4, received_at: BASE + 2_000, request_id: 'req-gen-v2', payload: JSON.stringify({ v: 2 }) })]);
      expect((await read(['c-gen']))[0]).toMatchObject({ payload: { v: 2 } });
      // A replay of the old generation's record, and a mirror of v1 at a higher offset, change nothing.
      await warehouse.upsert(CALL_EVENTS, [callRow('c-gen', 0, { kafka_partition: 4, received_at: BASE + 1_000, request_id: 'req-gen-v1' })]);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-gen', 90_000, { kafka_partition: 1, received_at: BASE + 1_000, request_id: 'req-gen-v1' })]);
      expect((await read(['c-gen']))[0]).toMatchObject({ payload: { v: 2 } });
    });

    it('breaks a tie in the same millisecond by request id, the same way in every order', async () => {
      const a = callRow('c-tie', 7, { received_at: BASE + 3_000, request_id: 'req-tie-a', payload: JSON.stringify({ v: 'a' }) });
      const b = callRow('c-tie', 3, { received_at: BASE + 3_000, request_id: 'req-tie-b', payload: JSON.stringify({ v: 'b' }) });
      await warehouse.upsert(CALL_EVENTS, [b]);
      await warehouse.upsert(CALL_EVENTS, [a]);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-tie2', 7, { ...a, call_id: 'c-tie2' })]);
      await warehouse.upsert(CALL_EVENTS, [callRow('c-tie2', 3, { ...b, call_id: 'c-tie2' })]);
      expect((await read(['c-tie', 'c-tie2'])).map((r) => r.payload)).toEqual([{ v: 'b' }, { v: 'b' }]);
    });

    it('keys by call id and event type: two event types, two rows', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-types', 1), callRow('c-types', 2, { event_type: 'call.analyzed' })]);
      expect((await read(['c-types'])).map((r) => r.event_type)).toEqual(['call.analyzed', 'call.completed']);
    });

    it('leaves the table unchanged when the same batch is replayed', async () => {
      const batch = [callRow('c-replay-1', 30), callRow('c-replay-2', 31), callRow('c-replay-1', 32)];
      await warehouse.upsert(CALL_EVENTS, batch);
      const checksum = `SELECT call_id, CAST(kafka_offset AS STRING) AS o, ${dialect.epochMs('ingested_at')} AS ing, ${dialect.jsonText('payload')} AS p FROM ${dialect.table(warehouse, 'call_events')} ORDER BY call_id, event_type`;
      const before = await warehouse.query(checksum);
      await warehouse.upsert(CALL_EVENTS, batch.map((r) => ({ ...r, ingested_at: BASE + 9_999_999 })));
      expect(await warehouse.query(checksum)).toEqual(before);
    });

    it('writes other families to their own tables, keyed by their entity id', async () => {
      await warehouse.upsert(CAMPAIGN_EVENTS, [
        { ...callRow('x', 1), call_id: undefined, campaign_id: 'cmp-1', event_type: 'campaign.started' } as unknown as Row,
      ]);
      expect(await read(['cmp-1'], CAMPAIGN_EVENTS)).toEqual([expect.objectContaining({ k: 'cmp-1', event_type: 'campaign.started' })]);
    });

    /** Rows of telephony_callbacks for the given provider call ids. */
    async function readCallbacks(callIds: string[]): Promise<Array<Record<string, unknown>>> {
      const list = callIds.map((id) => `'${id}'`).join(', ');
      const rows = await warehouse.query(
        `SELECT vendor_slug, provider_call_id, callback_status, call_sid, CAST(kafka_offset AS STRING) AS kafka_offset, ${dialect.jsonText('fields')} AS fields, raw_body ` +
          `FROM ${dialect.table(warehouse, TELEPHONY_CALLBACKS.name)} WHERE provider_call_id IN (${list}) ORDER BY provider_call_id, vendor_slug, callback_status`,
      );
      return rows.map((r) => ({ ...r, fields: JSON.parse(String(r.fields)) }));
    }

    it('keys telephony callbacks by (vendor, provider call id, status): a call\'s lifecycle is a set of rows', async () => {
      await warehouse.upsert(TELEPHONY_CALLBACKS, [
        callbackRow('twilio', 'CA-life', 'ringing', 1),
        callbackRow('twilio', 'CA-life', 'in-progress', 2),
        callbackRow('twilio', 'CA-life', 'completed', 3),
        callbackRow('acme-billing', 'CA-life', 'completed', 4, { content_type: 'application/json' }),
      ]);
      const rows = await readCallbacks(['CA-life']);
      expect(rows.map((r) => `${r.vendor_slug}/${r.callback_status}`)).toEqual(['acme-billing/completed', 'twilio/completed', 'twilio/in-progress', 'twilio/ringing']);
      expect(rows[1]).toMatchObject({ call_sid: 'CA-life', fields: { CallSid: 'CA-life', CallStatus: 'completed', offset: 3 }, raw_body: 'CallSid=CA-life&CallStatus=completed&offset=3' });
    });

    it('replaces a callback only with a newer version of its key, and a replayed batch changes nothing', async () => {
      await warehouse.upsert(TELEPHONY_CALLBACKS, [callbackRow('twilio', 'CA-ver', 'completed', 10), callbackRow('twilio', 'CA-ver', 'completed', 20)]);
      await warehouse.upsert(TELEPHONY_CALLBACKS, [callbackRow('twilio', 'CA-ver', 'completed', 15)]);
      await warehouse.upsert(TELEPHONY_CALLBACKS, [callbackRow('twilio', 'CA-ver', 'completed', 4, { kafka_partition: 2, received_at: BASE + 1 })]);
      const before = await readCallbacks(['CA-ver']);
      expect(before).toEqual([expect.objectContaining({ kafka_offset: '20', fields: expect.objectContaining({ offset: 20 }) })]);
      await warehouse.upsert(TELEPHONY_CALLBACKS, [callbackRow('twilio', 'CA-ver', 'completed', 20, { ingested_at: BASE + 9_999_999 })]);
      expect(await readCallbacks(['CA-ver'])).toEqual(before);
      await warehouse.upsert(TELEPHONY_CALLBACKS, [callbackRow('twilio', 'CA-ver', 'completed', 5, { kafka_partition: 2, received_at: BASE + 500 })]);
      expect(await readCallbacks(['CA-ver'])).toEqual([expect.objectContaining({ kafka_offset: '5' })]);
    });

    // Rows a warehouse cannot store for their content: each refused as the row's fault, on
    // both warehouses through the same code, so the sink dead-letters them and writes the rest.
    const unstorable: Array<[string, Partial<Row>]> = [
      ['a lone surrogate in a JSON column', { extracted_data: '{"n":"\\ud800"}' }],
      ['a lone surrogate in a JSON key', { runtime_vars: '{"\\udc00":1}' }],
      ['a time past any TIMESTAMP column', { event_time: 1e16 }],
    ];
    it.each(unstorable)('refuses a row with %s as SINK_ROW_REJECTED', async (_name, bad) => {
      await expect(warehouse.upsert(CALL_EVENTS, [callRow('c-unstorable', 1, bad)])).rejects.toMatchObject({ code: 'SINK_ROW_REJECTED' });
    });

    it('writes the rest of a batch around unstorable rows, and a batch of nothing but them does not stall', async () => {
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 1_000, intervalMs: 0 }, createLogger({ level: 'silent' }));
      const batch = [callRow('c-ok-1', 1), callRow('c-bad-1', 2, unstorable[0][1]), callRow('c-ok-2', 3), callRow('c-bad-2', 4, unstorable[2][1]), callRow('c-ok-3', 5)];
      const rejected = await flusher.add(new Map([[CALL_EVENTS, batch]]));
      expect(rejected.map((r) => r.row.call_id).sort()).toEqual(['c-bad-1', 'c-bad-2']);
      expect(rejected.every((r) => r.error.code === 'SINK_ROW_REJECTED')).toBe(true);
      expect((await read(['c-ok-1', 'c-ok-2', 'c-ok-3', 'c-bad-1', 'c-bad-2'])).map((r) => r.k)).toEqual(['c-ok-1', 'c-ok-2', 'c-ok-3']);
      const allBad = await flusher.add(new Map([[CALL_EVENTS, [callRow('c-bad-3', 6, unstorable[1][1]), callRow('c-bad-4', 7, unstorable[0][1])]]]));
      expect(allBad).toHaveLength(2);
      expect(await flusher.add(new Map([[CALL_EVENTS, [callRow('c-ok-4', 8)]]]))).toEqual([]);
      expect(await read(['c-ok-4', 'c-bad-3', 'c-bad-4'])).toHaveLength(1);
      flusher.stop();
    });

    it('erases the rows a match covers (columns, a JSON field, integers), counts them on a dry run, and finds distinct values', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-erase-1', 1, { tenant_id: 901 }), callRow('c-erase-2', 2, { tenant_id: 902, call_sid: 'CA-erase-2' }), callRow('c-keep', 3, { tenant_id: 903 })]);
      await warehouse.upsert(TELEPHONY_CALLBACKS, [callbackRow('twilio', 'CA-erase-cb', 'completed', 4, { fields: JSON.stringify({ CallSid: 'CA-erase-cb', From: 'k1:abc' }) }), callbackRow('twilio', 'CA-keep-cb', 'completed', 5)]);
      const calls = [
        { column: 'call_id', in: ['c-erase-1'] },
        { column: 'tenant_id', in: [902] },
        { column: 'from_e164', in: [] },
      ];
      expect(await warehouse.distinctValues(CALL_EVENTS, calls, 'call_sid')).toEqual(expect.arrayContaining(['CAc-erase-1', 'CA-erase-2']));
      expect(await warehouse.eraseRows(CALL_EVENTS, calls, { dryRun: true })).toBe(2);
      expect((await read(['c-erase-1', 'c-erase-2'])).length).toBe(2);
      expect(await warehouse.eraseRows(CALL_EVENTS, calls, { dryRun: false })).toBe(2);
      expect(await read(['c-erase-1', 'c-erase-2', 'c-keep'])).toEqual([expect.objectContaining({ k: 'c-keep' })]);
      const callbacks = [{ json: 'fields', keys: ['From', 'To'], in: ['k1:abc'] }];
      expect(await warehouse.eraseRows(TELEPHONY_CALLBACKS, callbacks, { dryRun: false })).toBe(1);
      const left = await warehouse.query(`SELECT provider_call_id FROM ${dialect.table(warehouse, 'telephony_callbacks')} WHERE provider_call_id IN ('CA-erase-cb', 'CA-keep-cb')`);
      expect(left).toEqual([{ provider_call_id: 'CA-keep-cb' }]);
      expect(await warehouse.eraseRows(CALL_EVENTS, [], { dryRun: false })).toBe(0); // no condition: no row
    });

    it('erases by a call id only the rows of the tenants a match binds it to, and rows naming no tenant', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('c-own-1', 1, { tenant_id: 911 }), callRow('c-own-2', 2, { tenant_id: 912 }), callRow('c-own-3', 3, { tenant_id: null })]);
      const calls = [{ column: 'call_id', in: ['c-own-1', 'c-own-2', 'c-own-3'], owner: { column: 'tenant_id', in: [911] } }];
      expect(await warehouse.distinctValues(CALL_EVENTS, calls, 'call_id')).toEqual(expect.arrayContaining(['c-own-1', 'c-own-3']));
      expect(await warehouse.eraseRows(CALL_EVENTS, calls, { dryRun: true })).toBe(2);
      expect(await warehouse.eraseRows(CALL_EVENTS, calls, { dryRun: false })).toBe(2);
      expect((await read(['c-own-1', 'c-own-2', 'c-own-3'])).map((r) => r.k)).toEqual(['c-own-2']);
      const noTenant = [{ column: 'call_id', in: ['c-own-2'], owner: { column: 'tenant_id', in: [] } }];
      expect(await warehouse.eraseRows(CALL_EVENTS, noTenant, { dryRun: false })).toBe(0);
    });

    it('creates tables idempotently', async () => {
      await warehouse.ensureTables(TABLES);
      expect((await read(['c-insert'])).length).toBe(1);
    });
  });
}
