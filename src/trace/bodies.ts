import type { Kafka } from 'kafkajs';
import type { AvroCodec } from '../codec/index.js';
import type { Logger } from '../logger.js';
import { fetchRecords, recordAt, type FetchOptions, type RecordPlace } from '../kafka/index.js';
import { requestTraceId, traceIdOfHeaders } from '../tracing/index.js';
import type { CallTrace } from './lookup.js';

/** Longest body shown as text; the rest is counted. */
const MAX_BODY_CHARS = 4096;

/** A request's or dead letter's record, fetched from its topic by partition and offset. */
export interface FetchedRecord {
  kind: 'request' | 'dead letter';
  /** The request id (a request) or the source record's place (a dead letter). */
  of: string;
  place: RecordPlace;
  /** False when the record is gone (past the topic's retention) or could not be read. */
  found: boolean;
  /** The audited request's headers (secrets redacted by the receiver), or the dead letter's headers. */
  headers?: Record<string, string>;
  /** The body (a request) or the record value (a dead letter) as UTF-8 text, cut at MAX_BODY_CHARS. */
  body?: string;
  bytes?: number;
  error?: string;
  /**
   * The OpenTelemetry trace id of the record's `traceparent` header (written by a receiver with
   * tracing on: the webhook's trace), or else of the audited request's own `traceparent` header.
   */
  trace_id?: string;
}

/** Fetches the audit record of every request of the trace and every dead letter, by place (no scan). */
export async function fetchBodies(
  deps: { kafka: Kafka; codec: AvroCodec; logger: Logger; topics: { raw: Record<string, string>; deadLetter: Record<string, string> } },
  trace: CallTrace,
  options: FetchOptions = {},
): Promise<FetchedRecord[]> {
  const wanted: Array<Omit<FetchedRecord, 'found'>> = [
    ...trace.requests.map((r) => ({ kind: 'request' as const, of: r.request_id, place: { topic: deps.topics.raw[r.flow], partition: r.kafka_partition, offset: r.kafka_offset } })),
    ...trace.dead_letters.map((d) => ({
      kind: 'dead letter' as const,
      of: `${d.source_topic} ${d.source_partition}@${d.source_offset}`,
      place: { topic: deps.topics.deadLetter[d.flow], partition: d.kafka_partition, offset: d.kafka_offset },
    })),
  ].filter((w) => w.place.topic !== undefined);
  const records = await fetchRecords(deps.kafka, wanted.map((w) => w.place), deps.logger, options);
  const out: FetchedRecord[] = [];
  for (const w of wanted) {
    const message = recordAt(records, w.place);
    if (!message) {
      out.push({ ...w, found: false, error: 'not in the topic any more (retention), or not readable' });
      continue;
    }
    const traced = (id: string | undefined) => (id === undefined ? {} : { trace_id: id });
    if (w.kind === 'dead letter') {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)]));
      out.push({ ...w, found: true, headers, ...text(message.value ?? Buffer.alloc(0)), ...traced(traceIdOfHeaders(message.headers)) });
      continue;
    }
    try {
      await deps.codec.prefetch([message.value]);
      const { value } = deps.codec.decode<{ headers: Record<string, string>; body: Buffer }>(message.value!);
      out.push({ ...w, found: true, headers: value.headers, ...text(value.body), ...traced(requestTraceId(message.headers, value.headers)) });
    } catch (err) {
      out.push({ ...w, found: true, error: `the audit record does not decode: ${(err as Error).message}` });
    }
  }
  return out;
}

function text(bytes: Buffer): { body: string; bytes: number } {
  const all = bytes.toString('utf8');
  return { body: all.length > MAX_BODY_CHARS ? `${all.slice(0, MAX_BODY_CHARS)}… (${all.length - MAX_BODY_CHARS} more characters)` : all, bytes: bytes.length };
}

/** The fetched records as text, after the timeline. */
export function formatBodies(records: readonly FetchedRecord[]): string {
  return records
    .map((r) => {
      const head = `--- ${r.kind} ${r.of} (${r.place.topic} ${r.place.partition}@${r.place.offset})${r.trace_id ? ` trace_id ${r.trace_id}` : ''}`;
      if (!r.found || r.error) return `${head}\n${r.error}`;
      const headers = Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
      return [head, ...headers, '', r.body ?? ''].join('\n');
    })
    .join('\n\n');
}
