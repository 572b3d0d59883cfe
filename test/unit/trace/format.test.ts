import { describe, expect, it } from 'vitest';
import { formatTrace, timeline, type CallTrace, type TraceTopics } from '../../../src/trace/index.js';
import { EVENT_TABLE_FLOW } from '../../../src/warehouse/index.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const topics: TraceTopics = {
  raw: { callaro: 'c.raw', telephony: 't.raw' },
  deadLetter: { callaro: 'c.dlq', telephony: 't.dlq' },
  // Every event table's topic, by its flow (as the CLI builds it), so a new table needs no line here.
  rows: Object.fromEntries(Object.entries(EVENT_TABLE_FLOW).map(([table, flow]) => [table, flow === 'callaro' ? 'c.events' : 't.callbacks'])) as TraceTopics['rows'],
};
const request = (id: string, at: number, extra: Partial<CallTrace['requests'][number]> = {}): CallTrace['requests'][number] => ({
  request_id: id, flow: 'callaro', method: 'POST', route: '/callaro/webhooks', status: 202, error_code: null, entity_key: 'vs_1', call_sid: null, verified_by: null, body_bytes: 10, received_at: at, kafka_partition: 1, kafka_offset: 5, trace_id: null, ...extra,
});
const story: CallTrace = {
  subject: 'vs_1',
  joined: { call_ids: ['vs_1'], call_sids: ['CA1'], request_ids: ['r1', 'r2'] },
  requests: [request('r2', T0 + 2000, { status: 422, error_code: 'RCV_SCHEMA_INVALID' }), request('r1', T0, { verified_by: 'bearer #1' })],
  dead_letters: [{ source_topic: 'c.events', source_partition: 1, source_offset: 9, flow: 'callaro', entity_key: 'vs_1', error_code: 'CODEC_BAD_FRAME', reason: 'not avro', request_id: 'unknown', event_time: T0 + 3000, kafka_partition: 0, kafka_offset: 2 }],
  rows: [{ table: 'call_events', key: { call_id: 'vs_1', event_type: 'call.completed' }, call_sid: 'CA1', request_id: 'r1', received_at: T0, event_time: T0, kafka_partition: 1, kafka_offset: 7, ingested_at: T0 + 1000 }],
  rounds: 2,
  ms: 3,
};

describe('the trace as text', () => {
  it('is one timeline in time order, whatever order the parts come in, naming each record\'s place', () => {
    const entries = timeline(story, topics);
    expect(entries.map((e) => [e.at - T0, e.what])).toEqual([
      [0, 'request'],
      [1000, 'row'],
      [2000, 'request'],
      [3000, 'dead letter'],
    ]);
    expect(entries[0].detail).toBe('callaro POST /callaro/webhooks -> 202 accepted; key vs_1 verified by bearer #1; request r1; 10 bytes at c.raw 1@5');
    expect(entries[1].detail).toBe('call_events call_id=vs_1 event_type=call.completed: current version from request r1 (received 2026-12-01T10:00:00.000Z), record c.events 1@7 won');
    expect(entries[2].detail).toMatch(/-> 422 RCV_SCHEMA_INVALID; key vs_1 no credential checked/);
    expect(entries[3].detail).toBe('CODEC_BAD_FRAME: not avro; record c.events 1@9, kept at c.dlq 0@2; request unknown');
  });

  it("names a request's trace id (requests.trace_id) at the end of its line, and nothing when it has none", () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const traced = timeline({ ...story, requests: [request('r1', T0, { verified_by: 'bearer #1', trace_id: traceId })] }, topics).find((e) => e.what === 'request')!;
    expect(traced.detail).toBe(`callaro POST /callaro/webhooks -> 202 accepted; key vs_1 verified by bearer #1; request r1; 10 bytes at c.raw 1@5; trace_id ${traceId}`);
    expect(formatTrace({ ...story, requests: [request('r1', T0, { trace_id: traceId })] }, topics)).toContain(`; trace_id ${traceId}`);
    expect(formatTrace(story, topics)).not.toContain('trace_id');
  });

  it('marks a row stored from a record whose request was dead-lettered before as redriven, and only then', () => {
    const letter = { ...story.dead_letters[0], request_id: 'r1', error_code: 'SINK_ROW_REJECTED', source_offset: 4 };
    const redriven = timeline({ ...story, dead_letters: [letter] }, topics).find((e) => e.what === 'row')!;
    expect(redriven.detail).toBe('call_events call_id=vs_1 event_type=call.completed: current version from request r1 (received 2026-12-01T10:00:00.000Z), record c.events 1@7 won; redriven: stored after its dead letter at c.dlq 0@2');
    // The dead letter of the very record that won (a replay wrote it after all) is not a redrive.
    const same = timeline({ ...story, dead_letters: [{ ...letter, source_offset: 7 }] }, topics).find((e) => e.what === 'row')!;
    expect(same.detail).not.toContain('redriven');
  });

  it('starts with a summary line, and says when nothing was found', () => {
    expect(formatTrace(story, topics).split('\n')[0]).toBe('trace vs_1: call vs_1 call_sid CA1 2 requests (1 refused) 1 dead letter 1 row');
    const empty = formatTrace({ ...story, joined: { call_ids: [], call_sids: [], request_ids: [] }, requests: [], dead_letters: [], rows: [] }, topics);
    expect(empty).toBe('trace vs_1: 0 requests (0 refused) 0 dead letters 0 rows\n\n(nothing found)');
  });
});
