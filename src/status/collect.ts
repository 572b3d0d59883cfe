import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { Admin } from 'kafkajs';
import { flowTopics, type Config } from '../config/index.js';
import { describeError } from '../errors.js';
import { connectKafkaClient, createKafka, isPortOpen, LOCAL_BROKER, readTopicSettings, topicRoles, unsafeSettings, type UnsafeSetting } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { announcedIdentity } from '../sink/index.js';
import { byLabel, parseMetrics, valueOf, type Sample } from './prometheus.js';
import type { DeadLetterTopic, Exhaustion, GroupFacts, KafkaFacts, LastWrite, ProcessFacts, Refusals, StatusFacts, TopicLag } from './report.js';

export interface CollectOptions {
  config: Config;
  logger: Logger;
  /** Where the receiver, sink or whole pipeline serves /readyz and /metrics, e.g. http://127.0.0.1:8080. */
  url: string;
  /** The sink's consumer group. */
  group: string;
  /** Seconds between the two scrapes of /metrics (0: one scrape). */
  windowSeconds: number;
  /** Bound of each HTTP request, and of all the Kafka questions together. */
  timeoutMs: number;
}

/** The metrics status reads from the process. */
const REJECTED = 'callstream_requests_rejected_total';
const LAST_WRITE = 'callstream_sink_last_write_timestamp_seconds';
const STARTED = 'callstream_process_process_start_time_seconds';
const EXHAUSTED = 'callstream_sink_warehouse_exhausted_total';
const EXHAUSTED_NOW = 'callstream_sink_warehouse_exhausted';

/**
 * Asks everything at once: the process's /readyz, then its /metrics twice --window apart while
 * Kafka is asked about the group, its lag and the dead-letter topics. Nothing here throws for a
 * part that is down: that is a fact of the report.
 */
export async function collectStatus(options: CollectOptions): Promise<StatusFacts> {
  const checkedAt = new Date();
  const proc = await readiness(options.url, options.timeoutMs);
  const [kafka, scrapes] = await Promise.all([askKafka(options), proc.up ? scrapeTwice(options) : Promise.resolve(undefined)]);
  return {
    checkedAt: checkedAt.toISOString(),
    process: proc,
    ...kafka,
    lastWrite: lastWrite(proc, scrapes),
    refusals: refusals(proc, scrapes, options.windowSeconds),
    exhaustion: exhaustion(proc, scrapes, options.windowSeconds),
  };
}

/** GET with node:http (fetch refuses some ports, e.g. 6000, that a process may well listen on). */
function get(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('https:') ? httpsGet : httpGet)(url, { timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
  });
}

