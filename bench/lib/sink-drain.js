// `callstream sink` (bin/callstream.js, a child process) draining records a bench produced into
// topics of its own: the topics, the sink's settings, and the drain watched from outside (the
// group's committed offsets, which the sink moves only after the write, and the sink's RSS).
// Used by bench/load/large-backlog.js and bench/load/erased-tenant.js.
import { readFileSync } from 'node:fs';
import { BROKERS } from './kafka.js';
import { sleep } from './procs.js';

const MB = 1024 * 1024;
/** Every topic `callstream sink` reads or writes, by the name its setting ends with. */
export const SINK_TOPICS = ['events', 'raw', 'dlq', 'telephony', 'telephony-raw', 'telephony-dlq', 'erasures'];

/**
 * The sink's topics, created well before it starts (a topic created just before its first
 * ListOffsets can answer "not the leader" on a loaded broker), tracked for cleanup. Each allows
 * batches of `maxMessageBytes` (the sink's own contract is 8 MiB), so several large records fit.
 */
export async function createSinkTopics(admin, prefix, { partitions = 6, maxMessageBytes = 8 * MB } = {}) {
  const topics = Object.fromEntries(SINK_TOPICS.map((n) => [n, `${prefix}.${n}`]));
  admin.track(Object.values(topics));
  const size = { name: 'max.message.bytes', value: String(maxMessageBytes) };
  await admin.admin.createTopics({
    topics: SINK_TOPICS.map((n) => ({
      topic: topics[n],
      numPartitions: n.endsWith('dlq') || n === 'erasures' ? 1 : partitions,
      replicationFactor: 1,
      configEntries: n === 'erasures' ? [size, { name: 'cleanup.policy', value: 'compact' }] : [size],
    })),
    waitForLeaders: true,
  });
  return topics;
}

/** The settings of a `callstream sink` reading `topics` in `group` into a DuckDB file under dataDir. */
export function sinkSettings({ topics, group, dataDir, partitions = 6, env = {} }) {
  return {
    KAFKA_BROKERS: BROKERS.join(','),
    PORT: '0',
    CALLSTREAM_DATA_DIR: dataDir,
    CALLSTREAM_CONSUMER_GROUP: group,
    CALLSTREAM_TOPIC_REPLICATION: '1',
    CALLSTREAM_TOPIC_PARTITIONS: String(partitions),
    CALLSTREAM_TOPIC_EVENTS: topics.events,
    CALLSTREAM_TOPIC_RAW: topics.raw,
    CALLSTREAM_TOPIC_DLQ: topics.dlq,
    CALLSTREAM_TOPIC_TELEPHONY: topics.telephony,
    CALLSTREAM_TOPIC_TELEPHONY_RAW: topics['telephony-raw'],
    CALLSTREAM_TOPIC_TELEPHONY_DLQ: topics['telephony-dlq'],
    CALLSTREAM_TOPIC_ERASURES: topics.erasures,
    ...env,
  };
}

/** Resident memory of a process now (VmRSS) in MB, or NaN when it is gone. */
export function rssMb(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** The sink's warnings and errors (a write that failed and is retried, say), each message once with its count. */
export function problems(proc) {
  const seen = {};
  for (const line of proc?.lines.filter((l) => l.level >= 40) ?? []) {
    const key = `${line.msg}: ${line.error ?? line.err?.message ?? ''}`.slice(0, 400);
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}

/**
 * Watches a started sink until `group` has committed `end` records of `topic`, sampling its RSS
 * every 250 ms. Guards for a shared machine: a sink whose RSS passes capMb is killed (SIGKILL);
 * one that commits nothing for stallSec is left to the caller to stop. Throws if the sink exits.
 * Resolves with the time from joining the group, what was committed, the RSS peak and samples
 * (one per 5 s), and the sink's own counters when it is still up.
 */
export async function watchDrain(admin, sink, { group, topic, end, capMb = 4_096, stallSec = 120, log = () => {} }) {
  const joined = await sink.waitFor((l) => l.msg === 'sink joined the consumer group', 60_000, 'group join');
  const startedAt = joined.time ?? Date.now();
  const samples = [];
  let peak = 0;
  let killed = false;
  let stalled = false;
  let committed = 0;
  let lastPoll = 0;
  let lastProgress = Date.now();
  for (;;) {
    const rss = rssMb(sink.pid);
    if (Number.isNaN(rss)) throw new Error(`callstream sink exited at ${committed}/${end} committed; stderr: ${sink.stderr.slice(-2000)}; its warnings: ${JSON.stringify(problems(sink))}`);
    peak = Math.max(peak, rss);
    const at = (Date.now() - startedAt) / 1000;
    if (samples.length === 0 || at >= samples.at(-1).s + 5) samples.push({ s: Math.round(at), rssMb: Math.round(rss) });
    if (rss > capMb) {
      sink.child.kill('SIGKILL');
      killed = true;
      log(`RSS ${rss.toFixed(0)} MB passed the cap of ${capMb} MB after ${at.toFixed(1)} s: sink killed`);
      break;
    }
    if (Date.now() - lastPoll >= 250) {
      lastPoll = Date.now();
      const now = await admin.committed(group, topic);
      if (now > committed) lastProgress = Date.now();
      committed = now;
      if (committed >= end) break;
      if (Date.now() - lastProgress > stallSec * 1000) {
        stalled = true;
        log(`nothing committed for ${stallSec} s (${committed}/${end}): stopping the sink`);
        break;
      }
    }
    await sleep(250);
  }
  const seconds = (Date.now() - startedAt) / 1000;
  let metrics = {};
  if (!killed) {
    const text = await (await fetch(`${sink.url}/metrics`)).text();
    const metric = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    metrics = { flushes: metric('callstream_sink_batches_total'), rowsUpserted: metric('callstream_sink_rows_upserted_total'), writeSeconds: metric('callstream_sink_write_duration_seconds_sum') };
  }
  const hwm = sink.peakRssMb();
  return { seconds, committed, killed, stalled, peakRssMb: Math.round(Number.isNaN(hwm) ? peak : Math.max(peak, hwm)), samples, metrics };
}
