#!/usr/bin/env node
// What DuckDB's automatic checkpoints cost the write path, alone (no Kafka, no sink): flushes of
// `rows` deliveries (a call_events upsert, then a requests upsert, as the sink writes them) into
// `file` (a history bench's warehouse, e.g. kept by bench/load/history.js '{"keep":true}'; a new
// file when absent), one after another, `flushes` times. A flush whose commit crosses the
// checkpoint threshold also checkpoints: those are the slow ones, listed with their times.
// The deliveries are dated after call `from` of the bench payload (call n at n seconds after
// 2026-11-27), so on a history file they are live traffic, newer than what it holds.
//
// Usage: node bench/load/duckdb-checkpoints.js '{"file":"/tmp/h/warehouse.duckdb","flushes":500,
//        "rows":100,"from":12000000,"memoryLimit":"160MB","checkpointThreshold":"61MB",
//        "rowGroupSize":122880}'
// Needs `npm run build`. Prints one JSON report.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbWarehouse } from '../../dist/warehouse/duckdb/duckdb-warehouse.js';
import { CALL_EVENTS, REQUESTS } from '../../dist/warehouse/tables.js';
import { deliveryRows, writeFlush } from '../lib/history-rows.js';
import { percentile } from '../lib/stats.js';

const opts = { flushes: 500, rows: 100, from: 12_000_000, slowMs: 150, ...JSON.parse(process.argv[2] ?? '{}') };
const scratch = opts.file ? undefined : mkdtempSync(join(tmpdir(), 'callstream-checkpoints-'));
const file = opts.file ?? join(scratch, 'warehouse.duckdb');

let began = performance.now();
const warehouse = await DuckDbWarehouse.open(file, { memoryLimit: opts.memoryLimit, checkpointThreshold: opts.checkpointThreshold, rowGroupSize: opts.rowGroupSize });
await warehouse.ensureTables([CALL_EVENTS, REQUESTS]);
const openMs = performance.now() - began;
const [{ stored, threshold, pool }] = await warehouse.query("SELECT (SELECT count(*) FROM call_events) AS stored, current_setting('checkpoint_threshold') AS threshold, current_setting('memory_limit') AS pool");
const run = `ckpt${Date.now().toString(36)}`;
const times = [];
const slow = [];
let closeMs;
try {
  for (let i = 0; i < opts.flushes; i++) {
    const { events, audit } = deliveryRows(run, opts.from + i * opts.rows, opts.rows);
    const { ms, eventsMs } = await writeFlush(warehouse, { events, audit });
    times.push(ms);
    if (ms > opts.slowMs) slow.push({ flush: i, ms: Math.round(ms), callEventsMs: Math.round(eventsMs), requestsMs: Math.round(ms - eventsMs) });
  }
} finally {
  began = performance.now();
  await warehouse.close();
  closeMs = performance.now() - began;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
const total = times.reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify({
    report: {
      file: opts.file ?? 'new',
      storedBefore: Number(stored),
      pool,
      threshold,
      flushes: opts.flushes,
      rows: opts.rows,
      openMs: Math.round(openMs),
      p50Ms: +percentile(times, 50).toFixed(1),
      p99Ms: +percentile(times, 99).toFixed(1),
      // The share of the writing time spent in the slow flushes: what a sink at this rate waits.
      slowShare: +(slow.reduce((a, s) => a + s.ms, 0) / total).toFixed(3),
      slow,
      closeMs: Math.round(closeMs),
    },
  }),
);
