import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { deadLetterRow, requestRow } from '../../../src/sink/request-rows.js';
import { DEAD_LETTERS, REQUESTS, isNewer } from '../../../src/warehouse/index.js';

const audit = (overrides: Record<string, unknown> = {}) => ({
  request_id: 'req-1',
  received_at: 1_796_000_000_000,
  flow: 'callaro',
  method: 'POST',
  path: '/callaro/webhooks',
  remote_address: '10.0.0.1',
  headers: { authorization: '[redacted]' },
  body: Buffer.from('{"event":"call.completed","call_id":"vs_1","call_sid":"CA1"}'),
  truncated: false,
  status: 202,
  error_code: null,
  event_key: 'vs_1',
  verified_by: 'bearer #1',
  ...overrides,
});

const position = { partition: 2, offset: 41 };

describe('requestRow (the requests table, from an audit record)', () => {
  it('keeps what a trace needs and no body, headers or address', () => {
    const { spec, row } = requestRow(audit(), position, 5);
    expect(spec).toBe(REQUESTS);
    expect(row).toEqual({
      request_id: 'req-1',
      flow: 'callaro',
      method: 'POST',
      route: '/callaro/webhooks',
      status: 202,
      error_code: null,
      entity_key: 'vs_1',
      call_sid: null,
      verified_by: 'bearer #1',
      body_bytes: audit().body.length,
      event_time: 1_796_000_000_000,
      received_at: 1_796_000_000_000,
      kafka_partition: 2,
      kafka_offset: 41,
      ingested_at: 5,
      trace_id: null,
    });
    expect(Object.keys(row).sort()).toEqual(REQUESTS.columns.map((c) => c.name).sort());
  });

  it('takes the 413 a refused event turned a 202 into for the newer version, whichever is read first', () => {
    // The broker refused the event as too large after the 202 audit record was stored: a second one says 413.
    const accepted = requestRow(audit(), position, 5).row;
    const refused = requestRow(audit({ status: 413, error_code: 'RCV_RECORD_TOO_LARGE', event_key: null }), { partition: 2, offset: 42 }, 6).row;
    expect(isNewer(REQUESTS, refused, accepted)).toBe(true);
    expect(isNewer(REQUESTS, accepted, refused)).toBe(false);
    // The same audit record read again (a redelivery, a replay) is not newer.
    const again = requestRow(audit(), { partition: 2, offset: 41 }, 9).row;
    expect(isNewer(REQUESTS, again, accepted)).toBe(false);
  });

  it('finds the call a refused request names, in JSON or form bodies, and nothing in what does not parse', () => {
    const refused = (body: string) => requestRow(audit({ status: 422, error_code: 'RCV_SCHEMA_INVALID', event_key: null, body: Buffer.from(body) }), position, 0).row;
    expect(refused('{"call_id":"vs_9","call_sid":"CA9","voice_session_id":"x"}')).toMatchObject({ entity_key: 'vs_9', call_sid: 'CA9' });
    expect(refused('CallSid=CA77&CallStatus=ringing')).toMatchObject({ entity_key: 'CA77', call_sid: 'CA77' });
    expect(refused('{"call_id": 12345}')).toMatchObject({ entity_key: '12345' });
    for (const broken of ['{"call_id":"vs_9"', '[{"call_id":"vs_9"}]', '', 'not json\nat all']) {
      expect(refused(broken), broken).toMatchObject({ entity_key: null, call_sid: null });
    }
    // A truncated (413) body is not parsed: its prefix could name anything.
    expect(requestRow(audit({ status: 413, event_key: null, truncated: true }), position, 0).row.entity_key).toBeNull();
  });

  describe('trace_id', () => {
    const RECEIVER = '4bf92f3577b34da6a3ce929d0e0e4736';
    const SENDER = '0af7651916cd43dd8448eb211c80319c';
    const traceparent = (traceId: string, sampled = '01') => `00-${traceId}-00f067aa0ba902b7-${sampled}`;
    /** The Kafka record as the sink's consumer hands it over: header values as Buffers. */
    const record = (headers: Record<string, string>) => ({ headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])) });
    const traceIdOf = (auditHeaders: Record<string, string>, recordHeaders?: Record<string, string>) =>
      requestRow(audit({ headers: { authorization: '[redacted]', ...auditHeaders } }), position, 0, recordHeaders && record(recordHeaders)).row.trace_id;

    it("is the trace of the audit record's traceparent (the receiver's, tracing on) before the request's own", () => {
      expect(traceIdOf({ traceparent: traceparent(SENDER) }, { 'callstream-request-id': 'req-1', traceparent: traceparent(RECEIVER) })).toBe(RECEIVER);
      // An unsampled webhook's record carries the sender's trace, sampled flag off: still a trace id.
      expect(traceIdOf({}, { traceparent: traceparent(SENDER, '00') })).toBe(SENDER);
    });

    it("falls back to the request's own traceparent header (tracing off: the record has none)", () => {
      expect(traceIdOf({ traceparent: traceparent(SENDER) }, { 'callstream-request-id': 'req-1' })).toBe(SENDER);
      expect(traceIdOf({ traceparent: ` ${traceparent(SENDER)} ` })).toBe(SENDER);
      // An invalid record header is no trace: the request's own header still counts.
      expect(traceIdOf({ traceparent: traceparent(SENDER) }, { traceparent: 'garbage' })).toBe(SENDER);
    });

    it('is null, never an error, when there is no valid traceparent anywhere', () => {
      expect(traceIdOf({})).toBeNull();
      expect(traceIdOf({}, {})).toBeNull();
      for (const invalid of [
        'garbage',
        '',
        traceparent('0'.repeat(32)), // all-zero trace id
        `00-${SENDER}-${'0'.repeat(16)}-01`, // all-zero span id
        `ff-${SENDER}-00f067aa0ba902b7-01`, // version ff is forbidden
        traceparent(SENDER.toUpperCase()), // upper-case hex
        `00-${SENDER.slice(2)}-00f067aa0ba902b7-01`, // short
        `00-${SENDER}-00f067aa0ba902b7-01\ud800`,
      ]) {
        expect(traceIdOf({ traceparent: invalid }, { traceparent: invalid }), invalid).toBeNull();
      }
      // An audit record without headers at all (another producer's), and a record header given as an array.
      expect(requestRow(audit({ headers: undefined }), position, 0, { headers: { traceparent: undefined } }).row.trace_id).toBeNull();
      expect(requestRow(audit(), position, 0, { headers: { traceparent: [Buffer.from(traceparent(RECEIVER))] } }).row.trace_id).toBe(RECEIVER);
    });
  });

  it('makes every string storable: a lone surrogate becomes U+FFFD, a claimed id is bounded', () => {
    const { row } = requestRow(audit({ status: 422, event_key: null, body: Buffer.from(`{"call_id":"vs_\\ud800${'x'.repeat(5000)}"}`), path: '/callaro/webhooks\ud800' }), position, 0);
    expect(row.entity_key).toMatch(/^vs_\uFFFDx+$/);
    expect(String(row.entity_key).length).toBe(256);
    expect(row.route).toBe('/callaro/webhooks\uFFFD');
  });
});

