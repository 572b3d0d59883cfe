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
  family: Family;
  /** The entity column of the upsert key; the other key column is always event_type. */
  keyColumn: string;
  columns: Column[];
}

/**
 * A row as the sink hands it to a warehouse: TIMESTAMP as epoch milliseconds,
 * JSON as JSON text, INT64 as a (safe) number.
 */
export type Row = Record<string, string | number | null>;

export const EVENT_TYPE_COLUMN = 'event_type';

const col = (name: string, type: ColumnType, description: string, required = false): Column => ({ name, type, description, required });

/** Columns every event table ends with: when and where the record came from. */
const TRAILER: Column[] = [
  col('tenant_id', 'INT64', 'Callaro tenant.'),
  col('occurred_at', 'TIMESTAMP', 'Event time as sent by Callaro (occurred_at), if any.'),
  col('event_time', 'TIMESTAMP', 'occurred_at, else received_at: the partitioning column.', true),
  col('payload', 'JSON', 'The whole event as received, unknown fields included.', true),
  col('request_id', 'STRING', 'Id of the HTTP request; joins to the raw audit topic.', true),
  col('received_at', 'TIMESTAMP', 'When the receiver got the request.', true),
  col('kafka_partition', 'INT64', 'Partition of the events topic the row came from.', true),
  col('kafka_offset', 'INT64', 'Offset in that partition: orders versions of a key.', true),
  col('ingested_at', 'TIMESTAMP', 'When the sink wrote this version.', true),
];

export const CALL_EVENTS: TableSpec = {
  name: 'call_events',
  family: 'call',
  keyColumn: 'call_id',
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
  family: 'campaign',
  keyColumn: 'campaign_id',
  columns: [
    col('campaign_id', 'STRING', 'Campaign id (dedupe key).', true),
    col(EVENT_TYPE_COLUMN, 'STRING', 'Event name, e.g. campaign.started.', true),
    ...TRAILER,
  ],
};

export const COMPLIANCE_EVENTS: TableSpec = {
  name: 'compliance_events',
  family: 'compliance',
  keyColumn: 'subject_id',
  columns: [
    col('subject_id', 'STRING', 'number_e164, else call_id (dedupe key).', true),
    col(EVENT_TYPE_COLUMN, 'STRING', 'Event name, e.g. number_health.flagged.', true),
    col('number_e164', 'STRING', 'The phone number concerned.'),
    col('call_id', 'STRING', 'The call concerned, for call-level compliance events.'),
    ...TRAILER,
  ],
};

export const TABLES: readonly TableSpec[] = [CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS];

export function tableForFamily(family: string): TableSpec | undefined {
  return TABLES.find((t) => t.family === family);
}
