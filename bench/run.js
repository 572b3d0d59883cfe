#!/usr/bin/env node
// callstream's benchmarks: `npm run bench` (full, ~12 min) or `npm run bench -- --smoke`
// (tiny sizes, well under 2 min; what CI runs so the benchmarks do not rot).
//
// Every figure comes from this run: the reference rows (bare node:http, Kafka's own
// ProducerPerformance, a raw consumer) are measured next to the rows they judge, runs are
// interleaved and repeated, and the table shows medians and ratios. The receiver, the sink,
// the load generators and the reference programs each run in their own process, so each
// one's peak RSS (VmHWM) belongs to one load.
//
// Options: --smoke (or BENCH_SMOKE=1), --out <file.json>, --only receiver,sink,e2e,bigquery,bigquery-staged,trace,history
//          (history: a year of it on the DuckDB write path, 10 million rows, ~1 h; not in the default run),
//          --chart <file.svg> (history: where its chart goes; default next to the results),
//          --history-reuse <dir> (history: take the write path's reports, filtered.jsonl and merge.jsonl,
//          of earlier bench/load/history.js runs from <dir>, and the warehouse file the first kept
//          ("keep":true; else <dir>/keep-filtered.duckdb); merge.jsonl may be left out; the end to
//          end and the chart are new),
//          --history-parts e2e,gaps,erased,backlog,bigquery (history: which parts after the write path
//          to run; default all of them),
//          --no-build (skip `tsc`; the benchmarks run the compiled code in dist/),
//          --sink-sizes 200000[,1000000] (backlog sizes of the sink section, one run each).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchAdmin, BROKERS } from './lib/kafka.js';
import { ROOT, runJsonReport, spawnJsonLines, startCallstream, sleep } from './lib/procs.js';
import { max, median, medianOf } from './lib/stats.js';
import { formatReport } from './lib/report.js';
import { historyChart } from './lib/history-chart.js';
import { callTime } from './lib/payload.js';

const { values: args } = parseArgs({
  options: { smoke: { type: 'boolean', default: false }, out: { type: 'string' }, chart: { type: 'string' }, 'history-reuse': { type: 'string' }, 'history-parts': { type: 'string' }, only: { type: 'string' }, 'sink-sizes': { type: 'string' }, 'no-build': { type: 'boolean', default: false } },
});
/** A mistake in the options: said in one line, exit 2 (no stack). */
function usageError(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}
/** The names of a comma-separated option, each one of `known` (a misspelt name would silently run nothing). */
function names(option, value, known) {
  const given = new Set(value.split(','));
  const unknown = [...given].filter((n) => !known.includes(n));
  if (unknown.length > 0) usageError(`--${option} takes ${known.join(', ')}; not ${unknown.join(', ')}`);
  return given;
}
const smoke = args.smoke || process.env.BENCH_SMOKE === '1';
const SECTIONS = ['receiver', 'sink', 'e2e', 'bigquery', 'bigquery-staged', 'trace', 'history'];
const only = names('only', args.only ?? SECTIONS.filter((s) => s !== 'history').join(','), SECTIONS);
const HISTORY_PARTS = ['e2e', 'gaps', 'erased', 'backlog', 'bigquery'];
const historyParts = names('history-parts', args['history-parts'] ?? HISTORY_PARTS.join(','), HISTORY_PARTS);

const PLAN = smoke
  ? {
      receiver: { runs: 1, seconds: 2, warmupSec: 1, connections: 32, rates: [500], ppRecords: 3_000 },
      sink: { sizes: [3_000, 6_000], runs: [1, 1] },
      e2e: { rate: 1_000, seconds: 3, warmupSec: 1, runs: 1, drainSec: 20 },
      bigquery: { seconds: 2, maxRate: 300, observeSec: 25 },
      bigqueryStaged: { rate: 500, seconds: 3, observeSec: 40 },
      trace: { requests: 5_000, samples: 5 },
      history: { rows: 20_000, step: 10_000, probes: 5, baselineRows: 10_000, baselineStep: 5_000, e2e: { rate: 300, seconds: 3, warmupSec: 1, drainSec: 20, rounds: 1 }, erased: { count: 2_000, rounds: 1 }, backlog: { count: 10, stallSec: 60 }, bigquery: { rows: 1_200, step: 600, batch: 600, probes: 2 } },
    }
  : {
      receiver: { runs: 3, seconds: 6, warmupSec: 1.5, connections: 64, rates: [1_000], ppRecords: 60_000 },
      sink: { sizes: [200_000, 1_000_000], runs: [3, 1] },
      e2e: { rate: 1_000, seconds: 15, warmupSec: 3, runs: 3, drainSec: 30 },
      bigquery: { seconds: 15, maxRate: Infinity, observeSec: 45 },
      // 20,000 events/s offered for 5 s: the rate is the target's; the volume is what the emulator
      // holds (a 20 s run, 400,000 rows of 4 KB, grew its DuckDB MERGE past 16 GB of memory).
      bigqueryStaged: { rate: 20_000, seconds: 5, observeSec: 180 },
      trace: { requests: 1_000_000, samples: 20 },
      // The baseline (the whole-table MERGE) stops at 3 million: its cost only grows from there,
      // and it takes most of the section's hour to get there.
      history: {
        rows: 10_000_000,
        step: 1_000_000,
        probes: 20,
        baselineRows: 3_000_000,
        baselineStep: 500_000,
        e2e: { rate: 1_000, seconds: 15, warmupSec: 3, drainSec: 30, rounds: 3 },
        erased: { count: 100_000, rounds: 2 },
        // A backlog DuckDB 1.5 cannot checkpoint within its pool stalls: 120 s without a commit ends it.
        backlog: { count: 2_000, stallSec: 120 },
        // The emulator writes about 200 rows/s and holds its tables in its own memory.
        bigquery: { rows: 20_000, step: 5_000, batch: 5_000, probes: 5 },
      },
    };
