import { TELEPHONY_CALLBACKS, type Row, type TableSpec } from '../warehouse/index.js';
import { rowFor, type DecodedRecord, type RecordPosition } from './rows.js';

/** Maps a decoded TelephonyCallback (schemas/telephony-callback.v*.avsc) to its telephony_callbacks row. */
export function telephonyRow(record: DecodedRecord, position: RecordPosition, now = Date.now()): { spec: TableSpec; row: Row } {
  const derived: Row = {
    event_time: (record.occurred_at as number | null) ?? (record.received_at as number),
    // The bytes the signature covered, as text: the receiver accepts only UTF-8 bodies.
    raw_body: (record.raw_body as Buffer).toString('utf8'),
  };
  return { spec: TELEPHONY_CALLBACKS, row: rowFor(TELEPHONY_CALLBACKS, record, derived, position, now) };
}
