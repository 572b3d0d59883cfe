import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../../src/codec/index.js';
import { loadConfig } from '../../../src/config/index.js';
import type { Publisher } from '../../../src/kafka/index.js';
import { deadLetterFor, publishDeadLetters, shrinkDeadLetter } from '../../../src/sink/dead-letters.js';
import { CallstreamError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import type { OutgoingMessage } from '../../../src/kafka/index.js';
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
    // A topic that takes the letter without the record's bytes: shrunk that far and no further.
    const fitsWithoutValue = { fits: (l: OutgoingMessage) => l.value.length === 0 } as unknown as Publisher;
    const letter = deadLetterFor(fitsWithoutValue, 'dlq', stream, message(Buffer.alloc(5000)), 0, 'x'.repeat(5000), 'SINK_ROW_REJECTED');
    expect(letter.value.length).toBe(0);
    expect(letter.headers).toMatchObject({ 'callstream-value-omitted': '5000', 'callstream-request-id': 'req-1' });
    expect(String(letter.headers!['callstream-error']).length).toBe(2000);
    // One that takes nothing: the smallest form, the record's place, is sent (and retried until the topic takes it).
    const pointer = deadLetterFor(publisher(false), 'dlq', stream, message(Buffer.alloc(5000)), 0, 'x'.repeat(5000), 'SINK_ROW_REJECTED');
    expect(pointer.headers).toMatchObject({ 'callstream-value-omitted': '5000', 'callstream-source-offset': '41' });
    expect(String(pointer.headers!['callstream-error']).length).toBe(256);
  });
});

describe('shrinkDeadLetter', () => {
  it('drops the bytes, then every header but callstream\'s own, and then nothing more', () => {
    const full = deadLetterFor({ fits: () => true } as unknown as Publisher, 'dlq', events, message(Buffer.alloc(300), { headers: { 'x-big': 'z'.repeat(3000), 'callstream-request-id': 'req-1' } }), 2, 'bad', 'SINK_DECODE_FAILED');
    const withoutValue = shrinkDeadLetter(full)!;
    expect(withoutValue.value.length).toBe(0);
    expect(withoutValue.headers).toMatchObject({ 'callstream-value-omitted': '300', 'x-big': 'z'.repeat(3000) });
    const pointer = shrinkDeadLetter(withoutValue)!;
    expect(pointer.headers).toEqual({
      'callstream-request-id': 'req-1',
      'callstream-error-code': 'SINK_DECODE_FAILED',
      'callstream-error': 'bad',
      'callstream-source-topic': events.topic,
      'callstream-source-partition': '2',
      'callstream-source-offset': '41',
      'callstream-source-timestamp': '1764230000000',
      'callstream-value-omitted': '300',
      'callstream-headers-omitted': 'x-big',
    });
    expect(shrinkDeadLetter(pointer)).toBeUndefined();
  });
});

describe('publishDeadLetters', () => {
  const silent = createLogger({ level: 'silent' });
  const letter = (key: string, bytes = 10): OutgoingMessage => ({ topic: 'dlq', key, value: Buffer.alloc(bytes), headers: { 'callstream-source-offset': key } });
  /** A publisher answering each publish() with the next outcome (then success), recording what it was given. */
  function scripted(outcomes: Array<Error | ((letters: OutgoingMessage[]) => Error | undefined)>) {
    const calls: OutgoingMessage[][] = [];
    const publisher = {
      publish: async (letters: OutgoingMessage[]) => {
        calls.push(letters);
        const next = outcomes.shift();
        const err = typeof next === 'function' ? next(letters) : next;
        if (err) throw err;
      },
    } as unknown as Publisher;
    return { publisher, calls };
  }

  it('retries with backoff while the publisher refuses (queue full, broker down) until the letters are stored', async () => {
    const unavailable = new CallstreamError('KAFKA_UNAVAILABLE', 'Too much is waiting for the broker; refusing more until it catches up');
    const { publisher, calls } = scripted([unavailable, unavailable]);
    const letters = [letter('1'), letter('2')];
    expect(await publishDeadLetters(publisher, letters, { logger: silent, signal: new AbortController().signal })).toBe(true);
    expect(calls).toEqual([letters, letters, letters]);
  });

  it('sends each letter alone when the topic refuses one as too large, and shrinks only that one', async () => {
    const tooLarge = (letters: OutgoingMessage[]) => (letters.some((l) => l.value.length > 100) ? new CallstreamError('KAFKA_RECORD_TOO_LARGE') : undefined);
    const { publisher, calls } = scripted([tooLarge, tooLarge, tooLarge, tooLarge]);
    expect(await publishDeadLetters(publisher, [letter('small'), letter('big', 5000)], { logger: silent, signal: new AbortController().signal })).toBe(true);
    expect(calls.map((c) => c.map((l) => `${l.key}:${l.value.length}`))).toEqual([['small:10', 'big:5000'], ['small:10'], ['big:5000'], ['big:0']]);
    expect(calls[3][0].headers).toMatchObject({ 'callstream-value-omitted': '5000', 'callstream-source-offset': 'big' });
  });

  it('gives up only when the sink stops, so the batch stays uncommitted', async () => {
    const stop = new AbortController();
    const { publisher } = scripted(Array.from({ length: 100 }, () => new CallstreamError('KAFKA_UNAVAILABLE')));
    const delivered = publishDeadLetters(publisher, [letter('1')], { logger: silent, signal: stop.signal });
    setTimeout(() => stop.abort(), 300);
    expect(await delivered).toBe(false);
  });
});