if (args['sink-sizes']) {
  const sizes = args['sink-sizes'].split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) usageError(`--sink-sizes wants positive integers, got ${args['sink-sizes']}`);
  PLAN.sink = { sizes, runs: sizes.map(() => 1) };
}

const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const began = Date.now();
const log = (...parts) => console.error(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(4)}s]`, ...parts);
const results = { mode: smoke ? 'smoke' : 'full', runId, startedAt: new Date(began).toISOString(), plan: PLAN, machine: undefined, sections: {}, rows: [], bigquery: undefined, bigqueryStaged: undefined, targets: [] };

// ---------------------------------------------------------------------------------------

function machine() {
  const javaVersion = (() => {
    try {
      return spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0].trim();
    } catch {
      return 'java not found';
    }
  })();
  const duckdb = JSON.parse(readFileSync(join(ROOT, 'node_modules/@duckdb/node-api/package.json'), 'utf8')).version;
  const kafkajs = JSON.parse(readFileSync(join(ROOT, 'node_modules/kafkajs/package.json'), 'utf8')).version;
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    freeMemoryGiB: +(freemem() / 2 ** 30).toFixed(1),
    os: `Linux ${release()}`,
    node: process.version,
    java: javaVersion,
    kafka: process.env.KAFKA_VERSION ?? '4.1.2',
    kafkajs,
    duckdb,
    loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
  };
}

async function httpOk(url) {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** Starts the broker / emulator through the project's scripts when they are not running; returns a stopper. */
async function ensureServices() {
  const started = [];
  const brokerUp = spawnSync('bash', [join(ROOT, 'scripts/kafka.sh'), 'status'], { encoding: 'utf8' }).status === 0;
  if (!brokerUp && !process.env.KAFKA_BROKERS) {
    log('starting the local Kafka broker (scripts/kafka.sh start)');
    execFileSync('bash', [join(ROOT, 'scripts/kafka.sh'), 'start'], { stdio: ['ignore', 'inherit', 'inherit'] });
    started.push('kafka');
  }
  if ((only.has('bigquery') || only.has('bigquery-staged') || (only.has('history') && historyParts.has('bigquery'))) && !(await httpOk(`${bqEndpoint()}/healthz`))) {
    log('starting the BigQuery emulator (scripts/bq-emulator.sh start)');
    execFileSync('bash', [join(ROOT, 'scripts/bq-emulator.sh'), 'start'], { stdio: ['ignore', 'inherit', 'inherit'] });
    started.push('bq-emulator');
  }
  return () => {
    for (const s of started.reverse()) {
      log(`stopping ${s} (started by the benchmark)`);
      spawnSync('bash', [join(ROOT, s === 'kafka' ? 'scripts/kafka.sh' : 'scripts/bq-emulator.sh'), 'stop'], { stdio: 'ignore' });
    }
  };
}

const bqEndpoint = () => `http://127.0.0.1:${process.env.BQ_EMULATOR_PORT ?? 9050}`;
/** The emulator's Storage Write API (gRPC): its REST port + 10 unless BQ_EMULATOR_GRPC_PORT says otherwise (scripts/bq-emulator.sh). */
const bqGrpcEndpoint = () => `127.0.0.1:${process.env.BQ_EMULATOR_GRPC_PORT ?? Number(process.env.BQ_EMULATOR_PORT ?? 9050) + 10}`;

const brokerEnv = (topics, extra = {}) => ({
  KAFKA_BROKERS: BROKERS.join(','),
  PORT: '0',
  LOG_LEVEL: 'info',
  CALLSTREAM_TOPIC_REPLICATION: '1',
  CALLSTREAM_TOPIC_PARTITIONS: '6',
  CALLSTREAM_TOPIC_EVENTS: topics.events,
  CALLSTREAM_TOPIC_RAW: topics.raw,
  CALLSTREAM_TOPIC_DLQ: topics.dlq,
  ...extra,
});

function topicSet(admin, name) {
  const t = { events: `bench.${runId}.${name}.events`, raw: `bench.${runId}.${name}.raw`, dlq: `bench.${runId}.${name}.dlq` };
  admin.track(Object.values(t));
  return t;
}

