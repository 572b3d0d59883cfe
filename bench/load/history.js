#!/usr/bin/env node
// A year of history on the DuckDB write path, without Kafka: DuckDbWarehouse.upsert from dist/
// fed as the sink feeds it (batches of `batch` call.completed rows of the bench payload, every
// tenth delivery a redelivery, each batch followed by the requests index rows of its
// deliveries) until `rows` call_events rows are stored. Every `step` rows stored it measures:
//   - the bulk rate of the step (call_events rows/s, requests rows written alongside);
//   - `probes` upserts of 100 deliveries (the steady-state flush at ~1,000 webhooks/s): p50, p99;
//   - the file's size (with its WAL), this process's RSS (peak over the step), failed writes.
// One JSON line per step ({"step": ...}), then {"report": ...}. A failed write is retried up to
// 3 times, then the run ends with the error in the report (it does not hide it).
//
// Usage: node bench/load/history.js '{"rows":10000000,"step":1000000,"writePath":"filtered"}'
//        ("memoryLimit", "checkpointThreshold", "rowGroupSize" and "settings" {"threads":"1", ...} try
//        other DuckDB settings)
//        writePath "merge" is the design before the key index (the baseline of the chart).
// Needs `npm run build`.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbWarehouse } from '../../dist/warehouse/duckdb/duckdb-warehouse.js';
import { CALL_EVENTS, REQUESTS } from '../../dist/warehouse/tables.js';
import { deliveryRows, writeFlush } from '../lib/history-rows.js';
import { percentile } from '../lib/stats.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const { rows: target = 1_000_000, step = 250_000, batch = 5_000, probes = 20, writePath = 'filtered', dir: baseDir = tmpdir(), keep = false, memoryLimit, checkpointThreshold, settings, rowGroupSize, sameMoment = true } = options;
const RUN = 'history';
const PROBE_ROWS = 100;
const MAX_TRIES = 3;

const dir = mkdtempSync(join(baseDir, 'callstream-history-'));
const file = join(dir, 'warehouse.duckdb');
const warehouse = await DuckDbWarehouse.open(file, { writePath, memoryLimit, checkpointThreshold, settings, rowGroupSize });
await warehouse.ensureTables([CALL_EVENTS, REQUESTS]);
// The same-moment baseline: an empty warehouse probed beside the full one at every step, so that
// the ratio of upsert times is not the machine's load changing over hours. It runs in a process
// of its own (bench/load/history-empty.js), so the RSS measured here is the full warehouse's
// alone; made anew at every step, so it stays empty. {"sameMoment":false} leaves it out.
let empty;
let emptyErrors = 0;
function baseline() {
  const child = fork(join(dirname(fileURLToPath(import.meta.url)), 'history-empty.js'), [JSON.stringify({ dir, writePath, rows: PROBE_ROWS })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // One answer pending at a time: every ask is awaited before the next (a second ask meanwhile
  // would take the first one's answer).
  let waiting;
  child.on('message', (m) => waiting?.(m));
  child.on('exit', () => waiting?.({ ok: false, error: 'the baseline process exited' }));
  const ask = (cmd) => new Promise((resolve) => {
    waiting = resolve;
    if (cmd) child.send({ cmd });
  });
  const ready = ask();
  return {
    ready,
    ask: async (cmd) => {
      const answer = await ask(cmd);
      if (!answer.ok) throw new Error(answer.error);
      return answer;
    },
  };
}
async function freshEmpty() {
  empty ??= baseline();
  await empty.ready;
  await empty.ask('fresh');
}

let delivery = 0; // the next delivery of the payload (call i, or a redelivery of a recent one)
let stored = 0; // call_events rows stored (inserted, not replaced)
let requests = 0;
let errors = 0;
let peakRss = 0;
let writeMs = 0; // time inside upsert (the rows' generation is not part of the rate)
const firstError = { message: null };

/** The rows of the next `n` deliveries, as the sink would write them. */
function deliveries(n) {
  const rows = deliveryRows(RUN, delivery, n);
  delivery += n;
  return rows;
}

/** One flush: the events, then their requests rows; retried like the sink would, counted when it fails. */
async function write({ events, audit }) {
  for (let attempt = 1; ; attempt++) {
    const began = performance.now();
    try {
      const flush = await writeFlush(warehouse, { events, audit });
      requests += flush.requests;
      return flush.inserted;
    } catch (err) {
      errors++;
      firstError.message ??= err.message;
      if (attempt >= MAX_TRIES) throw err;
    } finally {
      writeMs += performance.now() - began;
    }
  }
}

/** One probe flush into the empty baseline (in its process), retried; its time in ms, or undefined. */
async function probeEmpty() {
  for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
    try {
      return (await empty.ask('probe')).ms;
    } catch {
      emptyErrors++;
    }
  }
  await freshEmpty(); // the baseline's own trouble: counted in emptyErrors, not the history's
  return undefined;
}

function fileBytes() {
  let total = 0;
  for (const f of [file, `${file}.wal`]) {
    try {
      total += statSync(f).size;
    } catch {
      // no WAL right after a checkpoint
    }
  }
  return total;
}

const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

async function measure() {
  const times = [];
  const baseline = [];
  if (sameMoment) await freshEmpty();
  // Alternated, so that both see the same moments of the machine's load.
  for (let p = 0; p < probes; p++) {
    const flush = deliveries(PROBE_ROWS);
    let began = performance.now();
    stored += await write(flush);
    times.push(performance.now() - began);
    if (!empty) continue;
    const ms = await probeEmpty();
    if (ms !== undefined) baseline.push(ms);
  }
  times.sort((a, b) => a - b);
  baseline.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), emptyP50: empty && baseline.length > 0 ? percentile(baseline, 50) : null };
}

