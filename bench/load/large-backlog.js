// The sink draining a backlog of large events: N (default 2,000) call.completed records of
// about 900 KB each (a long transcript in the payload) are produced into a fresh events
// topic, then `callstream sink` (bin/callstream.js, a child process) drains it into a fresh
// DuckDB file while its resident memory is sampled. Prints one JSON report: peak RSS, the
// RSS over time, the rate (records/s, MB/s of Kafka records) and the time from joining the
// group to every offset committed (which the sink does only after the write).
//
// Guards for the shared machine: a sink whose RSS passes capMb (default 4,096) is killed
// (SIGKILL), and one that commits nothing for stallSec (default 120) is stopped; the report
// says so (killed or stalled: true, with how far it got and the sink's warnings).
//
// Usage: node bench/load/large-backlog.js ['{"count":2000,"recordKb":900,"capMb":4096}']
//   optional: "flushIntervalMs" (CALLSTREAM_FLUSH_INTERVAL_MS, e.g. 60000 for a slow warehouse),
//   "bufferBytes" (CALLSTREAM_SINK_BUFFER_BYTES), "env" (more settings of the sink, e.g.
//   {"CALLSTREAM_DUCKDB_MEMORY_LIMIT":"1GB"}), "partitions" (6), "keep" (keep topics, group, DuckDB file)
// Needs dist/ (npm run build) and a broker (scripts/kafka.sh start, or KAFKA_BROKERS).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../dist/codec/index.js';
import { BenchAdmin, benchKafka } from '../lib/kafka.js';
import { eventRecordAt } from '../lib/payload.js';
import { startCallstream } from '../lib/procs.js';
import { createSinkTopics, problems, sinkSettings, watchDrain } from '../lib/sink-drain.js';

const opts = { count: 2_000, recordKb: 900, capMb: 4_096, stallSec: 120, partitions: 6, ...JSON.parse(process.argv[2] ?? '{}') };
const runId = `${Date.now().toString(36)}`;
const log = (msg) => console.error(`[large-backlog] ${msg}`);
const MB = 1024 * 1024;

/** A few distinct transcripts of about recordKb (words from a seeded generator), shared by the records. */
function transcripts(bytes, variants = 8) {
  const words = 'customer agent pricing demo week calendar invite budget finance review competitor follow case studies logistics retail integration crm security legal terms'.split(' ');
  return Array.from({ length: variants }, (_, v) => {
    let seed = v + 1;
    const parts = [];
    let length = 0;
    while (length < bytes) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const word = words[seed % words.length];
      parts.push(word);
      length += word.length + 1;
    }
    return parts.join(' ');
  });
}

/** Record i: the usual call.completed event of bench/lib/payload.js with a long transcript in its payload. */
function bigEventRecord(texts, i, now) {
  const record = eventRecordAt(runId, i, now);
  const transcript = texts[i % texts.length];
  return { ...record, payload: `${record.payload.slice(0, -1)},"transcript":${JSON.stringify(transcript)}}` };
}

async function produce(topic) {
  const codec = AvroCodec.fromDirectory(schemasDir());
  const texts = transcripts(opts.recordKb * 1024);
  const producer = benchKafka('callstream-bench-large').producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  const started = Date.now();
  let bytes = 0;
  // A few records per request: each partition's record batch stays well under the topic's 8 MiB limit.
  const PER_SEND = 4;
  const inFlight = new Set();
  for (let from = 0; from < opts.count; from += PER_SEND) {
    const messages = [];
    for (let i = from; i < Math.min(opts.count, from + PER_SEND); i++) {
      const record = bigEventRecord(texts, i, Date.now());
      const value = codec.encode(SCHEMA_NAMES.callaroEvent, record);
      bytes += value.length;
      messages.push({ key: record.entity_id, value, headers: { 'callstream-request-id': record.request_id, 'callstream-family': 'call' } });
    }
    const p = producer.send({ topic, acks: 1, messages }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  return { records: opts.count, bytes, seconds: (Date.now() - started) / 1000 };
}

const admin = new BenchAdmin();
await admin.connect();
const group = admin.group(`bench-${runId}-large`);
const dataDir = mkdtempSync(join(tmpdir(), 'callstream-bench-large-'));
let sink;
try {
  const topics = await createSinkTopics(admin, `bench.${runId}.large`, { partitions: opts.partitions });
  log(`producing ${opts.count} records of about ${opts.recordKb} KB into ${topics.events}`);
  const fill = await produce(topics.events);
  log(`produced ${(fill.bytes / MB).toFixed(0)} MB in ${fill.seconds.toFixed(1)} s; starting callstream sink`);
  const end = await admin.endOffsets(topics.events);

  const settings = sinkSettings({
    topics,
    group,
    dataDir,
    partitions: opts.partitions,
    env: {
      ...(opts.flushIntervalMs !== undefined && { CALLSTREAM_FLUSH_INTERVAL_MS: String(opts.flushIntervalMs) }),
      ...(opts.bufferBytes !== undefined && { CALLSTREAM_SINK_BUFFER_BYTES: String(opts.bufferBytes) }),
      ...opts.env,
    },
  });
  sink = await startCallstream('sink', settings);
  const { seconds, committed, killed, stalled, peakRssMb, samples, metrics } = await watchDrain(admin, sink, { group, topic: topics.events, end, capMb: opts.capMb, stallSec: opts.stallSec, log });
  const drainedBytes = (fill.bytes * Math.min(committed, end)) / end;
  console.log(
    JSON.stringify({
      report: {
        records: end,
        meanRecordBytes: Math.round(fill.bytes / fill.records),
        backlogMB: Math.round(fill.bytes / MB),
        settings: { flushIntervalMs: opts.flushIntervalMs ?? '(default)', bufferBytes: opts.bufferBytes ?? '(default)', ...opts.env },
        killed,
        stalled,
        committed,
        seconds: Math.round(seconds * 10) / 10,
        recordsPerSec: Math.round(committed / seconds),
        mbPerSec: Math.round((drainedBytes / MB / seconds) * 10) / 10,
        peakRssMb,
        rssOverTime: samples,
        ...metrics,
        problems: problems(sink),
      },
    }),
  );
} finally {
  await sink?.stop(20_000);
  if (!opts.keep) {
    await admin.cleanup().catch((err) => log(`cleanup: ${err.message}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
  await admin.disconnect();
}
