import type { KafkaMessage } from 'kafkajs';
import type { Flow } from '../config/index.js';
import { requestTraceId } from '../tracing/index.js';
import { DEAD_LETTERS, REQUESTS, type Row, type TableSpec } from '../warehouse/index.js';
import type { DecodedRecord, RecordPosition } from './rows.js';

/**
 * The audit trail's index (the requests and dead_letters tables): small rows, no bodies, so
 * that `callstream trace` and refusal rates are a lookup rather than a scan of the topics.
 * Every value comes from callstream's own fields or is made well-formed and bounded here, so
 * these rows can always be stored: an index row must never become a poison record itself.
 */

/** Ids and keys longer than this are cut (Callaro's ids are short; a body can claim anything). */
const MAX_ID_CHARS = 256;
/** A refused body larger than this is not parsed for the call it names. */
const MAX_PARSED_BODY_BYTES = 64 * 1024;

/** Fields a refused body may name its call by: Callaro's, then common providers' (Twilio, Plivo, Vonage, Telnyx...). */
const KEY_FIELDS = ['call_id', 'CallSid', 'CallUUID', 'call_control_id', 'uuid', 'call_sid'] as const;
const CALL_SID_FIELDS = ['call_sid', 'CallSid', 'CallUUID', 'call_control_id'] as const;

/** A RawRequest record as decoded from an audit topic (schemas/raw-request.v*.avsc). */
interface RawRequest {
  request_id: string;
  received_at: number;
  flow: string;
  method: string;
  path: string;
  body: Buffer;
  truncated: boolean;
  status: number;
  error_code: string | null;
  event_key: string | null;
  verified_by?: string | null;
  /** The request's headers (secrets redacted). */
  headers?: Record<string, string>;
}

/**
 * The requests row of an audit record (`message`: the Kafka record it was decoded from, whose
 * headers name the webhook's trace).
 */
export function requestRow(record: DecodedRecord, position: RecordPosition, now: number, message?: Pick<KafkaMessage, 'headers'>): { spec: TableSpec; row: Row } {
  const r = record as unknown as RawRequest;
  const named = r.event_key === null ? namedInBody(r) : {};
  const row: Row = {
    request_id: text(r.request_id),
    flow: text(r.flow),
    method: text(r.method).slice(0, 16),
    route: text(r.path).slice(0, 2048),
    status: r.status,
    error_code: r.error_code === null ? null : text(r.error_code),
    entity_key: r.event_key !== null ? text(r.event_key) : (named.key ?? null),
    call_sid: named.callSid ?? null,
    verified_by: r.verified_by ? text(r.verified_by) : null,
    body_bytes: r.body.length,
    event_time: r.received_at,
    received_at: r.received_at,
    kafka_partition: position.partition,
    kafka_offset: position.offset,
    ingested_at: now,
    trace_id: traceIdOf(r, message),
  };
  return { spec: REQUESTS, row };
}

/**
 * The dead_letters row of a dead-letter record, from its key and headers alone (its value is
 * what could not be stored). Its version is the source record's Kafka timestamp, which the
 * sink copies into a header: the same record dead-lettered again by a replay is the same
 * version, so the row (and a replay's checksum) stays as it was.
 */
export function deadLetterRow(flow: Flow) {
  return (_record: DecodedRecord, position: RecordPosition, now: number, message: KafkaMessage): { spec: TableSpec; row: Row } => {
    const header = (name: string): string | undefined => {
      const value = message.headers?.[name];
      const first = Array.isArray(value) ? value[0] : value;
      return first === undefined ? undefined : text(Buffer.isBuffer(first) ? first.toString('utf8') : String(first));
    };
    const at = Number(header('callstream-source-timestamp') ?? message.timestamp);
    const omitted = header('callstream-value-omitted');
    const row: Row = {
      source_topic: header('callstream-source-topic') ?? 'unknown',
      source_partition: integer(header('callstream-source-partition')),
      source_offset: integer(header('callstream-source-offset')),
      flow,
      entity_key: message.key ? text(message.key.toString('utf8')) : null,
      error_code: (header('callstream-error-code') ?? 'unknown').slice(0, 64),
      reason: (header('callstream-error') ?? '').slice(0, 2000),
      value_bytes: omitted === undefined ? (message.value?.length ?? 0) : 0,
      event_time: Number.isFinite(at) ? at : now,
      request_id: header('callstream-request-id') ?? 'unknown',
      received_at: Number.isFinite(at) ? at : now,
      kafka_partition: position.partition,
      kafka_offset: position.offset,
      ingested_at: now,
    };
    return { spec: DEAD_LETTERS, row };
  };
}

/** The request's trace id (requestTraceId, as `callstream trace --bodies` reads it); null when there is none valid. */
function traceIdOf(r: RawRequest, message: Pick<KafkaMessage, 'headers'> | undefined): string | null {
  try {
    return requestTraceId(message?.headers, r.headers) ?? null;
  } catch {
    return null; // an index row must never fail on what a sender or a header carried
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Well-formed (a lone surrogate becomes U+FFFD, as String.prototype.toWellFormed does) and bounded. */
function text(value: string): string {
  return value.replace(LONE_SURROGATE, '\uFFFD').slice(0, MAX_ID_CHARS * 8);
}

function integer(value: string | undefined): number {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : -1;
}

/** The call a refused request's body names (JSON or form), best effort: refused bodies are often malformed. */
function namedInBody(r: RawRequest): { key?: string; callSid?: string } {
  if (r.truncated || r.body.length === 0 || r.body.length > MAX_PARSED_BODY_BYTES) return {};
  const fields = parseFields(r.body);
  if (!fields) return {};
  const pick = (names: readonly string[]): string | undefined => {
    for (const name of names) {
      const value = fields[name];
      if ((typeof value === 'string' && value.length > 0) || typeof value === 'number') return text(String(value)).slice(0, MAX_ID_CHARS);
    }
    return undefined;
  };
  return { key: pick(KEY_FIELDS), callSid: pick(CALL_SID_FIELDS) };
}

function parseFields(body: Buffer): Record<string, unknown> | undefined {
  const textBody = body.toString('utf8');
  const first = textBody.trimStart()[0];
  if (first === '{') {
    try {
      const parsed: unknown = JSON.parse(textBody);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  if (first === '[' || textBody.includes('\n')) return undefined;
  return Object.fromEntries(new URLSearchParams(textBody));
}
