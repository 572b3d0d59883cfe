import { tableForFamily } from '../families/index.js';
import type { Row, TableSpec } from '../warehouse/index.js';
import { rowFor, type DecodedRecord, type RecordPosition } from './rows.js';

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

/** Maps a decoded event to its family's table and row; undefined for a family with no table. */
export function callaroRow(record: DecodedRecord, position: RecordPosition, now = Date.now()): { spec: TableSpec; row: Row } | undefined {
  const event = record as CallaroEventRecord;
  const spec = tableForFamily(event.family);
  if (!spec) return undefined;
  const derived: Row = {
    [spec.keyColumns[0]]: event.entity_id,
    event_type: event.event,
    event_time: event.occurred_at ?? event.received_at,
  };
  return { spec, row: rowFor(spec, record, derived, position, now) };
}