/** "connect ECONNREFUSED 127.0.0.1:8080", "no answer within 5 s", "getaddrinfo ENOTFOUND sink-1". */
function whyUnreachable(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readiness(url: string, timeoutMs: number): Promise<ProcessFacts> {
  let answer: { status: number; text: string };
  try {
    answer = await get(`${url}/readyz`, timeoutMs);
  } catch (err) {
    return { url, up: false, ready: false, error: whyUnreachable(err) };
  }
  let components: Record<string, boolean> | undefined;
  try {
    const body = JSON.parse(answer.text) as { components?: unknown };
    if (body.components && typeof body.components === 'object') components = body.components as Record<string, boolean>;
  } catch {
    // Not JSON: said below.
  }
  if (!components) return { url, up: true, ready: false, httpStatus: answer.status, error: 'not a callstream /readyz answer (is --url right?)' };
  return { url, up: true, ready: answer.status === 200 && Object.values(components).every(Boolean), httpStatus: answer.status, components };
}

interface Scrapes {
  first?: Sample[];
  last?: Sample[];
  /** Seconds between the two answers. */
  elapsed: number;
  error?: string;
}

async function scrapeTwice(options: CollectOptions): Promise<Scrapes> {
  const scrape = async () => parseMetrics((await get(`${options.url}/metrics`, options.timeoutMs)).text);
  try {
    const started = Date.now();
    const first = await scrape();
    if (options.windowSeconds === 0) return { last: first, elapsed: 0 };
    await new Promise((r) => setTimeout(r, options.windowSeconds * 1000));
    const last = await scrape();
    return { first, last, elapsed: (Date.now() - started) / 1000 };
  } catch (err) {
    return { elapsed: 0, error: `GET /metrics failed: ${whyUnreachable(err)}` };
  }
}

function lastWrite(proc: ProcessFacts, scrapes: Scrapes | undefined): LastWrite {
  const unknown = (reason: string): LastWrite => ({ known: false, at: null, idleSeconds: null, processStartedAt: null, reason });
  if (!proc.up || !scrapes) return unknown('the process does not answer');
  if (!scrapes.last) return unknown(scrapes.error ?? 'no metrics');
  if (proc.components && !('sink' in proc.components)) return unknown('the process at --url runs no sink (a receiver only)');
  const at = valueOf(scrapes.last, LAST_WRITE);
  const started = valueOf(scrapes.last, STARTED);
  if (at === undefined) return unknown(`the process's /metrics have no ${LAST_WRITE} (an older callstream?)`);
  const now = Date.now() / 1000;
  const since = at > 0 ? at : started;
  return {
    known: true,
    at: at > 0 ? new Date(at * 1000).toISOString() : null,
    idleSeconds: since === undefined ? null : Math.max(0, now - since),
    processStartedAt: started === undefined ? null : new Date(started * 1000).toISOString(),
  };
}

function refusals(proc: ProcessFacts, scrapes: Scrapes | undefined, windowSeconds: number): Refusals {
  const none = (reason: string): Refusals => ({ known: false, windowSeconds, total: 0, inWindow: null, byCode: [], reason });
  if (!proc.up || !scrapes) return none('the process does not answer');
  if (!scrapes.last) return none(scrapes.error ?? 'no metrics');
  const last = byLabel(scrapes.last, REJECTED, 'code');
  const first = scrapes.first ? byLabel(scrapes.first, REJECTED, 'code') : undefined;
  const byCode = [...last]
    .map(([code, total]) => {
      if (!first) return { code, total, inWindow: null, perSecond: null };
      const before = first.get(code) ?? 0;
      const inWindow = total >= before ? total - before : total; // a smaller count: the process restarted in between
      return { code, total, inWindow, perSecond: scrapes.elapsed > 0 ? round(inWindow / scrapes.elapsed) : null };
    })
    .sort((a, b) => b.total - a.total || a.code.localeCompare(b.code));
  const inWindow = first ? byCode.reduce((n, r) => n + (r.inWindow ?? 0), 0) : null;
  return { known: true, windowSeconds, total: byCode.reduce((n, r) => n + r.total, 0), inWindow, byCode };
}

function exhaustion(proc: ProcessFacts, scrapes: Scrapes | undefined, windowSeconds: number): Exhaustion {
  const unknown = (reason: string): Exhaustion => ({ known: false, windowSeconds, now: [], byResource: [], reason });
  if (!proc.up || !scrapes) return unknown('the process does not answer');
  if (!scrapes.last) return unknown(scrapes.error ?? 'no metrics');
  if (proc.components && !('sink' in proc.components)) return unknown('the process at --url runs no sink (a receiver only)');
  const last = byLabel(scrapes.last, EXHAUSTED, 'resource');
  if (last.size === 0) return unknown(`the process's /metrics have no ${EXHAUSTED} (an older callstream?)`);
  const first = scrapes.first ? byLabel(scrapes.first, EXHAUSTED, 'resource') : undefined;
  const now = [...byLabel(scrapes.last, EXHAUSTED_NOW, 'resource')].filter(([, value]) => value > 0).map(([resource]) => resource);
  const byResource = [...last].map(([resource, total]) => {
    if (!first) return { resource, total, inWindow: null };
    const before = first.get(resource) ?? 0;
    return { resource, total, inWindow: total >= before ? total - before : total }; // smaller: the process restarted in between
  });
  return { known: true, windowSeconds, now, byResource };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

type KafkaPart = Pick<StatusFacts, 'kafka' | 'group' | 'lag' | 'deadLetters' | 'unsafeTopics'>;

/** The cluster, the group, its lag and the dead-letter depth; bounded by timeoutMs as a whole. */
async function askKafka(options: CollectOptions): Promise<KafkaPart> {
  const { config, logger, group: groupId, timeoutMs } = options;
  const bootstrap = config.kafkaBrokers ?? [LOCAL_BROKER];
  const sources = flowTopics(config, 'events').map(({ topic, setting }) => ({ topic, setting }));
  const sinks = flowTopics(config, 'deadLetter').map(({ topic, setting }) => ({ topic, setting }));
  const down = (error: string): KafkaPart => ({
    kafka: { bootstrap, up: false, error },
    group: { id: groupId, error: 'not known (Kafka down)' },
    lag: { total: null, topics: [] },
    deadLetters: { total: null, topics: [] },
  });
  // kafkajs retries a connection for half a minute; a port nobody listens on is known at once.
  const open = await Promise.all(bootstrap.map((b) => isPortOpen(hostOf(b), portOf(b), Math.min(timeoutMs, 3_000))));
  if (!open.some(Boolean)) return down(`no broker listens at ${bootstrap.join(',')}`);

  const admin = createKafka(config, logger, '-status').admin();
  let timer: NodeJS.Timeout | undefined;
  const work = (async (): Promise<KafkaPart> => {
    try {
      await connectKafkaClient(admin, config);
    } catch (err) {
      return down(describeError(err));
    }
    const cluster = await admin.describeCluster();
    const kafka: KafkaFacts = { bootstrap, up: true, brokers: cluster.brokers.length };
    const existing = new Set(await admin.listTopics());
    const [group, lag, deadLetters, unsafeTopics] = await Promise.all([
      describeGroup(admin, groupId),
      consumerLag(admin, groupId, sources.map((s) => ({ ...s, exists: existing.has(s.topic) }))),
      deadLetterDepth(admin, sinks.map((s) => ({ ...s, exists: existing.has(s.topic) }))),
      topicSettingProblems(admin, config, existing),
    ]);
    return { kafka, group, lag, deadLetters, unsafeTopics };
  })();
  work.catch(() => undefined); // after a timeout nobody awaits it any more
  try {
    return await Promise.race([
      work,
      new Promise<KafkaPart>((resolve) => (timer = setTimeout(() => resolve(down(`no complete answer from ${bootstrap.join(',')} within ${timeoutMs / 1000} s`)), timeoutMs))),
    ]);
  } catch (err) {
    return down(describeError(err));
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * The settings of callstream's topics that break a promise, as at start (kafka/topic-settings.ts);
 * missing topics are skipped, and settings that cannot be read (a topic deleted meanwhile, no
 * DescribeConfigs permission) are not a finding: undefined.
 */
async function topicSettingProblems(admin: Admin, config: Config, existing: ReadonlySet<string>): Promise<UnsafeSetting[] | undefined> {
  try {
    const settings = await readTopicSettings(admin, new Map([...topicRoles(config)].filter(([topic]) => existing.has(topic))));
    return unsafeSettings(settings, (config.kafkaBrokers ?? [LOCAL_BROKER]).join(','));
  } catch {
    return undefined;
  }
}

async function describeGroup(admin: Admin, id: string): Promise<GroupFacts> {
  try {
    const { groups } = await admin.describeGroups([id]);
    const group = groups.find((g) => g.groupId === id);
    if (!group) return { id, state: 'Dead', members: [] };
    return { id, state: group.state, members: group.members.map((m) => ({ clientId: m.clientId, host: m.clientHost, warehouse: announcedIdentity(m.memberMetadata)?.description })) };
  } catch (err) {
    return { id, error: `could not be described: ${describeError(err)}` };
  }
}

async function consumerLag(admin: Admin, groupId: string, topics: Array<{ topic: string; setting: string; exists: boolean }>): Promise<StatusFacts['lag']> {
  const present = topics.filter((t) => t.exists).map((t) => t.topic);
  const committed = present.length > 0 ? await admin.fetchOffsets({ groupId, topics: present }) : [];
  const out: TopicLag[] = [];
  for (const t of topics) {
    if (!t.exists) {
      out.push({ ...t, total: 0, partitions: [] });
      continue;
    }
    const offsets = new Map((committed.find((c) => c.topic === t.topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const partitions = (await admin.fetchTopicOffsets(t.topic))
      .map((p) => {
        const start = Number(p.low);
        const end = Number(p.high);
        const at = offsets.get(p.partition);
        const c = at === undefined || at < 0 ? null : at;
        // Nothing committed: the sink starts at the earliest record; records deleted by retention are not lag.
        return { partition: p.partition, committed: c, start, end, lag: Math.max(0, end - Math.max(c ?? start, start)) };
      })
      .sort((a, b) => a.partition - b.partition);
    out.push({ ...t, total: partitions.reduce((n, p) => n + p.lag, 0), partitions });
  }
  return { total: out.reduce((n, t) => n + t.total, 0), topics: out };
}

async function deadLetterDepth(admin: Admin, topics: Array<{ topic: string; setting: string; exists: boolean }>): Promise<StatusFacts['deadLetters']> {
  const out: DeadLetterTopic[] = [];
  for (const t of topics) {
    const offsets = t.exists ? await admin.fetchTopicOffsets(t.topic) : [];
    out.push({ ...t, records: offsets.reduce((n, p) => n + Math.max(0, Number(p.high) - Number(p.low)), 0) });
  }
  return { total: out.reduce((n, t) => n + t.records, 0), topics: out };
}

/** "broker-1:9092", "[::1]:9092". */
function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return (colon === -1 ? address : address.slice(0, colon)).replace(/^\[(.*)\]$/, '$1');
}

function portOf(address: string): number {
  const colon = address.lastIndexOf(':');
  return colon === -1 ? 9092 : Number(address.slice(colon + 1));
}