const tempDirs = [];
function tempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `callstream-bench-${label}-`));
  tempDirs.push(dir);
  return dir;
}

/** Mean size of an events-topic record (Avro frame) for this payload mix: ProducerPerformance sends records of this size. */
async function meanEventRecordBytes() {
  const { AvroCodec, SCHEMA_NAMES, schemasDir } = await import('../dist/codec/index.js');
  const { eventRecordAt } = await import('./lib/payload.js');
  const codec = AvroCodec.fromDirectory(schemasDir());
  let bytes = 0;
  const n = 2_000;
  for (let i = 0; i < n; i++) bytes += codec.encode(SCHEMA_NAMES.callaroEvent, eventRecordAt('size', i, Date.now())).length;
  return Math.round(bytes / n);
}

// ---------------------------------------------------------------------------------------
// 1. Receiver

async function httpLoad(url, { connections, seconds, warmupSec, rate, startIndex }) {
  return runJsonReport([join(ROOT, 'bench/load/http-load.js'), JSON.stringify({ url, connections, durationSec: seconds, warmupSec, rate, run: runId, startIndex })], {
    name: 'http-load',
    timeoutMs: (seconds + warmupSec + 60) * 1000,
  });
}

async function bareRun(plan) {
  const server = spawnJsonLines([join(ROOT, 'bench/load/bare-http.js')], { name: 'bare node:http' });
  try {
    const { url } = await server.waitFor((l) => l.url, 30_000, 'listening line');
    const cpu = server.cpuSeconds();
    const load = await httpLoad(url, { connections: plan.connections, seconds: plan.seconds, warmupSec: plan.warmupSec, startIndex: 0 });
    return { ...load, peakRssMb: server.peakRssMb(), cpuCores: (server.cpuSeconds() - cpu) / (plan.seconds + plan.warmupSec) };
  } finally {
    await server.stop();
  }
}

let receiverStarts = 0;
async function receiverRun(admin, topics, plan, rate, extraEnv = {}) {
  // Tracing off unless a run asks (an OTEL_TRACES_EXPORTER in the bench's own environment must not leak in).
  const receiver = await startCallstream('receiver', brokerEnv(topics, { CALLSTREAM_DATA_DIR: tempDir('receiver'), OTEL_TRACES_EXPORTER: 'none', ...extraEnv }));
  try {
    const cpu = receiver.cpuSeconds();
    const startIndex = 10_000_000 * ++receiverStarts;
    const load = await httpLoad(receiver.url, { connections: plan.connections, seconds: plan.seconds, warmupSec: plan.warmupSec, rate, startIndex });
    // webhooksSent: the warm-up's too (requestsSent is the payload index the load generator reached).
    return { ...load, webhooksSent: load.requestsSent - startIndex, peakRssMb: receiver.peakRssMb(), cpuCores: (receiver.cpuSeconds() - cpu) / (plan.seconds + plan.warmupSec) };
  } finally {
    await receiver.stop();
  }
}

/**
 * The receiver at saturation with tracing on as an operator turns it on: every webhook sampled
 * (or as `sampler` says), spans batched and exported over OTLP/HTTP to bench/load/otlp-sink.js. The receiver's stop
 * flushes what is queued; the spans that reached the sink are counted per webhook sent.
 */
async function tracedReceiverRun(admin, topics, plan, sampler = { OTEL_TRACES_SAMPLER: 'always_on' }) {
  const sink = spawnJsonLines([join(ROOT, 'bench/load/otlp-sink.js')], { name: 'otlp sink' });
  try {
    const { url } = await sink.waitFor((l) => l.url, 30_000, 'listening line');
    const run = await receiverRun(admin, topics, plan, undefined, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: url, ...sampler });
    const exported = await (await fetch(`${url}/count`)).json();
    return { ...run, spansExported: exported.spans, spansPerWebhook: exported.spans / run.webhooksSent, otlpExports: exported.exports, otlpBytes: exported.bytes };
  } finally {
    await sink.stop();
  }
}

