import { tableForFamily, type Row, type TableSpec } from '../warehouse/index.js';

/** A CallaroEvent record as decoded from the events topic (schemas/callaro-event.v*.avsc). */
export interface CallaroEventRecord {
  request_id: string;
  received_at: number;
  event: string;
  family: string;
  entity_id: string;
  occurred_at: number | null;
  payload: string;
  [field: string]: unknown;
}

export interface RecordPosition {
  partition: number;
  offset: number;
}

/** Columns whose value is not a same-named field of the record. */
function derived(spec: TableSpec, record: CallaroEventRecord, position: RecordPosition, now: number): Row {
  return {
    [spec.keyColumn]: record.entity_id,
    event_type: record.event,
    event_time: record.occurred_at ?? record.received_at,
    kafka_partition: position.partition,
    kafka_offset: position.offset,
    ingested_at: now,
  };
}

/** Maps a decoded event to its table and row; undefined for a family with no table. */
export function toRow(record: CallaroEventRecord, position: RecordPosition, now = Date.now()): { spec: TableSpec; row: Row } | undefined {
  const spec = tableForFamily(record.family);
  if (!spec) return undefined;
  const extra = derived(spec, record, position, now);
  const row: Row = {};
  for (const c of spec.columns) {
    const value = c.name in extra ? extra[c.name] : record[c.name];
    row[c.name] = value === undefined ? null : (value as Row[string]);
  }
  return { spec, row };
}