const [{ memory_limit: memoryLimitSetting }] = await warehouse.query("SELECT current_setting('memory_limit') AS memory_limit");
const steps = [];
let failure = null;
try {
  let stepBegan = writeMs;
  let stepStored = 0;
  let stepRequests = requests;
  let probe = await measure();
  const report = async (seconds) => {
    const [{ bytes }] = await warehouse.query('SELECT CAST(sum(memory_usage_bytes) AS BIGINT) AS bytes FROM duckdb_memory()');
    const line = {
      stored,
      requests,
      rowsPerSec: seconds ? Math.round(stepStored / seconds) : null,
      requestsPerSec: seconds ? Math.round((requests - stepRequests) / seconds) : null,
      upsert100P50Ms: +probe.p50.toFixed(1),
      upsert100P99Ms: +probe.p99.toFixed(1),
      // The same probes into a warehouse that is (almost) empty, at the same moments: the ratio is the cost of history.
      emptyUpsert100P50Ms: probe.emptyP50 === null ? null : +probe.emptyP50.toFixed(1),
      historyRatio: probe.emptyP50 === null ? null : +(probe.p50 / probe.emptyP50).toFixed(2),
      fileMB: Math.round(fileBytes() / 2 ** 20),
      rssMB: Math.round(peakRss / 2 ** 20),
      duckdbMB: Math.round(Number(bytes) / 2 ** 20),
      heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
      // Outside the JS heap but Node's: the key filters' bit arrays, mostly.
      arrayBuffersMB: Math.round(process.memoryUsage().arrayBuffers / 2 ** 20),
      errors,
      emptyErrors,
    };
    steps.push(line);
    console.log(JSON.stringify({ step: line }));
  };
  sampleRss();
  await report(0);
  let nextStep = step;
  while (stored < target) {
    const began = stored;
    stored += await write(deliveries(batch));
    stepStored += stored - began;
    sampleRss();
    if (stored >= nextStep || stored >= target) {
      const seconds = (writeMs - stepBegan) / 1000; // the probes are not part of the bulk rate
      const writtenInStep = requests - stepRequests;
      probe = await measure();
      sampleRss();
      stepRequests = requests - writtenInStep;
      await report(seconds);
      peakRss = 0;
      nextStep += step;
      stepBegan = writeMs;
      stepStored = 0;
      stepRequests = requests;
    }
  }
} catch (err) {
  failure = err.message;
} finally {
  await warehouse.close();
  await empty?.ask('close').catch(() => undefined);
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ report: { writePath, memoryLimit: memoryLimitSetting, target, step, batch, probes, stored, requests, deliveries: delivery, errors, emptyErrors, firstError: firstError.message, failure, steps, file: keep ? file : null } }));