describe('deadLetterRow (the dead_letters table, from a dead letter\'s key and headers)', () => {
  const letter = (headers: Record<string, string>, overrides: Partial<KafkaMessage> = {}): KafkaMessage =>
    ({ key: Buffer.from('vs_1'), value: Buffer.from('not avro'), timestamp: '1796000009999', offset: '7', attributes: 0, headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])), ...overrides }) as KafkaMessage;
  const sink = {
    'callstream-error-code': 'CODEC_BAD_FRAME',
    'callstream-error': 'CODEC_BAD_FRAME: neither frame',
    'callstream-source-topic': 'callstream.callaro.events',
    'callstream-source-partition': '3',
    'callstream-source-offset': '120',
    'callstream-source-timestamp': '1796000000000',
    'callstream-request-id': 'req-9',
  };

  it('reads the reason and both places from the headers', () => {
    const { spec, row } = deadLetterRow('callaro')({}, { partition: 0, offset: 7 }, 5, letter(sink));
    expect(spec).toBe(DEAD_LETTERS);
    expect(row).toEqual({
      source_topic: 'callstream.callaro.events',
      source_partition: 3,
      source_offset: 120,
      flow: 'callaro',
      entity_key: 'vs_1',
      error_code: 'CODEC_BAD_FRAME',
      reason: 'CODEC_BAD_FRAME: neither frame',
      value_bytes: 8,
      event_time: 1_796_000_000_000,
      request_id: 'req-9',
      received_at: 1_796_000_000_000,
      kafka_partition: 0,
      kafka_offset: 7,
      ingested_at: 5,
    });
    expect(Object.keys(row).sort()).toEqual(DEAD_LETTERS.columns.map((c) => c.name).sort());
  });

  it('is the same version when a replay dead-letters the same record again, so the row stays', () => {
    const first = deadLetterRow('callaro')({}, { partition: 0, offset: 7 }, 5, letter(sink)).row;
    const again = deadLetterRow('callaro')({}, { partition: 0, offset: 31 }, 9, letter(sink, { timestamp: '1796000099999', offset: '31' })).row;
    expect(isNewer(DEAD_LETTERS, again, first)).toBe(false);
    expect(isNewer(DEAD_LETTERS, first, again)).toBe(false);
  });

  it('never fails on what another producer wrote: no headers, no key, no value', () => {
    const { row } = deadLetterRow('telephony')({}, { partition: 0, offset: 1 }, 5, { key: null, value: null, timestamp: '1796000000001', offset: '1', attributes: 0, headers: {} } as unknown as KafkaMessage);
    expect(row).toMatchObject({ source_topic: 'unknown', source_partition: -1, source_offset: -1, entity_key: null, error_code: 'unknown', reason: '', value_bytes: 0, request_id: 'unknown', received_at: 1_796_000_000_001 });
    const omitted = deadLetterRow('callaro')({}, { partition: 0, offset: 2 }, 5, letter({ ...sink, 'callstream-value-omitted': '9000000' }, { value: Buffer.alloc(0) })).row;
    expect(omitted.value_bytes).toBe(0);
  });
});