let toolsClasspath;
async function producerPerformance(admin, plan, recordBytes) {
  toolsClasspath ??= execFileSync('bash', [join(ROOT, 'bench/kafka-tools.sh'), 'classpath'], { encoding: 'utf8' }).trim();
  const topic = `bench.${runId}.pp.${Math.random().toString(36).slice(2, 8)}`;
  await admin.createTopics([topic], 6);
  const out = spawnSync(
    'java',
    [
      '-Xmx512m',
      '-cp',
      toolsClasspath,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(plan.ppRecords),
      '--record-size',
      String(recordBytes),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${BROKERS.join(',')}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    { encoding: 'utf8', timeout: 180_000 },
  );
  // "60000 records sent, 15098.9 records/sec (36.00 MB/sec), 681.94 ms avg latency, 1149.00 ms max latency, 665 ms 50th, 1046 ms 95th, 1096 ms 99th, 1129 ms 99.9th."
  const line = out.stdout.split('\n').reverse().find((l) => /records sent, .* 50th/.test(l));
  if (out.status !== 0 || !line) throw new Error(`ProducerPerformance failed (status ${out.status}): ${out.stderr.slice(-2000)} ${out.stdout.slice(-1000)}`);
  const num = (re) => Number(re.exec(line)?.[1]);
  return {
    records: num(/^(\d+) records sent/),
    perSec: num(/([\d.]+) records\/sec/),
    mbPerSec: num(/\(([\d.]+) MB\/sec\)/),
    latencyMs: { p50: num(/(\d+) ms 50th/), p95: num(/(\d+) ms 95th/), p99: num(/(\d+) ms 99th/), mean: num(/([\d.]+) ms avg latency/) },
    recordBytes,
    line,
  };
}

async function receiverSection(admin) {
  const plan = PLAN.receiver;
  const topics = topicSet(admin, 'receiver');
  const recordBytes = await meanEventRecordBytes();
  const bare = [];
  const pp = [];
  const saturation = [];
  const jsCrc = [];
  const traced = [];
  const tracedSampled = [];
  for (let r = 0; r < plan.runs; r++) {
    log(`receiver: run ${r + 1}/${plan.runs}: bare node:http at saturation`);
    bare.push(await bareRun(plan));
    log(`receiver: run ${r + 1}/${plan.runs}: Kafka ProducerPerformance (${plan.ppRecords} records of ${recordBytes} B, acks=all)`);
    pp.push(await producerPerformance(admin, plan, recordBytes));
    log(`receiver: run ${r + 1}/${plan.runs}: callstream receiver at saturation`);
    saturation.push(await receiverRun(admin, topics, plan));
    // A lever's effect, measured in the same run: the receiver with kafkajs's own JavaScript CRC-32C.
    log(`receiver: run ${r + 1}/${plan.runs}: callstream receiver at saturation, JavaScript CRC-32C (CALLSTREAM_JS_CRC32C=1)`);
    jsCrc.push(await receiverRun(admin, topics, plan, undefined, { CALLSTREAM_JS_CRC32C: '1' }));
    // Tracing's cost, measured beside R3 in the same run (docs/tracing.md).
    log(`receiver: run ${r + 1}/${plan.runs}: callstream receiver at saturation, tracing on (OTEL_TRACES_EXPORTER=otlp, every webhook sampled)`);
    traced.push(await tracedReceiverRun(admin, topics, plan));
    log(`receiver: run ${r + 1}/${plan.runs}: callstream receiver at saturation, tracing on, one webhook in ten sampled (parentbased_traceidratio 0.1)`);
    tracedSampled.push(await tracedReceiverRun(admin, topics, plan, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }));
  }
  const satRate = medianOf(saturation, 'okPerSec');
  const rates = [...plan.rates, Math.max(50, Math.round(satRate / 2))];
  const fixed = {};
  for (const rate of rates) fixed[rate] = [];
  for (let r = 0; r < plan.runs; r++) {
    for (const rate of rates) {
      log(`receiver: run ${r + 1}/${plan.runs}: callstream receiver at ${rate}/s offered`);
      fixed[rate].push(await receiverRun(admin, topics, plan, rate));
    }
  }
  const section = { recordBytes, bare, producerPerformance: pp, saturation, jsCrc, traced, tracedSampled, fixed, halfRate: rates.at(-1), rates };
  results.sections.receiver = section;
  return section;
}

// ---------------------------------------------------------------------------------------
// 2. Sink

async function produceBacklog(topic, from, count) {
  return runJsonReport([join(ROOT, 'bench/load/produce.js'), JSON.stringify({ topic, run: runId, from, count })], { name: 'produce', timeoutMs: 900_000 });
}

async function rawConsumerRun(admin, topic, expected, label) {
  const group = admin.group(`bench-${runId}-raw-${label}`);
  return runJsonReport([join(ROOT, 'bench/load/raw-consumer.js'), JSON.stringify({ topic, group, expected, partitions: 6 })], {
    name: 'raw-consumer',
    timeoutMs: 900_000,
  });
}

