import type { Flow } from '../config/index.js';

/** Column types every warehouse maps to its own (DuckDB, BigQuery). */
export type ColumnType = 'STRING' | 'INT64' | 'TIMESTAMP' | 'JSON';

export interface Column {
  name: string;
  type: ColumnType;
  /** Part of the upsert key or always set. */
  required?: boolean;
  description: string;
}

export interface TableSpec {
  name: string;
  /**
   * The upsert key: a row replaces the stored row with the same values in these columns,
   * and only when it is a newer version (see isNewer in version-rule.ts).
   */
  keyColumns: readonly string[];
  /**
   * The columns that order versions of a key, compared in turn (the first that differs
   * decides); VERSION_ORDER when absent (see versionOrder in version-rule.ts).
   */
  versionColumns?: readonly string[];
  /** BigQuery clustering columns (at most four): what queries filter and join on. */
  clusterBy: readonly string[];
  columns: Column[];
}

/**
 * A row as the sink hands it to a warehouse: TIMESTAMP as epoch milliseconds,
 * JSON as JSON text, INT64 as a (safe) number.
 */
export type Row = Record<string, string | number | null>;

export const EVENT_TYPE_COLUMN = 'event_type';
/** Present in the tables whose rows `callstream replay-raw` can re-publish (Callaro's events). */
export const REPUBLISHED_COLUMN = 'republished_at';

const col = (name: string, type: ColumnType, description: string, required = false): Column => ({ name, type, description, required });

/** Columns every table ends with: which request and record a row came from (the version guard reads them). */
const PROVENANCE: Column[] = [
  col('request_id', 'STRING', 'Id of the HTTP request; joins to the raw audit topic.', true),
  col('received_at', 'TIMESTAMP', 'When the receiver got the request: orders versions of a key (then request_id).', true),
  col('kafka_partition', 'INT64', 'Partition of the topic the row came from.', true),
  col('kafka_offset', 'INT64', 'Offset in that partition (where the winning version was read; versions are ordered by received_at).', true),
  col('ingested_at', 'TIMESTAMP', 'When the sink wrote this version.', true),
];

/** Columns every Callaro event table ends with. */
const TRAILER: Column[] = [
  col('tenant_id', 'INT64', 'Callaro tenant.'),
  col('occurred_at', 'TIMESTAMP', 'Event time as sent by Callaro (occurred_at), if any.'),
  col('event_time', 'TIMESTAMP', 'occurred_at, else received_at: the partitioning column.', true),
  col('payload', 'JSON', 'The whole event as received, unknown fields included.', true),
  ...PROVENANCE,
  col(REPUBLISHED_COLUMN, 'TIMESTAMP', 'Set when `callstream replay-raw` re-published the request from the audit topic (received_at stays the original receipt, so the version keeps its place).'),
];

export const CALL_EVENTS: TableSpec = {
  name: 'call_events',
  keyColumns: ['call_id', EVENT_TYPE_COLUMN],
  clusterBy: ['tenant_id', 'call_id'],
  columns: [
    col('call_id', 'STRING', 'Callaro call id (dedupe key).', true),
    col(EVENT_TYPE_COLUMN, 'STRING', 'Event name, e.g. call.completed.', true),
    col('voice_session_id', 'INT64', 'Callaro voice session.'),
    col('call_sid', 'STRING', 'Telephony provider call id; joins to provider callbacks.'),
    col('agent_id', 'INT64', 'Voice agent.'),
    col('direction', 'STRING', 'inbound or outbound.'),
    col('from_e164', 'STRING', 'Caller number; with CALLSTREAM_PII_MODE=hash its keyed hash (`k1:<hex>`).'),
    col('to_e164', 'STRING', 'Called number; with CALLSTREAM_PII_MODE=hash its keyed hash.'),
    col('from_last4', 'STRING', 'Last four digits of the caller number (either mode).'),
    col('to_last4', 'STRING', 'Last four digits of the called number (either mode).'),
    col('extracted_data', 'JSON', 'Data the agent extracted.'),
    col('runtime_vars', 'JSON', 'Runtime variables of the call.'),
    col('tool_calls', 'JSON', 'Tool calls the agent made.'),
    ...TRAILER,
  ],
};

export const CAMPAIGN_EVENTS: TableSpec = {
  name: 'campaign_events',
  keyColumns: ['campaign_id', EVENT_TYPE_COLUMN],
  clusterBy: ['tenant_id', 'campaign_id'],
  columns: [
    col('campaign_id', 'STRING', 'Campaign id (dedupe key).', true),
    col(EVENT_TYPE_COLUMN, 'STRING', 'Event name, e.g. campaign.started.', true),
    ...TRAILER,
  ],
};

