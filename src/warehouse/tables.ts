import type { Family } from '../events/index.js';

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
   * and only when it is a newer version (see isNewer in warehouse.ts).
   */
  keyColumns: readonly string[];
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
    col('from_e164', 'STRING', 'Caller number.'),
    col('to_e164', 'STRING', 'Called number.'),
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
    col('subject_id', 'STRING', 'number_e164, else call_id (dedupe key).', true),
    col(EVENT_TYPE_COLUMN, 'STRING', 'Event name, e.g. number_health.flagged.', true),
    col('number_e164', 'STRING', 'The phone number concerned.'),
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
    col('raw_body', 'STRING', 'The body exactly as received (UTF-8 text).', true),
    col('occurred_at', 'TIMESTAMP', 'Event time as sent by the provider (e.g. Twilio\'s Timestamp), if any.'),
    col('event_time', 'TIMESTAMP', 'occurred_at, else received_at: the partitioning column.', true),
    ...PROVENANCE,
  ],
};

export const TABLES: readonly TableSpec[] = [CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS, TELEPHONY_CALLBACKS];

const TABLE_OF_FAMILY: Readonly<Record<Family, TableSpec>> = { call: CALL_EVENTS, campaign: CAMPAIGN_EVENTS, compliance: COMPLIANCE_EVENTS };

/** The table of a Callaro event family; undefined for a family callstream does not know. */
export function tableForFamily(family: string): TableSpec | undefined {
  return Object.hasOwn(TABLE_OF_FAMILY, family) ? TABLE_OF_FAMILY[family as Family] : undefined;
}