async function sinkRun(admin, topics, expected, label) {
  const dataDir = tempDir('sink');
  const group = admin.group(`bench-${runId}-sink-${label}`);
  const sink = await startCallstream('sink', brokerEnv(topics, { CALLSTREAM_DATA_DIR: dataDir, CALLSTREAM_CONSUMER_GROUP: group }));
  try {
    const joined = await sink.waitFor((l) => l.msg === 'sink joined the consumer group', 60_000, 'group join');
    const endedAt = await admin.waitCommitted(group, topics.events, expected, { timeoutMs: 1_200_000, alive: () => sink.child.exitCode === null });
    const seconds = (endedAt - joined.time) / 1000;
    const metrics = await (await fetch(`${sink.url}/metrics`)).text();
    const metric = (name) => Number(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(metrics)?.[1]);
    return {
      count: expected,
      seconds,
      perSec: expected / seconds,
      peakRssMb: sink.peakRssMb(),
      flushes: metric('callstream_sink_batches_total'),
      rowsUpserted: metric('callstream_sink_rows_upserted_total'),
      writeSeconds: metric('callstream_sink_write_duration_seconds_sum'),
    };
  } finally {
    await sink.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function sinkSection(admin) {
  const plan = PLAN.sink;
  const topics = { events: `bench.${runId}.backlog.events`, raw: `bench.${runId}.backlog.raw`, dlq: `bench.${runId}.backlog.dlq` };
  await admin.createTopics([topics.events, topics.raw], 6);
  await admin.createTopics([topics.dlq], 1);
  const section = { sizes: [] };
  results.sections.sink = section;
  let filled = 0;
  for (const [k, size] of plan.sizes.entries()) {
    log(`sink: filling the backlog to ${size} events (${size - filled} more)`);
    const fill = await produceBacklog(topics.events, filled, size - filled);
    filled = size;
    const entry = { size, fill, raw: [], sink: [] };
    section.sizes.push(entry);
    for (let r = 0; r < plan.runs[k]; r++) {
      log(`sink: ${size} backlog, run ${r + 1}/${plan.runs[k]}: raw kafkajs consumer (Avro decode only)`);
      entry.raw.push(await rawConsumerRun(admin, topics.events, size, `${size}-${r}`));
      log(`sink: ${size} backlog, run ${r + 1}/${plan.runs[k]}: callstream sink into DuckDB`);
      entry.sink.push(await sinkRun(admin, topics, size, `${size}-${r}`));
    }
  }
  // The backlog is the biggest thing this run leaves on the broker's disk: drop it now.
  await admin.admin.deleteTopics({ topics: [topics.events, topics.raw, topics.dlq], timeout: 60_000 }).catch(() => undefined);
  return section;
}

// ---------------------------------------------------------------------------------------
// 3. End to end (and 4. memory of both processes under that load)

/**
 * One end-to-end run. `warehouseFile` starts it on a warehouse already holding rows: the file is
 * moved into the sink's data dir for the run and back afterwards, so that runs can alternate on
 * it. `baseTime` dates the calls sent (see bench/load/e2e-load.js).
 */
async function e2eRun(admin, r, plan = PLAN.e2e, warehouseFile = undefined, baseTime = undefined) {
  const topics = topicSet(admin, `e2e${r}`);
  const dataDir = tempDir('e2e');
  const inRun = join(dataDir, 'callstream.duckdb');
  if (warehouseFile) renameSync(warehouseFile, inRun);
  try {
    const sink = await startCallstream('sink', brokerEnv(topics, { CALLSTREAM_DATA_DIR: dataDir, CALLSTREAM_CONSUMER_GROUP: admin.group(`bench-${runId}-e2e-${r}`) }));
    let receiver;
    try {
      receiver = await startCallstream('receiver', brokerEnv(topics, { CALLSTREAM_DATA_DIR: tempDir('e2e-receiver') }));
      const load = await runJsonReport(
        [
          join(ROOT, 'bench/load/e2e-load.js'),
          JSON.stringify({ url: receiver.url, socket: join(dataDir, 'callstream.sock'), rate: plan.rate, seconds: plan.seconds, warmupSec: plan.warmupSec, run: `${runId}e${r}`, drainSec: plan.drainSec, baseTime }),
        ],
        { name: 'e2e-load', timeoutMs: (plan.seconds + plan.warmupSec + plan.drainSec + 60) * 1000 },
      );
      return { ...load, receiverPeakRssMb: receiver.peakRssMb(), sinkPeakRssMb: sink.peakRssMb() };
    } finally {
      await receiver?.stop();
      await sink.stop();
    }
  } finally {
    if (warehouseFile) renameSync(inRun, warehouseFile);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function e2eSection(admin) {
  const runs = [];
  for (let r = 0; r < PLAN.e2e.runs; r++) {
    log(`end to end: run ${r + 1}/${PLAN.e2e.runs} at ${PLAN.e2e.rate} webhooks/s`);
    runs.push(await e2eRun(admin, r));
  }
  results.sections.e2e = { runs };
  return results.sections.e2e;
}

// ---------------------------------------------------------------------------------------
// 7. History: the DuckDB write path from 0 to 10 million rows, and the end to end on top of it

async function historySection(admin) {
  const plan = PLAN.history;
  const dir = tempDir('history');
  const history = (writePath, rows, step, keep) =>
    runJsonReport([join(ROOT, 'bench/load/history.js'), JSON.stringify({ rows, step, probes: plan.probes, writePath, dir, keep })], { name: `history (${writePath})`, timeoutMs: 6 * 3600_000 });
  const reuse = args['history-reuse'];
  const reported = (file) => JSON.parse(readFileSync(join(reuse, file), 'utf8').trim().split('\n').at(-1)).report;
  if (reuse) log(`history: the write path's reports and warehouse file from ${reuse}`);
  else log(`history: the DuckDB write path from 0 to ${plan.rows} call_events rows (and as many requests rows), measured every ${plan.step}`);
  const reusedFile = (report) => report.file ?? join(reuse, 'keep-filtered.duckdb');
  const filtered = reuse ? ((r) => ({ ...r, file: reusedFile(r) }))(reported('filtered.jsonl')) : await history('filtered', plan.rows, plan.step, true);
  if (!reuse) log(`history: the same with the whole-table MERGE (the design before), to ${plan.baselineRows} rows`);
  // Reused, the baseline's report may be left out (no merge.jsonl): the chart then shows one design.
  const merge = reuse ? (existsSync(join(reuse, 'merge.jsonl')) ? reported('merge.jsonl') : undefined) : await history('merge', plan.baselineRows, plan.baselineStep, false);
  // Each part after the write path runs whatever became of the one before: a part that fails is
  // reported (a failed target naming it) and the rest, and the hour already spent, are kept.
  const failures = [];
  const parts = historyParts;
  const part = async (name, run) => {
    try {
      return await run();
    } catch (err) {
      log(`history: ${name} failed: ${err.message}`);
      failures.push({ part: name, error: err.message });
      return undefined;
    }
  };
  // Live traffic on top of the history is newer than all of it: its calls are dated a day after
  // the history's newest (call n of the history took place n seconds after BASE_TIME). Runs
  // alternate, full then empty, on the same file; then one run whose calls are dated at the
  // history's start, as a replay of old calls would be (its redeliveries' stored versions are
  // looked for among every row since then: what that costs, shown apart, not the target).
  const liveFrom = callTime(filtered.stored + 86_400);
  const full = [];
  const empty = [];
  let oldest;
  for (let round = 0; parts.has('e2e') && round < plan.e2e.rounds; round++) {
    log(`history: end to end at ${plan.e2e.rate} webhooks/s, round ${round + 1}/${plan.e2e.rounds}: into the warehouse holding ${filtered.stored} rows, then into an empty one`);
    if (filtered.file) full.push(await part(`end to end, full, round ${round + 1}`, () => e2eRun(admin, `hfull${round}`, plan.e2e, filtered.file, liveFrom)));
    empty.push(await part(`end to end, empty, round ${round + 1}`, () => e2eRun(admin, `hempty${round}`, plan.e2e, undefined, liveFrom)));
  }
  if (filtered.file && parts.has('e2e')) {
    log('history: end to end on the full warehouse, calls dated at the history\'s start');
    oldest = await part('end to end, full, calls dated at the start', () => e2eRun(admin, 'holdest', plan.e2e, filtered.file));
  }
  if (parts.has('gaps')) log(`history: the call_gaps view over a year of ${plan.rows} calls (the sink's count and callstream gaps' list)`);
  const gaps = parts.has('gaps') && await part('gaps', () => runJsonReport([join(ROOT, 'bench/load/gaps-query.js'), JSON.stringify({ calls: plan.rows, probes: plan.probes > 5 ? 5 : plan.probes, dir })], { name: 'gaps-query', timeoutMs: 3600_000 }));
  if (parts.has('erased')) log(`history: ${plan.erased.count} calls of an erased tenant through the sink, next to as many ordinary ones (${plan.erased.rounds} round(s))`);
  const erased = parts.has('erased') && await part('erased tenant', () => runJsonReport([join(ROOT, 'bench/load/erased-tenant.js'), JSON.stringify(plan.erased)], { name: 'erased-tenant', timeoutMs: 3600_000 }));
  if (parts.has('backlog')) log(`history: the sink draining a backlog of ${plan.backlog.count} webhooks of 900 KB`);
  const backlog = parts.has('backlog') && await part('backlog', () => runJsonReport([join(ROOT, 'bench/load/large-backlog.js'), JSON.stringify(plan.backlog)], { name: 'large-backlog', timeoutMs: 3600_000 }));
  // BigQuery's write path on the emulator: merge mode as shipped (no partition bound), with a
  // one-day lookback, and staged mode; each MERGE's partition filter stands in for bytes billed.
  const bigquery = [];
  for (const mode of parts.has('bigquery') ? [{ mode: 'merge' }, { mode: 'merge', lookbackDays: 1 }, { mode: 'staged' }] : []) {
    const name = `BigQuery ${mode.mode} mode${mode.lookbackDays ? ` (mergeLookbackDays ${mode.lookbackDays})` : ''}`;
    log(`history: ${name} on the emulator, 0 to ${plan.bigquery.rows} call_events rows`);
    const report = await part(name, () => runJsonReport([join(ROOT, 'bench/load/bq-history.js'), JSON.stringify({ ...plan.bigquery, ...mode, endpoint: bqEndpoint(), grpc: bqGrpcEndpoint() })], { name: `bq-history (${mode.mode})`, timeoutMs: 3600_000 }));
    if (report) bigquery.push(report);
    // bq-history stops on a failed write and reports it rather than exit: a failure all the same.
    if (report?.failure) failures.push({ part: name, error: report.failure });
  }
  const chart = args.chart ?? (args.out ? args.out.replace(/\.json$/, '') : join(ROOT, 'bench/results', `history-${results.startedAt.replace(/[:.]/g, '-')}`)) + (args.chart ? '' : '.svg');
  mkdirSync(join(chart, '..'), { recursive: true });
  writeFileSync(chart, historyChart({ filtered, merge }));
  log(`history: chart written to ${chart}`);
  results.sections.history = { filtered, merge, e2e: { full: full.filter(Boolean), empty: empty.filter(Boolean), oldest: oldest ? [oldest] : [], liveFrom: new Date(liveFrom).toISOString() }, gaps: gaps || undefined, erased: erased || undefined, backlog: backlog || undefined, bigquery: parts.has('bigquery') ? bigquery : undefined, chart, failures };
  return results.sections.history;
}

// ---------------------------------------------------------------------------------------
// 6. `callstream trace`: its lookups with a million requests indexed, against one keyed SELECT

async function traceSection() {
  log(`trace: ${PLAN.trace.requests} requests indexed, ${PLAN.trace.samples} calls traced`);
  const report = await runJsonReport([join(ROOT, 'bench/load/trace-lookup.js'), JSON.stringify(PLAN.trace)], { name: 'trace-lookup', timeoutMs: 1_200_000 });
  results.sections.trace = report;
  return report;
}

// ---------------------------------------------------------------------------------------
// 5. BigQuery path (emulator): shape, not speed

function mergeShape(merges, windowMs = 10_000) {
  const byTable = new Map();
  for (const m of merges) {
    if (!byTable.has(m.table)) byTable.set(m.table, []);
    byTable.get(m.table).push(m);
  }
  let perWindow = 0;
  let concurrent = 0;
  for (const list of byTable.values()) {
    const starts = list.map((m) => m.start).sort((a, b) => a - b);
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (starts[i] - starts[j] >= windowMs) j++;
      perWindow = Math.max(perWindow, i - j + 1);
    }
    const events = list.flatMap((m) => [
      [m.start, 1],
      [m.end, -1],
    ]);
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    for (const [, d] of events) concurrent = Math.max(concurrent, (now += d));
  }
  const rows = merges.map((m) => m.rows);
  return {
    merges: merges.length,
    rowsPerMerge: { median: median(rows), max: max(rows), min: rows.length ? Math.min(...rows) : NaN },
    maxMergesPer10s: perWindow,
    maxConcurrentPerTable: concurrent,
    maxRequestBytes: max(merges.map((m) => m.requestBytes)),
    medianMergeMs: median(merges.map((m) => m.end - m.start)),
  };
}

/** The group's committed records on `topic`, watched until `expected` or the deadline (ms since epoch). */
async function watchCommitted(admin, group, topic, expected, deadline) {
  let committed = 0;
  while (Date.now() < deadline) {
    committed = await admin.committed(group, topic);
    if (committed >= expected) break;
    await sleep(250);
  }
  return committed;
}

async function bigquerySection(admin, saturationRate) {
  const plan = PLAN.bigquery;
  const rate = Math.round(Math.min(plan.maxRate, saturationRate));
  const topic = `bench.${runId}.bq.events`;
  await admin.createTopics([topic], 6);
  admin.track([`${topic}.raw`, `${topic}.dlq`]);
  const group = admin.group(`bench-${runId}-bq`);
  const sink = spawnJsonLines(
    [join(ROOT, 'bench/load/bq-sink.js'), JSON.stringify({ topic, group, dataset: `bench_${runId}`, endpoint: bqEndpoint(), project: process.env.BQ_EMULATOR_PROJECT ?? 'callstream-local' })],
    { name: 'bq-sink' },
  );
  try {
    const ready = await sink.waitFor((l) => l.msg === 'callstream is ready', 90_000, 'readiness');
    const started = Date.now();
    log(`bigquery: ${rate} events/s (the receiver's saturation rate) for ${plan.seconds} s into the BigQuery sink (emulator), observed for ${plan.observeSec} s`);
    const fed = await runJsonReport([join(ROOT, 'bench/load/produce.js'), JSON.stringify({ topic, run: `${runId}bq`, from: 0, rate, seconds: plan.seconds })], { name: 'produce (paced)' });
    const committed = await watchCommitted(admin, group, topic, fed.sent, started + plan.observeSec * 1000);
    const observedSec = (Date.now() - started) / 1000;
    await sink.stop(60_000);
    const report = sink.lines.find((l) => l.report)?.report;
    if (!report) throw new Error(`bq-sink gave no report: ${sink.stderr.slice(-2000)}`);
    const section = { rate, fed, committed, observedSec, flush: ready.flush, settings: ready.settings, ...mergeShape(report.merges), peakRssMb: report.peakRssMb, rawMerges: report.merges };
    results.sections.bigquery = section;
    return section;
  } finally {
    await sink.stop(5_000);
  }
}

// ---------------------------------------------------------------------------------------
// 5b. BigQuery staged mode (emulator): a producer offers the rate (20,000 events/s into one
// table; the receiver cannot offer it on this machine) while a sink in staged mode
// (connectors/bigquery-staged-sink.json) appends through the Storage Write API and MERGEs.

/** The appends' shape: rows appended per second (first append sent to last answered), request sizes. */
function appendShape(appends) {
  const ok = appends.filter((a) => a.ok);
  const rows = ok.reduce((n, a) => n + a.rows, 0);
  const spanMs = ok.length ? Math.max(...ok.map((a) => a.end)) - Math.min(...ok.map((a) => a.start)) : NaN;
  return {
    appends: ok.length,
    failedAppends: appends.length - ok.length,
    appendedRows: rows,
    appendRowsPerSec: rows / (spanMs / 1000),
    rowsPerAppend: { median: median(ok.map((a) => a.rows)), max: max(ok.map((a) => a.rows)) },
    maxAppendBytes: max(appends.map((a) => a.bytes)),
    medianAppendMs: median(ok.map((a) => a.end - a.start)),
  };
}

async function bigqueryStagedSection(admin) {
  const plan = PLAN.bigqueryStaged;
  const topic = `bench.${runId}.bqs.events`;
  await admin.createTopics([topic], 6);
  admin.track([`${topic}.raw`, `${topic}.dlq`]);
  const group = admin.group(`bench-${runId}-bqs`);
  const project = process.env.BQ_EMULATOR_PROJECT ?? 'callstream-local';
  const sink = spawnJsonLines([join(ROOT, 'bench/load/bq-sink.js'), JSON.stringify({ mode: 'staged', topic, group, dataset: `bench_${runId}_staged`, endpoint: bqEndpoint(), grpc: bqGrpcEndpoint(), project })], {
    name: 'bq-sink (staged)',
  });
  try {
    const ready = await sink.waitFor((l) => l.msg === 'callstream is ready', 90_000, 'readiness');
    const started = Date.now();
    log(`bigquery-staged: ${plan.rate} events/s offered for ${plan.seconds} s into one table (staged mode, emulator), observed for up to ${plan.observeSec} s`);
    const fed = await runJsonReport([join(ROOT, 'bench/load/produce.js'), JSON.stringify({ topic, run: `${runId}bqs`, from: 0, rate: plan.rate, seconds: plan.seconds })], {
      name: 'produce (paced)',
      timeoutMs: (plan.seconds + 120) * 1000,
    });
    const committed = await watchCommitted(admin, group, topic, fed.sent, started + plan.observeSec * 1000);
    const observedSec = (Date.now() - started) / 1000;
    await sink.stop(60_000);
    const report = sink.lines.find((l) => l.report)?.report;
    if (!report) throw new Error(`bq-sink (staged) gave no report: ${sink.stderr.slice(-2000)}`);
    const section = {
      rate: plan.rate,
      fed,
      committed,
      observedSec,
      committedPerSec: committed / observedSec,
      flush: ready.flush,
      settings: ready.settings,
      ...mergeShape(report.merges),
      ...appendShape(report.appends),
      staged: report.staged,
      peakRssMb: report.peakRssMb,
      rawMerges: report.merges,
    };
    results.sections.bigqueryStaged = section;
    return section;
  } finally {
    await sink.stop(5_000);
  }
}

// ---------------------------------------------------------------------------------------

async function main() {
  if (!args['no-build']) {
    log('building dist/ (tsc)');
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  }
  results.machine = machine();
  log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB; load average ${results.machine.loadAverageAtStart.join(' ')}`);
  const stopServices = await ensureServices();
  const admin = new BenchAdmin();
  await admin.connect();
  const interrupted = () => {
    log('interrupted: cleaning up topics');
    void admin.cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    if (only.has('receiver')) await receiverSection(admin);
    if (only.has('sink')) await sinkSection(admin);
    if (only.has('e2e')) await e2eSection(admin);
    if (only.has('bigquery')) await bigquerySection(admin, results.sections.receiver ? medianOf(results.sections.receiver.saturation, 'okPerSec') : 2_000);
    if (only.has('bigquery-staged')) await bigqueryStagedSection(admin);
    if (only.has('trace')) await traceSection();
    if (only.has('history')) await historySection(admin);
  } finally {
    const deleted = await admin.cleanup().catch((err) => (log(`topic cleanup failed: ${err.message}`), []));
    log(`deleted ${deleted.length} benchmark topics`);
    await admin.disconnect();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    stopServices();
  }
  results.machine.loadAverageAtEnd = loadavg().map((x) => +x.toFixed(2));
  results.durationSec = Math.round((Date.now() - began) / 1000);
  const { text, rows, bigquery, bigqueryStaged, history, targets } = formatReport(results);
  results.history = history;
  results.rows = rows;
  results.bigquery = bigquery;
  results.bigqueryStaged = bigqueryStaged;
  results.targets = targets;
  const out = args.out ?? join(ROOT, 'bench/results', `${smoke ? 'smoke' : 'bench'}-${results.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2));
  if (!args.out) writeFileSync(join(ROOT, 'bench/results', smoke ? 'latest-smoke.json' : 'latest.json'), JSON.stringify(results, null, 2));
  console.log(text);
  console.log(`\nResults: ${out}`);
  // A part of the history that failed is in the report; the exit says so too.
  const failures = results.sections.history?.failures ?? [];
  if (failures.length > 0) {
    log(`history: ${failures.length} part(s) failed: ${failures.map((f) => f.part).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
