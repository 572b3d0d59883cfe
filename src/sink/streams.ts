import { SCHEMA_NAMES } from '../codec/index.js';
import type { Config } from '../config/index.js';
import type { Row, TableSpec } from '../warehouse/index.js';
import { callaroRow } from './callaro-rows.js';
import type { DecodedRecord, RecordPosition } from './rows.js';
import { telephonyRow } from './telephony-rows.js';

/**
 * A topic the sink consumes: the record schema it carries, how a record becomes a row,
 * and where records that cannot go. One sink engine serves every flow; each flow keeps
 * its own topic, table and dead-letter topic.
 */
export interface SinkStream {
  topic: string;
  /** Full name of the Avro record the topic carries; another record is dead-lettered. */
  schema: string;
  deadLetterTopic: string;
  /** The row; undefined when the record names no known table (dead-lettered). */
  toRow(record: DecodedRecord, position: RecordPosition, now: number): { spec: TableSpec; row: Row } | undefined;
}

/** Both flows: Callaro's events and the providers' callbacks. */
export function sinkStreams(config: Config): SinkStream[] {
  return [
    { topic: config.topicEvents, schema: SCHEMA_NAMES.callaroEvent, deadLetterTopic: config.topicDeadLetter, toRow: callaroRow },
    { topic: config.topicTelephony, schema: SCHEMA_NAMES.telephonyCallback, deadLetterTopic: config.topicTelephonyDeadLetter, toRow: telephonyRow },
  ];
}
