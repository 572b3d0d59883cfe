import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../../src/codec/index.js';
import { loadConfig } from '../../../src/config/index.js';
import type { Publisher } from '../../../src/kafka/index.js';
import { deadLetterFor } from '../../../src/sink/dead-letters.js';
import { decodeRecord } from '../../../src/sink/decode.js';
import { sinkStreams } from '../../../src/sink/streams.js';
import { CALL_EVENTS } from '../../../src/warehouse/index.js';
import { sampleCallbackRecord, sampleEventRecord } from '../../support/fixtures.js';

const codec = AvroCodec.fromDirectory(schemasDir());
const config = loadConfig({}, { logLevel: 'silent' });
const streams = sinkStreams(config);
const events = streams.find((s) => s.topic === config.topicEvents)!;
const message = (value: Buffer | null, extra: Partial<KafkaMessage> = {}): KafkaMessage =>
  ({ key: Buffer.from('vs_12345'), value, offset: '41', timestamp: '1764230000000', headers: { 'callstream-request-id': 'req-1' }, attributes: 0, ...extra }) as KafkaMessage;

describe('decodeRecord', () => {
  it('turns an event record into its table row, with where it came from', () => {
    const outcome = decodeRecord(codec, events, message(codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord())), 2, 1_800_000_000_000);
    expect(outcome).toMatchObject({ spec: CALL_EVENTS, row: { call_id: 'vs_12345', kafka_partition: 2, kafka_offset: 41 } });
  });

  it('gives a reason and a code for what has no row: a tombstone, another schema, bytes that are not Avro', () => {
    const cases: Array<[Buffer | null, string, RegExp]> = [
      [null, 'SINK_DECODE_FAILED', /tombstone/],
      [codec.encode(SCHEMA_NAMES.telephonyCallback, sampleCallbackRecord()), 'SINK_DECODE_FAILED', /expected a .* record/],
      [Buffer.from('{"call_id":"x"}'), 'CODEC', /./],
    ];
    for (const [value, code, reason] of cases) {
      const outcome = decodeRecord(codec, events, message(value), 0, 0);
      expect(outcome).toHaveProperty('reason');
      const { reason: text, code: got } = outcome as { reason: string; code: string };
      expect(text).toMatch(reason);
      if (code === 'CODEC') expect(got).toMatch(/^(CODEC_|SINK_DECODE_FAILED)/);
      else expect(got).toBe(code);
    }
  });
});

describe('deadLetterFor', () => {
  const stream = events;
  const publisher = (fits: boolean) => ({ fits: () => fits }) as unknown as Publisher;

  it('keeps the record\'s key, bytes and headers and adds why and where from', () => {
    const letter = deadLetterFor(publisher(true), 'dlq', stream, message(Buffer.from('raw')), 3, 'bad', 'SINK_DECODE_FAILED');
    expect(letter).toMatchObject({ topic: 'dlq', key: 'vs_12345', value: Buffer.from('raw') });
    expect(letter.headers).toMatchObject({
      'callstream-request-id': 'req-1',
      'callstream-error-code': 'SINK_DECODE_FAILED',
      'callstream-error': 'bad',
      'callstream-source-topic': stream.topic,
      'callstream-source-partition': '3',
      'callstream-source-offset': '41',
      'callstream-source-timestamp': '1764230000000',
    });
  });

  it('carries the record\'s place instead of its bytes when the dead-letter topic cannot take them', () => {
    const letter = deadLetterFor(publisher(false), 'dlq', stream, message(Buffer.alloc(5000)), 0, 'x'.repeat(5000), 'SINK_ROW_REJECTED');
    expect(letter.value.length).toBe(0);
    expect(letter.headers).toMatchObject({ 'callstream-value-omitted': '5000' });
    expect(String(letter.headers!['callstream-error']).length).toBe(2000);
  });
});
