#!/usr/bin/env node
// History on the BigQuery write path, on the local emulator: BigQueryWarehouse.upsert (merge
// mode) or StagedBigQueryWarehouse.upsert (staged mode) from dist/, fed as bench/load/history.js
// feeds DuckDB (batches of `batch` call.completed rows of the bench payload, every tenth
// delivery a redelivery, then the requests rows of those deliveries), until `rows` call_events
// rows are stored. Every `step` rows it measures `probes` flushes of 100 deliveries (p50, p99)
// and records the MERGE statements they sent: how long each took and the partition filter
// each carried on the target (the emulator cannot say how many bytes a MERGE scanned, which is
// what BigQuery bills: the filter is what bounds it).
//
// The emulator's speed is not BigQuery's, and it keeps every table in its own process: sizes
// here are far below the DuckDB history's. Read the shape (does a flush's cost follow the
// table's size?) and the filters, not the milliseconds.
//
// The stored history spans `spanDays` (default 365) of event times, oldest first, as a year of
// calls would; each probe flush is of calls of the newest day. Each step also counts the rows
// stored in the partitions its probe MERGEs' filter names, next to all rows stored: the share
// of the table a MERGE would read in BigQuery.
//
// Usage: node bench/load/bq-history.js '{"mode":"merge","lookbackDays":1,"rows":50000,"step":10000}'
//   "mode": "merge" (connectors/bigquery-sink.json) or "staged" (connectors/bigquery-staged-sink.json);
//   "lookbackDays": merge mode's mergeLookbackDays (the connector's default when absent);
//   "endpoint", "grpc", "project": the emulator (default 127.0.0.1:9050 / :9060, callstream-local).
// Needs `npm run build` and the emulator (scripts/bq-emulator.sh start).
import { fileURLToPath } from 'node:url';
import { loadConnector, parseBigQuerySettings } from '../../dist/config/index.js';
import { createLogger } from '../../dist/logger.js';
import { callaroRow } from '../../dist/sink/callaro-rows.js';
import { requestRow } from '../../dist/sink/request-rows.js';
import { BigQueryWarehouse } from '../../dist/warehouse/bigquery/bigquery-warehouse.js';
import { StagedBigQueryWarehouse } from '../../dist/warehouse/bigquery/staged-warehouse.js';
import { CALL_EVENTS, REQUESTS } from '../../dist/warehouse/tables.js';
import { observeMerges } from '../lib/merge-observer.js';
import { eventRecordAt } from '../lib/payload.js';
import { percentile } from '../lib/stats.js';

const port = Number(process.env.BQ_EMULATOR_PORT ?? 9050);
const opts = {
  mode: 'merge',
  rows: 50_000,
  step: 10_000,
  batch: 5_000,
  probes: 5,
  spanDays: 365,
  endpoint: `http://127.0.0.1:${port}`,
  grpc: `127.0.0.1:${Number(process.env.BQ_EMULATOR_GRPC_PORT ?? port + 10)}`,
  project: process.env.BQ_EMULATOR_PROJECT ?? 'callstream-local',
  ...JSON.parse(process.argv[2] ?? '{}'),
};
const staged = opts.mode === 'staged';
const PROBE_ROWS = 100;
const RUN = `bqh${Date.now().toString(36)}`;
const dataset = `bench_history_${RUN}`;

const connectorFile = fileURLToPath(new URL(staged ? '../../connectors/bigquery-staged-sink.json' : '../../connectors/bigquery-sink.json', import.meta.url));
const { connector } = loadConnector(connectorFile);
const settings = parseBigQuerySettings({
  ...connector.bigquery,
  projectId: opts.project,
  dataset,
  credentials: 'none',
  apiEndpoint: opts.endpoint,
  ...(opts.lookbackDays !== undefined && { mergeLookbackDays: opts.lookbackDays }),
  // The probes time a flush: with the shipped 5 s between staged MERGEs, they would time the wait.
  ...(staged && { storageWriteEndpoint: opts.grpc, mergeIntervalMs: opts.mergeIntervalMs ?? 0 }),
});
const logger = createLogger({ level: 'warn' });
const warehouse = staged ? new StagedBigQueryWarehouse(settings, logger) : new BigQueryWarehouse(settings, logger);

// Every MERGE the client runs: its table, its time from the job's creation to its results, and
// the predicate on the target's partitioning column (T.event_time) it carried, if any.
const merges = [];
const client = warehouse.client;
observeMerges(client, {
  created: (query, table, start) => ({ table, filter: partitionFilter(query.query, query.params), start }),
  finished: (info) => merges.push({ ...info, ms: performance.now() - info.start }),
});

/**
 * The condition on the target's partitioning column in a MERGE's ON clause (the lines after the
 * key match: see versionGuardedMergeSql), with @min_event_time's value put in; null when there
 * is none, and BigQuery scans every partition of the table.
 */
