// An erased tenant's traffic through the whole sink, next to ordinary traffic: `count` (default
// 100,000) call.completed records of tenant 44, erased (`callstream erase --tenant 44` recorded on
// the erasures topic before the sink starts), and as many of tenant 45, which no erasure covers.
// Each pass is its own topics, consumer group and DuckDB file with the same erasure recorded, and
// `callstream sink` (bin/callstream.js, a child process) drains it; passes alternate between the
// two tenants for `rounds` rounds. The sink refuses each erased call and learns its id (its
// later callbacks and requests are refused too), so the erased pass is the erasure set's
// worst case: every record a new call to learn, up to the set's limit.
//
// Prints one JSON report: per tenant, the median records/s from joining the group to every
// offset committed, peak RSS, rows written, records refused as erased; and the ratio of the
// rates (target: erased at least 80 % of ordinary).
//
// Usage: node bench/load/erased-tenant.js ['{"count":100000,"rounds":2}']
//   optional: "partitions" (6), "env" (more settings of the sink), "keep" (keep topics, groups, files)
// Needs dist/ (npm run build) and a broker (scripts/kafka.sh start, or KAFKA_BROKERS).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../dist/codec/index.js';
import { BenchAdmin, benchKafka } from '../lib/kafka.js';
import { eventRecordAt } from '../lib/payload.js';
import { startCallstream } from '../lib/procs.js';
import { median } from '../lib/stats.js';
import { createSinkTopics, problems, sinkSettings, watchDrain } from '../lib/sink-drain.js';

const opts = { count: 100_000, rounds: 2, partitions: 6, stallSec: 120, ...JSON.parse(process.argv[2] ?? '{}') };
const ERASED = 44;
const ORDINARY = 45;
const runId = Date.now().toString(36);
const log = (msg) => console.error(`[erased-tenant] ${msg}`);

/** The erasure `callstream erase --tenant 44` records (src/erasure/erasure.ts, `Erasure`). */
const erasure = { key: `tenant:${ERASED}`, kind: 'tenant', erasedAt: new Date().toISOString(), phones: [], callIds: [], callSids: [], tenants: [ERASED], callTenants: [ERASED] };

/** `count` new calls of `tenant` (each call.completed once: no redeliveries, so every erased one is a call to learn). */
async function produce(producer, codec, topics, tenant, pass) {
  await producer.send({ topic: topics.erasures, acks: -1, messages: [{ key: erasure.key, value: JSON.stringify(erasure) }] });
  const inFlight = new Set();
  const PER_SEND = 500;
  for (let from = 0; from < opts.count; from += PER_SEND) {
    const messages = [];
    for (let i = from; i < Math.min(opts.count, from + PER_SEND); i++) {
      const base = eventRecordAt(`${runId}p${pass}`, i * 10, Date.now());
      const record = { ...base, tenant_id: tenant, payload: base.payload.replace(/"tenant_id":\d+/, `"tenant_id":${tenant}`) };
      messages.push({ key: record.entity_id, value: codec.encode(SCHEMA_NAMES.callaroEvent, record), headers: { 'callstream-request-id': record.request_id, 'callstream-family': 'call' } });
    }
    const p = producer.send({ topic: topics.events, acks: 1, messages }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/** Records the sink said it did not write because an erasure covers them. */
const refusedAsErased = (sink) => sink.lines.filter((l) => l.msg === 'records of erased subjects not written').reduce((n, l) => n + Number(l.erased ?? 0), 0);

const admin = new BenchAdmin();
await admin.connect();
const codec = AvroCodec.fromDirectory(schemasDir());
const producer = benchKafka('callstream-bench-erased').producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: false });
await producer.connect();
const dirs = [];
const passes = [];
let sink;
try {
  const plan = [];
  for (let round = 0; round < opts.rounds; round++) plan.push(ORDINARY, ERASED);
  // Every pass's records first, so that no pass drains while another is produced.
  for (const [pass, tenant] of plan.entries()) {
    const topics = await createSinkTopics(admin, `bench.${runId}.erased${pass}`, { partitions: opts.partitions });
    await produce(producer, codec, topics, tenant, pass);
    passes.push({ pass, tenant, topics, end: await admin.endOffsets(topics.events) });
    log(`pass ${pass}: ${opts.count} calls of tenant ${tenant}${tenant === ERASED ? ' (erased)' : ''} produced`);
  }
  await producer.disconnect();
  for (const p of passes) {
    const dataDir = mkdtempSync(join(tmpdir(), 'callstream-bench-erased-'));
    dirs.push(dataDir);
    const group = admin.group(`bench-${runId}-erased${p.pass}`);
    sink = await startCallstream('sink', sinkSettings({ topics: p.topics, group, dataDir, partitions: opts.partitions, env: opts.env }));
    const drained = await watchDrain(admin, sink, { group, topic: p.topics.events, end: p.end, capMb: 4_096, stallSec: opts.stallSec, log });
    Object.assign(p, { ...drained, refused: refusedAsErased(sink), problems: problems(sink), recordsPerSec: Math.round(drained.committed / drained.seconds) });
    await sink.stop(20_000);
    sink = undefined;
    log(`pass ${p.pass} (tenant ${p.tenant}): ${p.committed} records in ${p.seconds.toFixed(1)} s (${p.recordsPerSec}/s), ${p.metrics.rowsUpserted} rows written, ${p.refused} refused as erased, peak RSS ${p.peakRssMb} MB`);
  }
  const of = (tenant) => passes.filter((p) => p.tenant === tenant);
  const summary = (tenant) => {
    const runs = of(tenant);
    return {
      tenant,
      recordsPerSec: median(runs.map((p) => p.recordsPerSec)),
      peakRssMb: Math.max(...runs.map((p) => p.peakRssMb)),
      rowsWritten: runs.map((p) => p.metrics.rowsUpserted),
      refusedAsErased: runs.map((p) => p.refused),
      incomplete: runs.some((p) => p.stalled || p.killed || p.committed < p.end),
    };
  };
  const ordinary = summary(ORDINARY);
  const erased = summary(ERASED);
  console.log(
    JSON.stringify({
      report: {
        count: opts.count,
        rounds: opts.rounds,
        ordinary,
        erased,
        ratio: Math.round((erased.recordsPerSec / ordinary.recordsPerSec) * 1000) / 1000,
        passes: passes.map(({ pass, tenant, committed, seconds, recordsPerSec, peakRssMb, refused, metrics, problems: warned, stalled, killed }) => ({ pass, tenant, committed, seconds: Math.round(seconds * 10) / 10, recordsPerSec, peakRssMb, refused, rowsWritten: metrics.rowsUpserted, stalled, killed, problems: warned })),
      },
    }),
  );
} finally {
  await sink?.stop(20_000);
  await producer.disconnect().catch(() => undefined);
  if (!opts.keep) {
    await admin.cleanup().catch((err) => log(`cleanup: ${err.message}`));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  await admin.disconnect();
}
