#!/usr/bin/env node
// `callstream trace` against a warehouse holding `requests` audited requests (the index the sink
// keeps of the audit topics): calls delivered three times (every tenth call also refused once)
// with two provider callbacks each, so requests ≈ 5.1 × calls; the call_events and
// telephony_callbacks tables hold what the sink would have written for them. Then traces
// `samples` random calls (every lookup round of each) and, as the baseline of the same run,
// one keyed SELECT on the requests table. Prints one JSON report.
//
// The tables are filled through the real DuckDbWarehouse upsert, as the sink writes them; the
// topics are not involved: the trace never reads them, which is the point of the index.
//
// Usage: node bench/load/trace-lookup.js '{"requests":1000000,"samples":20}'  (needs `npm run build`)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbWarehouse } from '../../dist/warehouse/duckdb/duckdb-warehouse.js';
import { TABLES, REQUESTS, CALL_EVENTS, TELEPHONY_CALLBACKS } from '../../dist/warehouse/index.js';
import { callaroRow } from '../../dist/sink/callaro-rows.js';
import { duckDbSource, traceCall } from '../../dist/trace/index.js';
import { eventRecordAt } from '../lib/payload.js';

const { requests = 1_000_000, samples = 20, batch = 20_000 } = JSON.parse(process.argv[2] ?? '{}');
const calls = Math.ceil(requests / 5.1);
const RUN = 'trace';
const dir = mkdtempSync(join(tmpdir(), 'callstream-trace-bench-'));
const warehouse = await DuckDbWarehouse.open(join(dir, 'warehouse.duckdb'));

const BASE = Date.parse('2026-11-27T00:00:00Z');
const position = (i) => ({ partition: i % 6, offset: Math.floor(i / 6) });

/** The requests rows of call n: three deliveries, a refusal for every tenth call, two callbacks. */
function requestRows(n, sid) {
  const callId = `vs_${RUN}_${n}`;
  const at = BASE + n * 1000;
  const row = (k, flow, status, code, key, callSid, verified) => ({
    request_id: `req-${n}-${k}`,
    flow,
    method: 'POST',
    route: flow === 'callaro' ? '/callaro/webhooks' : '/api/v1/webhooks/telephony/twilio',
    status,
    error_code: code,
    entity_key: key,
    call_sid: callSid,
    verified_by: verified,
    body_bytes: 2800,
    event_time: at + k,
    received_at: at + k,
    ...{ kafka_partition: n % 6, kafka_offset: n * 6 + k },
    ingested_at: at + k + 50,
  });
  const rows = [0, 1, 2].map((k) => row(k, 'callaro', 202, null, callId, null, 'bearer #1'));
  if (n % 10 === 0) rows.push(row(3, 'callaro', 422, 'RCV_SCHEMA_INVALID', callId, sid, null));
  rows.push(row(4, 'telephony', 202, null, sid, null, 'twilio: twilio #1'), row(5, 'telephony', 202, null, sid, null, 'twilio: twilio #1'));
  return rows;
}

function callbackRow(n, sid, status, k) {
  const at = BASE + n * 1000 + k;
  return {
    vendor_slug: 'twilio',
    provider_call_id: sid,
    callback_status: status,
    call_sid: sid,
    content_type: 'application/x-www-form-urlencoded',
    fields: JSON.stringify({ CallSid: sid, CallStatus: status }),
    raw_body: `CallSid=${sid}&CallStatus=${status}`,
    occurred_at: at,
    event_time: at,
    request_id: `req-${n}-${k}`,
    received_at: at,
    kafka_partition: n % 6,
    kafka_offset: n,
    ingested_at: at + 50,
  };
}

try {
  await warehouse.ensureTables(TABLES);
  const fillStarted = performance.now();
  let requestCount = 0;
  for (let from = 0; from < calls; from += batch / 5) {
    const reqs = [];
    const events = [];
    const callbacks = [];
    for (let n = from; n < Math.min(calls, from + batch / 5); n++) {
      // The bench payload's call.completed (2-3 KB), made call n's: its own call_id and call_sid.
      const { row } = callaroRow(eventRecordAt(RUN, n, BASE + n * 1000 + 2), position(n), BASE + n * 1000 + 60);
      const sid = `CA${n.toString(16).padStart(32, '0')}`;
      row.call_id = `vs_${RUN}_${n}`;
      row.call_sid = sid;
      row.request_id = `req-${n}-2`;
      events.push(row);
      reqs.push(...requestRows(n, sid));
      callbacks.push(callbackRow(n, sid, 'ringing', 4), callbackRow(n, sid, 'completed', 5));
    }
    requestCount += reqs.length;
    await warehouse.upsert(REQUESTS, reqs);
    await warehouse.upsert(CALL_EVENTS, events);
    await warehouse.upsert(TELEPHONY_CALLBACKS, callbacks);
  }
  const fillSeconds = (performance.now() - fillStarted) / 1000;

  const source = duckDbSource(async (sql) => (await warehouse.boundedQuery(sql)).rows);
  const picks = Array.from({ length: samples }, (_, k) => Math.floor(((k + 0.5) / samples) * calls));
  // Warm-up: the first query of a fresh file loads its column segments.
  await traceCall(source, `vs_${RUN}_${picks[0]}`, {});
  const traceMs = [];
  const lookupMs = [];
  let rounds = 0;
  for (const n of picks) {
    const id = `vs_${RUN}_${n}`;
    let began = performance.now();
    await warehouse.boundedQuery(`SELECT request_id, status, kafka_partition, kafka_offset FROM "requests" WHERE entity_key = '${id}'`);
    lookupMs.push(performance.now() - began);
    began = performance.now();
    const story = await traceCall(source, id, {});
    traceMs.push(performance.now() - began);
    rounds = Math.max(rounds, story.rounds);
    const expected = n % 10 === 0 ? 6 : 5;
    if (story.requests.length !== expected || story.rows.length !== 3) throw new Error(`trace of ${id}: ${story.requests.length} requests, ${story.rows.length} rows; expected ${expected} and 3`);
  }
  console.log(JSON.stringify({ report: { requests: requestCount, calls, fillSeconds: +fillSeconds.toFixed(1), samples, rounds, traceMs, lookupMs } }));
} finally {
  await warehouse.close();
  rmSync(dir, { recursive: true, force: true });
}