function partitionFilter(sql, params = {}) {
  const on = /\nON ([\s\S]*?)\nWHEN /.exec(sql)?.[1];
  const filter = on?.split('\n').slice(1).map((l) => l.trim().replace(/^AND /, '')).join(' AND ');
  if (!filter) return null;
  const min = params.min_event_time;
  return filter
    .replace('@min_event_time', min ? `TIMESTAMP '${new Date(min.value ?? min).toISOString()}'` : '@min_event_time')
    .replace(/TIMESTAMP '(\d{4}-\d\d-\d\d)[^']*'/g, "'$1'");
}

let delivery = 0;
let stored = 0;
let errors = 0;
let firstError = null;

const DAY = 86_400_000;
const newestDay = Math.floor(Date.now() / DAY) * DAY;

/** The rows of the next `n` deliveries; their calls happened `daysAgo` (a fraction) before the newest day's end. */
function deliveries(n, daysAgo = 0) {
  const events = [];
  const audit = [];
  const now = Date.now();
  for (let k = 0; k < n; k++, delivery++) {
    const base = eventRecordAt(RUN, delivery, now);
    const record = { ...base, occurred_at: newestDay + DAY - 1 - Math.round(daysAgo * DAY) - (n - k) };
    const position = { partition: delivery % 6, offset: Math.floor(delivery / 6) };
    events.push(callaroRow(record, position, now).row);
    const raw = { request_id: record.request_id, received_at: now, flow: 'callaro', method: 'POST', path: '/callaro/webhooks', body: { length: 2_600 }, truncated: false, status: 202, error_code: null, event_key: record.call_id, verified_by: null };
    audit.push(requestRow(raw, position, now).row);
  }
  return { events, audit };
}

async function write({ events, audit }) {
  for (let attempt = 1; ; attempt++) {
    try {
      const inserted = await warehouse.upsert(CALL_EVENTS, events);
      await warehouse.upsert(REQUESTS, audit);
      return inserted;
    } catch (err) {
      errors++;
      firstError ??= err.message;
      if (attempt >= 3) throw err;
    }
  }
}

const steps = [];
let failure = null;
try {
  await warehouse.ensureTables([CALL_EVENTS, REQUESTS]);
  const measure = async () => {
    const from = merges.length;
    const times = [];
    for (let p = 0; p < opts.probes; p++) {
      const began = performance.now();
      stored += await write(deliveries(PROBE_ROWS, 0.25));
      times.push(performance.now() - began);
    }
    times.sort((a, b) => a - b);
    const probeMerges = merges.slice(from).filter((m) => m.table === CALL_EVENTS.name);
    const mergeMs = probeMerges.map((m) => m.ms).sort((a, b) => a - b);
    const filter = probeMerges.at(-1)?.filter ?? null;
    const count = async (where) => Number((await client.query({ query: `SELECT COUNT(*) AS n FROM \`${opts.project}.${dataset}.${CALL_EVENTS.name}\` T${where ? ` WHERE ${where.replace(/'(\d{4}-\d\d-\d\d)'/g, "TIMESTAMP '$1'")}` : ''}` }))[0][0].n);
    const total = await count(null);
    const inBound = filter ? await count(filter) : total;
    const line = {
      stored,
      p50: +percentile(times, 50).toFixed(1),
      p99: +percentile(times, 99).toFixed(1),
      mergeP50Ms: mergeMs.length > 0 ? +percentile(mergeMs, 50).toFixed(1) : null,
      merges: probeMerges.length,
      // Each probe MERGE's filter on call_events, once per distinct text.
      filters: [...new Set(probeMerges.map((m) => m.filter ?? '(none: the whole table)'))],
      // The rows in the partitions the last probe MERGE's filter names, of all stored: what it reads.
      rowsInBound: inBound,
      rowsTotal: total,
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      errors,
    };
    steps.push(line);
    console.log(JSON.stringify({ step: line }));
  };
  await measure();
  let next = opts.step;
  let stepBegan = performance.now();
  let stepStored = stored;
  while (stored < opts.rows) {
    // Oldest first: the history fills the span, ending where the probes write.
    stored += await write(deliveries(opts.batch, opts.spanDays * (1 - stored / opts.rows)));
    if (stored >= next || stored >= opts.rows) {
      const rate = Math.round((stored - stepStored) / ((performance.now() - stepBegan) / 1000));
      await measure();
      steps.at(-1).rowsPerSec = rate;
      next += opts.step;
      stepBegan = performance.now();
      stepStored = stored;
    }
  }
} catch (err) {
  failure = err.message;
} finally {
  await warehouse.close().catch(() => undefined);
  await client.dataset(dataset).delete({ force: true }).catch(() => undefined);
}
console.log(JSON.stringify({ report: { mode: opts.mode, lookbackDays: staged ? null : settings.mergeLookbackDays, rows: opts.rows, step: opts.step, batch: opts.batch, probes: opts.probes, stored, errors, firstError, failure, steps } }));
