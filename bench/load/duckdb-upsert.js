#!/usr/bin/env node
// The DuckDB write path alone, without Kafka: upserts `count` call.completed rows (the
// benchmark payload, every tenth a redelivery) in batches of `batch` into a fresh file and
// prints one JSON report. Used to choose the warehouse's settings (checkpoint threshold).
//
// Usage: node bench/load/duckdb-upsert.js '{"count":200000,"batch":5400,"checkpointThreshold":"16MB"}'
// (needs `npm run build`; checkpointThreshold overrides the warehouse's own setting).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbWarehouse } from '../../dist/warehouse/duckdb/duckdb-warehouse.js';
import { callaroRow } from '../../dist/sink/callaro-rows.js';
import { eventRecordAt } from '../lib/payload.js';

const { count = 200_000, batch = 5_400, checkpointThreshold } = JSON.parse(process.argv[2] ?? '{}');
const dir = mkdtempSync(join(tmpdir(), 'callstream-duckdb-bench-'));
const warehouse = await DuckDbWarehouse.open(join(dir, 'warehouse.duckdb'), { checkpointThreshold });
try {
  const rowAt = (i) => callaroRow(eventRecordAt('duckdb', i, Date.now()), { partition: i % 6, offset: Math.floor(i / 6) });
  const spec = rowAt(0).spec;
  await warehouse.ensureTables([spec]);
  let upsertMs = 0;
  let changed = 0;
  for (let i = 0; i < count; i += batch) {
    const rows = [];
    for (let j = i; j < Math.min(count, i + batch); j++) rows.push(rowAt(j).row);
    const began = performance.now();
    changed += await warehouse.upsert(spec, rows);
    upsertMs += performance.now() - began;
  }
  const [setting] = await warehouse.query("SELECT current_setting('checkpoint_threshold') AS threshold");
  console.log(JSON.stringify({ report: { count, batch, checkpointThreshold: setting.threshold, changed, upsertSeconds: +(upsertMs / 1000).toFixed(2), rowsPerSec: Math.round((count / upsertMs) * 1000) } }));
} finally {
  await warehouse.close();
  rmSync(dir, { recursive: true, force: true });
}
