import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { AvroCodec, schemasDir } from '../../src/codec/index.js';
import type { Warehouse } from '../../src/warehouse/index.js';
import { sleep } from './sender.js';

/**
 * What the checker reads after a schedule: every record of the audit and dead-letter
 * topics (with headers), the consumer group's progress, and every warehouse row. All of
 * it against the schedule's own brokers (the shared one, a dedicated one, a cluster).
 */

export function kafkaFor(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'callstream-soak', brokers, logLevel: logLevel.NOTHING, retry: { retries: 8 } });
}

export interface TopicRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  value: Buffer;
}

/** Reads every record of the topics up to their current ends, with one consumer. */
export async function readTopics(brokers: string[], topics: string[], timeoutMs = 60_000): Promise<Map<string, TopicRecord[]>> {
  const kafka = kafkaFor(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<string, number>();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) if (Number(p.high) > Number(p.low)) remaining.set(`${topic}/${p.partition}`, Number(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  const out = new Map(topics.map((t) => [t, [] as TopicRecord[]]));
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `soak-reader-${randomUUID()}`, maxBytesPerPartition: 16 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topics.join(', ')} timed out; unread partitions: ${[...remaining.keys()].join(', ')}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
          out.get(topic)!.push({ topic, partition, offset: Number(message.offset), key: message.key?.toString() ?? '', headers, value: message.value ?? Buffer.alloc(0) });
          const id = `${topic}/${partition}`;
          if (Number(message.offset) + 1 >= (remaining.get(id) ?? 0)) remaining.delete(id);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export interface AuditRecord {
  requestId: string;
  flow: string;
  status: number;
  errorCode: string | null;
  receivedAt: number;
  truncated: boolean;
  topic: string;
  /** Where the record is: partition@offset. */
  at: string;
}

const codec = AvroCodec.fromDirectory(schemasDir());

export function decodeAudit(record: TopicRecord): AuditRecord {
  const v = codec.decode<Record<string, unknown>>(record.value).value;
  return {
    requestId: String(v.request_id),
    flow: String(v.flow),
    status: Number(v.status),
    errorCode: (v.error_code as string | null) ?? null,
    receivedAt: Number(v.received_at),
    truncated: Boolean(v.truncated),
    topic: record.topic,
    at: `${record.partition}@${record.offset}`,
  };
}

export interface DeadLetter {
  requestId: string | undefined;
  errorCode: string | undefined;
  reason: string | undefined;
  topic: string;
}

/** A dead letter keeps the original record's headers (its request id among them) and adds the reason. */
export function decodeDeadLetter(record: TopicRecord): DeadLetter {
  let requestId: string | undefined = record.headers['callstream-request-id'];
  if (!requestId) {
    try {
      requestId = String(codec.decode<Record<string, unknown>>(record.value).value.request_id);
    } catch {
      requestId = undefined;
    }
  }
  return { requestId, errorCode: record.headers['callstream-error-code'], reason: record.headers['callstream-error'], topic: record.topic };
}

export interface Progress {
  topic: string;
  committed: number;
  end: number;
  perPartition: Array<{ partition: number; committed: number; end: number }>;
}

/** The group's committed offsets against each topic's end. */
export async function groupProgress(brokers: string[], groupId: string, topics: string[]): Promise<Progress[]> {
  const admin = kafkaFor(brokers).admin();
  await admin.connect();
  try {
    const out: Progress[] = [];
    const offsets = await admin.fetchOffsets({ groupId, topics });
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const committed = offsets.find((o) => o.topic === topic);
      const perPartition = ends.map((e) => ({
        partition: e.partition,
        committed: Math.max(0, Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1)),
        end: Number(e.high),
      }));
      out.push({ topic, perPartition, committed: perPartition.reduce((n, p) => n + p.committed, 0), end: perPartition.reduce((n, p) => n + p.end, 0) });
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

export const caughtUp = (progress: Progress[]) => progress.every((p) => p.perPartition.every((q) => q.committed === q.end));

/** Waits until the group has committed every record of the topics; returns the last progress seen either way. */
export async function waitForLagZero(brokers: string[], groupId: string, topics: string[], timeoutMs: number): Promise<{ ok: boolean; progress: Progress[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await groupProgress(brokers, groupId, topics).catch(() => undefined);
    if (progress && caughtUp(progress)) return { ok: true, progress };
    if (Date.now() > deadline) return { ok: false, progress: progress ?? [] };
    await sleep(250);
  }
}

export async function groupMembers(brokers: string[], groupId: string): Promise<number> {
  const admin = kafkaFor(brokers).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** Rewinds the group (which must have no members) to the earliest offsets of every topic: a full replay. */
export async function rewindToEarliest(brokers: string[], groupId: string, topics: string[]): Promise<void> {
  const admin = kafkaFor(brokers).admin();
  await admin.connect();
  try {
    for (const topic of topics) await admin.resetOffsets({ groupId, topic, earliest: true });
  } finally {
    await admin.disconnect();
  }
}

/** The partition of `topic` whose end moved most within `ms`: the one being written. */
export async function busiestPartition(brokers: string[], topic: string, ms = 500): Promise<number> {
  const admin = kafkaFor(brokers).admin();
  await admin.connect();
  try {
    const before = await admin.fetchTopicOffsets(topic);
    await sleep(ms);
    const after = await admin.fetchTopicOffsets(topic);
    const moved = after.map((a) => ({ partition: a.partition, by: Number(a.high) - Number(before.find((b) => b.partition === a.partition)?.high ?? a.high) }));
    moved.sort((a, b) => b.by - a.by);
    return moved[0]?.partition ?? 0;
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopicsAndGroup(brokers: string[], topics: string[], groupId: string): Promise<void> {
  const admin = kafkaFor(brokers).admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

export interface StoredRow {
  table: string;
  /** Table and key columns joined by "/", as generator.ts names a delivery's key. */
  key: string;
  requestId: string;
  /** The event as stored: payload (Callaro's tables) or raw_body (callbacks). */
  content: string;
}

const TABLE_READS = [
  { table: 'call_events', key: ['call_id', 'event_type'], content: 'payload' },
  { table: 'campaign_events', key: ['campaign_id', 'event_type'], content: 'payload' },
  { table: 'compliance_events', key: ['subject_id', 'event_type'], content: 'payload' },
  { table: 'telephony_callbacks', key: ['vendor_slug', 'provider_call_id', 'callback_status'], content: 'raw_body' },
];

/** Every row of the event tables; JSON columns as text in the warehouse's dialect (DuckDB, or BigQuery's TO_JSON_STRING). */
export async function warehouseRows(warehouse: Warehouse, dialect: 'duckdb' | 'bigquery' = 'duckdb'): Promise<StoredRow[]> {
  const out: StoredRow[] = [];
  const text = (column: string) => (column !== 'payload' ? column : dialect === 'bigquery' ? 'TO_JSON_STRING(payload)' : 'CAST(payload AS VARCHAR)');
  for (const t of TABLE_READS) {
    const rows = await warehouse.query(`SELECT ${t.key.join(', ')}, request_id, ${text(t.content)} AS content FROM ${t.table}`);
    for (const r of rows) {
      out.push({ table: t.table, key: [t.table, ...t.key.map((c) => String(r[c]))].join('/'), requestId: String(r.request_id), content: String(r.content) });
    }
  }
  return out;
}