export const COMPLIANCE_EVENTS: TableSpec = {
  name: 'compliance_events',
  keyColumns: ['subject_id', EVENT_TYPE_COLUMN],
  clusterBy: ['tenant_id', 'subject_id'],
  columns: [
    col('subject_id', 'STRING', 'number_e164, else call_id (dedupe key); a number is hashed with CALLSTREAM_PII_MODE=hash.', true),
    col(EVENT_TYPE_COLUMN, 'STRING', 'Event name, e.g. number_health.flagged.', true),
    col('number_e164', 'STRING', 'The phone number concerned; with CALLSTREAM_PII_MODE=hash its keyed hash.'),
    col('number_last4', 'STRING', 'Last four digits of number_e164 (either mode).'),
    col('call_id', 'STRING', 'The call concerned, for call-level compliance events.'),
    ...TRAILER,
  ],
};

/**
 * Callbacks that telephony, billing and integration providers send in (the second flow,
 * kept apart from Callaro's events): one row per (vendor, provider call id, status), so
 * a call's provider-side lifecycle is a set of rows that joins to call_events on call_sid.
 */
export const TELEPHONY_CALLBACKS: TableSpec = {
  name: 'telephony_callbacks',
  keyColumns: ['vendor_slug', 'provider_call_id', 'callback_status'],
  clusterBy: ['call_sid', 'vendor_slug'],
  columns: [
    col('vendor_slug', 'STRING', 'The configured vendor the callback came from (the {vendor_slug} of its URL).', true),
    col('provider_call_id', 'STRING', 'The provider\'s call identifier, e.g. Twilio\'s CallSid (the Kafka key).', true),
    col('callback_status', 'STRING', 'The callback\'s status or event, e.g. ringing, completed, failed.', true),
    col('call_sid', 'STRING', 'Call id as Callaro records it in call_events.call_sid: the join column.'),
    col('content_type', 'STRING', 'Media type of the request body (form or JSON).', true),
    col('fields', 'JSON', 'Every field of the body, parsed (form values as strings, repeated ones as arrays).', true),
    col('raw_body', 'STRING', 'The body exactly as received (UTF-8 text); empty with CALLSTREAM_PII_MODE=hash (it holds the numbers in the clear; fields has them hashed).', true),
    col('occurred_at', 'TIMESTAMP', 'Event time as sent by the provider (e.g. Twilio\'s Timestamp), if any.'),
    col('event_time', 'TIMESTAMP', 'occurred_at, else received_at: the partitioning column.', true),
    ...PROVENANCE,
  ],
};

/**
 * The audit trail in SQL: one row per HTTP request either flow received, accepted or refused,
 * indexed from the audit topics (no bodies, no headers: those stay in the topic, at the
 * row's partition and offset; of the headers only the trace id a traceparent names is kept).
 * What `callstream trace` looks up, and what refusal rates by code are counted from.
 */
export const REQUESTS: TableSpec = {
  name: 'requests',
  keyColumns: ['request_id'],
  /**
   * VERSION_ORDER, then the higher status. One request can have two audit records that tie on
   * (received_at, request_id): the receiver publishes the audit record (status 202) with the
   * event, and when the broker refuses the event as too large (a topic's max.message.bytes
   * lowered meanwhile) the 202 record may already be stored, and a second one saying 413
   * follows, which is what the sender is answered. That re-decision is the only way one request
   * gets two statuses, and it only ever goes up (202 to 413), so the higher status is the later
   * decision, whichever record the sink reads first. The same record read again still ties on
   * every column, so it is never newer than itself. (Written out here, not built from
   * VERSION_ORDER: version-rule.ts imports this file.)
   */
  versionColumns: ['received_at', 'request_id', 'status'],
  clusterBy: ['entity_key', 'call_sid'],
  columns: [
    col('request_id', 'STRING', 'Id of the HTTP request (the X-Request-Id answered); the key.', true),
    col('flow', 'STRING', 'callaro (Callaro\'s events) or telephony (provider callbacks).', true),
    col('method', 'STRING', 'HTTP method.', true),
    col('route', 'STRING', 'Path (and query) requested; a secret path segment is stored as [redacted].', true),
    col('status', 'INT64', 'HTTP status answered.', true),
    col('error_code', 'STRING', 'The refusal\'s stable code (e.g. RCV_SCHEMA_INVALID); null when accepted.'),
    col('entity_key', 'STRING', 'The Kafka key of the event published (call_id, campaign_id, number, or the provider\'s call id); for a refused request, the call id its body names, if it could be read.'),
    col('call_sid', 'STRING', 'The telephony call id the body names, if any: joins Callaro\'s events and provider callbacks.'),
    col('verified_by', 'STRING', 'What verified the sender: each check that passed and which secret (1 = the first configured), e.g. "bearer #1", "twilio-main: twilio #2".'),
    col('body_bytes', 'INT64', 'Size of the body received.', true),
    col('event_time', 'TIMESTAMP', 'received_at: the partitioning column.', true),
    col('received_at', 'TIMESTAMP', 'When the receiver got the request.', true),
    col('kafka_partition', 'INT64', 'Partition of the flow\'s audit topic holding the request\'s bytes and headers.', true),
    col('kafka_offset', 'INT64', 'Offset of its audit record there.', true),
    col('ingested_at', 'TIMESTAMP', 'When the sink wrote this row.', true),
    col('trace_id', 'STRING', 'The OpenTelemetry trace id of the request: from the traceparent the receiver wrote on its audit record (tracing on: the webhook\'s trace, i.e. the sender\'s when it sent a traceparent, else the receiver\'s own when sampled), or else from the sender\'s traceparent header; null when there was none, or none valid.'),
  ],
};

