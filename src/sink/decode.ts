import type { KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/index.js';
import { describeError, isCallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';
import type { Row, TableSpec } from '../warehouse/index.js';
import { backoffDelay, sleep } from './backoff.js';
import type { DecodedRecord } from './rows.js';
import type { SinkStream } from './streams.js';

/** A record's row and table, or why it has none (the dead letter's reason and code). */
export type DecodeOutcome = { spec: TableSpec; row: Row } | { reason: string; code: string };

/** Decodes a record of a stream into its table's row; never throws. */
export function decodeRecord(codec: AvroCodec, stream: SinkStream, message: KafkaMessage, partition: number, now: number): DecodeOutcome {
  const position = { partition, offset: Number(message.offset) };
  if (!stream.schema) {
    // A dead-letter topic: the row comes from the record's key and headers.
    return stream.toRow({}, position, now, message) ?? { reason: 'no row for this dead letter', code: 'SINK_ROW_REJECTED' };
  }
  if (!message.value) return { reason: 'empty record value (tombstone)', code: 'SINK_DECODE_FAILED' };
  try {
    const { value, schema } = codec.decode<DecodedRecord>(message.value);
    if (schema.name !== stream.schema) return { reason: `expected a ${stream.schema} record on ${stream.topic}, got ${schema.name}`, code: 'SINK_DECODE_FAILED' };
    const mapped = stream.toRow(value, position, now, message);
    return mapped ?? { reason: `no table for event family "${String(value.family)}"`, code: 'SINK_ROW_REJECTED' };
  } catch (err) {
    return { reason: describeError(err), code: isCallstreamError(err) ? err.code : 'SINK_DECODE_FAILED' };
  }
}

/**
 * Registry-framed records name their writer schema by id: fetches the ids not seen yet
 * before decoding. A registry that does not answer, or refuses the sink's credentials, is
 * waited for (capped backoff, heartbeating), never a reason to dead-letter; an id it does
 * not know is (decode fails). False when the sink began stopping meanwhile.
 */
export async function fetchWriterSchemas(
  deps: { codec: AvroCodec; metrics: Metrics; logger: Logger },
  messages: KafkaMessage[],
  heartbeat: () => Promise<void>,
  running: () => boolean,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await deps.codec.prefetch(messages.map((m) => m.value));
      return true;
    } catch (err) {
      // Unavailable, or refusing our credentials: wait for it (or for an operator), never dead-letter.
      const retriable = isCallstreamError(err, 'CODEC_REGISTRY_UNAVAILABLE') || isCallstreamError(err, 'CODEC_REGISTRY_REFUSED');
      if (!retriable) throw err;
      if (!running()) return false; // stopping: the batch is left to the next reader, not failed
      const delayMs = backoffDelay(attempt, 500, 30_000);
      deps.metrics.registryWaits.inc();
      const level = isCallstreamError(err, 'CODEC_REGISTRY_REFUSED') ? 'error' : 'warn';
      deps.logger[level]({ error: describeError(err), attempt, delayMs }, 'schema registry unavailable or refusing the sink; retrying before decoding');
      await sleep(delayMs);
      await heartbeat().catch(() => undefined);
    }
  }
}
