import type { KafkaMessage } from 'kafkajs';
import { FLOW_EVENT_SCHEMA, SCHEMA_NAMES } from '../codec/index.js';
import { FLOWS, flowTopic, type Config, type Flow } from '../config/index.js';
import type { Row, TableSpec } from '../warehouse/index.js';
import { callaroRow } from './callaro-rows.js';
import { PiiPolicy } from '../privacy/pii.js';
import { deadLetterRow, requestRow } from './request-rows.js';
import type { DecodedRecord, RecordPosition } from './rows.js';
import { telephonyRow } from './telephony-rows.js';

/**
 * A topic the sink consumes: the record schema it carries, how a record becomes a row,
 * and where records that cannot go. One sink engine serves every flow; each flow keeps
 * its own topic, table and dead-letter topic.
 */
export interface SinkStream {
  topic: string;
  /** events: a flow's event topic (what the sink's consumed-records metric and lag alerts are about); index: the audit trail's. */
  kind: 'events' | 'index';
  /**
   * Full name of the Avro record the topic carries; another record is dead-lettered.
   * Undefined: the value is not decoded, the row comes from the record's key and headers
   * (the dead-letter topics, whose values are what could not be decoded or stored).
   */
  schema?: string;
  /**
   * Where records that cannot become rows go. Undefined for the dead-letter topics' own
   * index: a row it cannot store is logged and counted, never dead-lettered again (a loop).
   */
  deadLetterTopic?: string;
  /** The row; undefined when the record names no known table (dead-lettered). */
  toRow(record: DecodedRecord, position: RecordPosition, now: number, message: KafkaMessage): { spec: TableSpec; row: Row } | undefined;
}

/**
 * Both flows: Callaro's events and the providers' callbacks; with the request log on (the
 * default), also each flow's audit and dead-letter topic, indexed into the requests and
 * dead_letters tables. Every row passes the PII policy (CALLSTREAM_PII_MODE) on its way out.
 */
export function sinkStreams(config: Config, pii = PiiPolicy.fromConfig(config)): SinkStream[] {
  return rawStreams(config).map((stream) => ({
    ...stream,
    toRow: (record, position, now, message) => {
      const mapped = stream.toRow(record, position, now, message);
      return mapped && { spec: mapped.spec, row: pii.protect(mapped.spec, mapped.row) };
    },
  }));
}

/** Each flow's record -> row mapping for its events topic. */
const EVENT_ROWS: Readonly<Record<Flow, SinkStream['toRow']>> = { callaro: callaroRow, telephony: telephonyRow };

function rawStreams(config: Config): SinkStream[] {
  const topic = (flow: Flow, role: 'events' | 'raw' | 'deadLetter') => flowTopic(config, flow, role).topic;
  const streams: SinkStream[] = FLOWS.map((flow) => ({ kind: 'events', topic: topic(flow, 'events'), schema: FLOW_EVENT_SCHEMA[flow], deadLetterTopic: topic(flow, 'deadLetter'), toRow: EVENT_ROWS[flow] }));
  if (!config.requestLog) return streams;
  return [
    ...streams,
    ...FLOWS.map((flow): SinkStream => ({ kind: 'index', topic: topic(flow, 'raw'), schema: SCHEMA_NAMES.rawRequest, deadLetterTopic: topic(flow, 'deadLetter'), toRow: requestRow })),
    ...FLOWS.map((flow): SinkStream => ({ kind: 'index', topic: topic(flow, 'deadLetter'), toRow: deadLetterRow(flow) })),
  ];
}