/**
 * Records the sink could not store, indexed from the dead-letter topics: one row per source
 * record (a record dead-lettered again by a replay keeps one row, the latest), with the
 * reason; the record itself stays in the dead-letter topic at the row's partition and offset.
 */
export const DEAD_LETTERS: TableSpec = {
  name: 'dead_letters',
  keyColumns: ['source_topic', 'source_partition', 'source_offset'],
  clusterBy: ['entity_key', 'request_id'],
  columns: [
    col('source_topic', 'STRING', 'Topic the record was read from.', true),
    col('source_partition', 'INT64', 'Its partition there.', true),
    col('source_offset', 'INT64', 'Its offset there.', true),
    col('flow', 'STRING', 'callaro or telephony (which dead-letter topic).', true),
    col('entity_key', 'STRING', 'The record\'s Kafka key (call_id, provider call id, ...).'),
    col('error_code', 'STRING', 'Why it was dead-lettered: a stable code (SINK_DECODE_FAILED, SINK_ROW_REJECTED, ...).', true),
    col('reason', 'STRING', 'The warehouse\'s or decoder\'s message.', true),
    col('value_bytes', 'INT64', 'Size of the record value kept in the dead-letter topic (0 when it was too large and omitted).', true),
    col('event_time', 'TIMESTAMP', 'When it was dead-lettered: the partitioning column.', true),
    col('request_id', 'STRING', 'The request the record came from (its callstream-request-id header), else "unknown".', true),
    col('received_at', 'TIMESTAMP', 'When it was dead-lettered (orders versions of a key, then request_id).', true),
    col('kafka_partition', 'INT64', 'Partition of the dead-letter topic.', true),
    col('kafka_offset', 'INT64', 'Offset there.', true),
    col('ingested_at', 'TIMESTAMP', 'When the sink wrote this row.', true),
  ],
};

/**
 * The event tables by name, by flow: what a replay rewrites and analysts query. Whatever is
 * declared per table elsewhere (the erasure's slots, trace's lookups and topics) is a
 * Record over these names, so a table added here and forgotten there does not compile.
 */
const EVENT_TABLE_BY_NAME = {
  call_events: CALL_EVENTS,
  campaign_events: CAMPAIGN_EVENTS,
  compliance_events: COMPLIANCE_EVENTS,
  telephony_callbacks: TELEPHONY_CALLBACKS,
} as const;

/** Every table the sink writes, by name: the event tables and the audit trail's index. */
export const TABLE_BY_NAME = { ...EVENT_TABLE_BY_NAME, requests: REQUESTS, dead_letters: DEAD_LETTERS } as const;

export type EventTableName = keyof typeof EVENT_TABLE_BY_NAME;

/** The flow whose events topic each event table is written from. */
export const EVENT_TABLE_FLOW: Readonly<Record<EventTableName, Flow>> = {
  call_events: 'callaro',
  campaign_events: 'callaro',
  compliance_events: 'callaro',
  telephony_callbacks: 'telephony',
};
export type TableName = keyof typeof TABLE_BY_NAME;

/** The event tables, by flow: what a replay rewrites and analysts query. */
export const EVENT_TABLES: readonly TableSpec[] = Object.values(EVENT_TABLE_BY_NAME);

/** Every table the sink writes: the event tables and the audit trail's index. */
export const TABLES: readonly TableSpec[] = Object.values(TABLE_BY_NAME);

/** The name of one of the sink's tables as its type knows it; undefined for any other spec (a test's own). */
export function tableName(spec: TableSpec): TableName | undefined {
  return Object.hasOwn(TABLE_BY_NAME, spec.name) ? (spec.name as TableName) : undefined;
}
