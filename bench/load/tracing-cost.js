#!/usr/bin/env node
// Tracing's cost in the receiver, measured as CPU per webhook at a fixed offered rate (steadier
// than throughput at saturation on a shared machine): `callstream receiver` with tracing off,
// on with nothing sampled (always_off), one in ten sampled and every webhook sampled, spans
// exported over OTLP/HTTP to bench/load/otlp-sink.js. The modes run interleaved, round after
// round, so a neighbour's load falls on all of them alike; medians per mode. With several
// `clis` (e.g. the bin/callstream.js of another checkout's build) each mode runs on each, so
// two builds are compared in one sitting.
//
// Needs a broker (KAFKA_BROKERS, default 127.0.0.1:9092) and dist/ built. Prints one JSON report.
// Usage: node bench/load/tracing-cost.js ['{"rate":1000,"seconds":10,"warmupSec":2,"rounds":3,
//        "modes":["off","always_off","ratio_0.01","ratio_0.1","ratio_0.5","always_on","always_on@proto"],"clis":["bin/callstream.js"],
//        "nodeArgs":["--cpu-prof","--cpu-prof-dir=/tmp/prof"]}']
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { callstreamEnv, ROOT, runJsonReport, spawnJsonLines } from '../lib/procs.js';
import { median } from '../lib/stats.js';

const opts = { rate: 1_000, seconds: 10, warmupSec: 2, connections: 32, rounds: 3, modes: ['off', 'always_off', 'ratio_0.1', 'always_on'], clis: ['bin/callstream.js'], ...JSON.parse(process.argv[2] ?? '{}') };
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const runId = `tc${Date.now().toString(36)}`;
const topics = { events: `bench.${runId}.events`, raw: `bench.${runId}.raw`, dlq: `bench.${runId}.dlq` };
const log = (msg) => console.error(`[tracing-cost] ${msg}`);

const SAMPLERS = {
  off: { OTEL_TRACES_EXPORTER: 'none' },
  always_off: { OTEL_TRACES_SAMPLER: 'always_off' },
  'ratio_0.1': { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
  'ratio_0.001': { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.001' },
  'ratio_0.01': { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' },
  'ratio_0.5': { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' },
  always_on: { OTEL_TRACES_SAMPLER: 'always_on' },
};

async function run(cli, mode, otlpUrl, startIndex) {
  const dataDir = mkdtempSync(join(tmpdir(), 'callstream-tracing-cost-'));
  // A mode may end in "@proto": the same sampler, spans exported as OTLP/HTTP protobuf.
  const [sampler, protocol] = mode.split('@');
  const tracing = sampler === 'off' ? SAMPLERS.off : { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, ...SAMPLERS[sampler], ...(protocol === 'proto' ? { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' } : {}) };
  const env = callstreamEnv({
    KAFKA_BROKERS: BROKERS.join(','),
    PORT: '0',
    LOG_LEVEL: 'info',
    CALLSTREAM_DATA_DIR: dataDir,
    CALLSTREAM_TOPIC_REPLICATION: '1',
    CALLSTREAM_TOPIC_PARTITIONS: '6',
    CALLSTREAM_TOPIC_EVENTS: topics.events,
    CALLSTREAM_TOPIC_RAW: topics.raw,
    CALLSTREAM_TOPIC_DLQ: topics.dlq,
    ...tracing,
  });
  const receiver = spawnJsonLines([resolve(ROOT, cli), 'receiver'], { env, name: `receiver (${cli}, ${mode})`, nodeArgs: opts.nodeArgs ?? [] });
  try {
    const { url } = await receiver.waitFor((l) => typeof l.url === 'string' && /listening/.test(l.msg ?? ''), 90_000, 'listening line');
    await receiver.waitFor((l) => l.msg === 'callstream is ready', 90_000, '"callstream is ready"');
    const cpu0 = receiver.cpuSeconds();
    const load = await runJsonReport(
      [join(ROOT, 'bench/load/http-load.js'), JSON.stringify({ url, connections: opts.connections, durationSec: opts.seconds, warmupSec: opts.warmupSec, rate: opts.rate, run: runId, startIndex })],
      { name: 'http-load', timeoutMs: (opts.seconds + opts.warmupSec + 60) * 1000 },
    );
    const cpu = receiver.cpuSeconds() - cpu0;
    const answered = load.requestsSent - startIndex;
    return { cli, mode, okPerSec: load.okPerSec, webhooks: answered, cpuSeconds: cpu, cpuPerWebhookUs: (cpu / answered) * 1e6, p99Ms: load.latencyMs?.p99, peakRssMb: receiver.peakRssMb() };
  } finally {
    await receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const otlp = spawnJsonLines([join(ROOT, 'bench/load/otlp-sink.js')], { name: 'otlp sink' });
const admin = new Kafka({ clientId: 'tracing-cost', brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
const runs = [];
try {
  const { url: otlpUrl } = await otlp.waitFor((l) => l.url, 30_000, 'listening line');
  await admin.connect();
  let startIndex = 0;
  for (let round = 0; round < opts.rounds; round++) {
    for (const mode of opts.modes) {
      for (const cli of opts.clis) {
        startIndex += 10_000_000;
        const result = await run(cli, mode, otlpUrl, startIndex);
        log(`round ${round + 1}/${opts.rounds} ${cli} ${mode}: ${result.cpuPerWebhookUs.toFixed(0)} µs CPU per webhook, ${result.okPerSec.toFixed(0)}/s`);
        runs.push(result);
      }
    }
  }
} finally {
  await otlp.stop();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
}

const summary = [];
for (const cli of opts.clis) {
  const of = (mode) => runs.filter((r) => r.cli === cli && r.mode === mode);
  const base = median(of('off').map((r) => r.cpuPerWebhookUs));
  for (const mode of opts.modes) {
    const us = median(of(mode).map((r) => r.cpuPerWebhookUs));
    summary.push({ cli, mode, cpuPerWebhookUs: Math.round(us), vsOff: mode === 'off' ? 1 : Number((us / base).toFixed(3)), okPerSec: Math.round(median(of(mode).map((r) => r.okPerSec))), runs: of(mode).length });
  }
}
console.log(JSON.stringify({ report: { ...opts, node: process.version, summary, runs } }));
process.exit(0);
