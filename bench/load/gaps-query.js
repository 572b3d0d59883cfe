#!/usr/bin/env node
// The cost of the call_gaps view over a year of history on the embedded DuckDB: `calls` calls
// spread evenly over the last 365 days, each with a call.completed in call_events and three
// provider callbacks (ringing, in-progress, completed) in telephony_callbacks, one call in a
// thousand left unreported and one in a thousand stuck. The tables are filled with plain SQL
// (generate_series; the write path is history.js's subject), in time order as the sink writes
// them, then the sink's own count (callstream_call_gaps) and `callstream gaps`' list are timed,
// `probes` times each. One JSON line: {"report": {...}}.
//
// Usage: node bench/load/gaps-query.js '{"calls":10000000,"probes":5}'   Needs `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbWarehouse } from '../../dist/warehouse/duckdb/duckdb-warehouse.js';
import { TABLES } from '../../dist/warehouse/tables.js';
import { DEFAULT_VIEW_SETTINGS } from '../../dist/warehouse/views/index.js';
import { countGaps, listGaps, warehouseGapsSource } from '../../dist/gaps/index.js';
import { percentile } from '../lib/stats.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const { calls = 1_000_000, probes = 5, dir: baseDir = tmpdir(), memoryLimit } = options;
const dir = mkdtempSync(join(baseDir, 'callstream-gaps-'));
const file = join(dir, 'warehouse.duckdb');
const views = { ...DEFAULT_VIEW_SETTINGS, gaps: { ...DEFAULT_VIEW_SETTINGS.gaps, providerExpected: true } };

const started = performance.now();
let warehouse = await DuckDbWarehouse.open(file, { views, memoryLimit });
await warehouse.ensureTables(TABLES);
await warehouse.close();

// Fill: call i at now - 365 days + i * (365 days / calls); ids as the sink would store them.
const instance = await DuckDBInstance.create(file);
const db = await instance.connect();
const YEAR_MS = 365 * 86_400_000;
const t0 = Date.now() - YEAR_MS;
const at = (offsetMs) => `to_timestamp((${t0} + i * ${YEAR_MS / calls} + ${offsetMs}) / 1000.0)`;
const common = (prefix) => `'${prefix}-' || i, to_timestamp(${Date.now()} / 1000.0), 0, i, to_timestamp(${Date.now()} / 1000.0)`;
await db.run(`INSERT INTO call_events (request_id, received_at, kafka_partition, kafka_offset, ingested_at, event_type, tenant_id, event_time, payload, call_id, call_sid, agent_id, direction)
  SELECT ${common('req')}, 'call.completed', 44, ${at(60_000)}, '{}', 'vs_' || i, 'CA' || i, 42, 'outbound'
  FROM generate_series(0, ${calls - 1}) s(i) WHERE i % 1000 <> 7`);
for (const [status, offset] of [['ringing', 0], ['in-progress', 10_000], ['completed', 50_000]]) {
  await db.run(`INSERT INTO telephony_callbacks (request_id, received_at, kafka_partition, kafka_offset, ingested_at, vendor_slug, provider_call_id, callback_status, call_sid, content_type, fields, raw_body, event_time)
    SELECT ${common(`cb-${status}`)}, 'twilio', 'CA' || i, '${status}', 'CA' || i, 'application/x-www-form-urlencoded', '{"CallDuration":"40"}', '', ${at(offset)}
    FROM generate_series(0, ${calls - 1}) s(i) WHERE ${status === 'ringing' ? 'true' : 'i % 1000 <> 9'}`);
}
await db.run('CHECKPOINT');
db.closeSync();
instance.closeSync();
const fillSeconds = (performance.now() - started) / 1000;

warehouse = await DuckDbWarehouse.open(file, { views, memoryLimit });
const source = warehouseGapsSource(warehouse);
const time = async (work) => {
  const samples = [];
  let result;
  for (let k = 0; k < probes; k++) {
    const began = performance.now();
    result = await work();
    samples.push(performance.now() - began);
  }
  return { p50Ms: Math.round(percentile(samples, 50)), maxMs: Math.round(Math.max(...samples)), result };
};
const count = await time(() => countGaps(source));
const list = await time(() => listGaps(source, { limit: 200 }));
const [{ n }] = await warehouse.query('SELECT COUNT(*) AS n FROM call_events');
const [{ n: callbacks }] = await warehouse.query('SELECT COUNT(*) AS n FROM telephony_callbacks');
const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
await warehouse.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ report: { calls, callEventsRows: Number(n), callbackRows: Number(callbacks), fillSeconds: Math.round(fillSeconds), countP50Ms: count.p50Ms, countMaxMs: count.maxMs, counts: count.result, listP50Ms: list.p50Ms, listed: list.result.length, rssMB: rss } }));
