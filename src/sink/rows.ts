import type { Row, TableSpec } from '../warehouse/index.js';

/** Where a record sits in its topic: the version guard orders rows by it. */
export interface RecordPosition {
  partition: number;
  offset: number;
}

/** A record decoded from a topic, before it becomes a row. */
export type DecodedRecord = Record<string, unknown>;

/**
 * A table's row from a decoded record: each column takes the same-named field of the
 * record unless `derived` gives its value; the position columns come from the record's
 * place in the topic.
 */
export function rowFor(spec: TableSpec, record: DecodedRecord, derived: Row, position: RecordPosition, now: number): Row {
  const extra: Row = { ...derived, kafka_partition: position.partition, kafka_offset: position.offset, ingested_at: now };
  const row: Row = {};
  for (const c of spec.columns) {
    const value = c.name in extra ? extra[c.name] : record[c.name];
    row[c.name] = value === undefined ? null : (value as Row[string]);
  }
  return row;
}
