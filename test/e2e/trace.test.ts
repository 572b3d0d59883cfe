import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallTrace } from '../../src/trace/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callCompleted } from '../support/fixtures.js';
import { mainInProcess } from '../support/main-in-process.js';
import { isolatedConfig, startTestPipeline, testKafka, waitFor } from '../support/pipeline-harness.js';
import { post, type Sent } from './scenario.js';
import { statusCallback, twilioCallback, writeVendorsFile } from './telephony-scenario.js';

/**
 * `callstream trace` end to end (issue 12): a call delivered three times, refused once,
 * dead-lettered once and joined to its provider callbacks, told from the warehouse alone.
 */

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: DuckDbWarehouse;

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-e2e-trace-')), 'w.duckdb'));
  t = await startTestPipeline({ warehouse, querySocket: true, config: isolatedConfig({ telephonyVendors: writeVendorsFile() }) });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
});

/** Runs `callstream trace …` in-process against the test pipeline (its query socket), capturing what it prints. */
async function trace(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = {
    CALLSTREAM_DATA_DIR: t.config.dataDir,
    CALLSTREAM_TOPIC_RAW: t.config.topicRaw,
    CALLSTREAM_TOPIC_TELEPHONY_RAW: t.config.topicTelephonyRaw,
    CALLSTREAM_TOPIC_DLQ: t.config.topicDeadLetter,
    CALLSTREAM_TOPIC_EVENTS: t.config.topicEvents,
    KAFKA_BROKERS: t.config.kafkaBrokers!.join(','),
  };
  return mainInProcess(['trace', ...args], env);
}

async function story(id: string): Promise<CallTrace> {
  const { code, out, err } = await trace(id, '--json');
  if (code > 1) throw new Error(`trace exited ${code}: ${err}`);
  return JSON.parse(out) as CallTrace;
}

const SENDER_TRACE = '0af7651916cd43dd8448eb211c80319c';

describe('callstream trace', () => {
  const body = callCompleted(7001);
  const callId = String(body.call_id);
  const callSid = String(body.call_sid);
  const deliveries: Sent[] = [];
  let refused: Sent;
  const callbacks: Sent[] = [];

  it('tells the story of a call delivered three times, refused once, dead-lettered once and joined to its callbacks', async () => {
    for (let n = 0; n < 3; n++) deliveries.push(await post(t.url, body));
    expect(deliveries.map((d) => d.status)).toEqual([202, 202, 202]);
    // The refused one comes with a sender's traceparent: tracing is off here, so its trace id is that header's.
    refused = await post(t.url, { ...body, voice_session_id: 'not a number' }, 'application/json', { traceparent: `00-${SENDER_TRACE}-00f067aa0ba902b7-01` });
    expect(refused).toMatchObject({ status: 422, code: 'RCV_SCHEMA_INVALID' });
    // A record for the call that the sink cannot decode: produced straight to the topic, as another producer might.
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: t.config.topicEvents, messages: [{ key: callId, value: Buffer.from('not avro'), headers: { 'callstream-request-id': 'poison-7001' } }] });
    await producer.disconnect();
    callbacks.push(await twilioCallback(t.url, statusCallback(callSid, 'ringing', 1)));
    callbacks.push(await twilioCallback(t.url, statusCallback(callSid, 'completed', 9)));
    expect(callbacks.map((c) => c.status)).toEqual([202, 202]);

    const told = await waitFor(
      () => story(callId),
      (s) => s.requests.length === 6 && s.dead_letters.length === 1 && s.rows.length === 3,
      30_000,
      'the whole story in the warehouse',
    );
    // Every request, in time order, with its outcome and what verified it.
    expect(told.requests.map((r) => r.request_id)).toEqual([...deliveries, refused, ...callbacks].map((s) => s.requestId));
    expect(told.requests.map((r) => [r.flow, r.status, r.error_code])).toEqual([
      ['callaro', 202, null],
      ['callaro', 202, null],
      ['callaro', 202, null],
      ['callaro', 422, 'RCV_SCHEMA_INVALID'],
      ['telephony', 202, null],
      ['telephony', 202, null],
    ]);
    expect(told.requests[3].entity_key, 'a refused request is found by the call id its body names').toBe(callId);
    expect(told.requests[4].verified_by).toBe('twilio: twilio #1');
    expect(told.requests[0].verified_by, 'no check configured on the Callaro route').toBeNull();
    expect(told.requests.every((r) => Number.isInteger(r.kafka_offset) && r.kafka_offset >= 0)).toBe(true);
    expect(told.requests.map((r) => r.trace_id), 'the sender\'s traceparent, where one came').toEqual([null, null, null, SENDER_TRACE, null, null]);
    // The dead letter, with its reason and both places.
    expect(told.dead_letters).toEqual([
      expect.objectContaining({ source_topic: t.config.topicEvents, entity_key: callId, error_code: 'CODEC_BAD_FRAME', request_id: 'poison-7001', flow: 'callaro' }),
    ]);
    // The rows: the call's current version is the last delivery's, and both callbacks joined on call_sid.
    const call = told.rows.find((r) => r.table === 'call_events')!;
    expect(call).toMatchObject({ key: { call_id: callId, event_type: 'call.completed' }, call_sid: callSid, request_id: deliveries[2].requestId });
    expect(told.rows.filter((r) => r.table === 'telephony_callbacks').map((r) => r.key.callback_status).sort()).toEqual(['completed', 'ringing']);
    expect(told.joined.call_sids).toContain(callSid);
    expect(told.joined.call_ids).toContain(callId);
  });

  it('tells the same story from the call_sid and from any of its request ids, and prints a timeline', async () => {
    const byCallId = await story(callId);
    for (const id of [callSid, refused.requestId, callbacks[1].requestId, deliveries[0].requestId]) {
      const other = await story(id);
      expect(other.requests, id).toEqual(byCallId.requests);
      expect(other.dead_letters, id).toEqual(byCallId.dead_letters);
      expect(other.rows, id).toEqual(byCallId.rows);
    }
    const { code, out } = await trace(callId);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^trace ${callId}: call ${callId} call_sid ${callSid} 6 requests \\(1 refused\\) 1 dead letter 3 rows$`));
    const times = lines.slice(2).map((l) => Date.parse(l.slice(0, 24)));
    expect(times.length).toBe(6 + 1 + 3);
    expect([...times].sort((a, b) => a - b), 'in time order').toEqual(times);
    expect(out).toContain(`422 RCV_SCHEMA_INVALID; key ${callId}`);
    expect(out).toContain(`request ${refused.requestId}; `);
    expect(lines.find((l) => l.includes(`request ${refused.requestId}; `))).toMatch(new RegExp(`; trace_id ${SENDER_TRACE}$`));
    expect(lines.filter((l) => l.includes('trace_id')), 'only the request that had a trace').toHaveLength(1);
    expect(out).toMatch(new RegExp(`dead letter +CODEC_BAD_FRAME: .*record ${t.config.topicEvents.replace(/\./g, '\\.')} \\d+@\\d+, kept at ${t.config.topicDeadLetter.replace(/\./g, '\\.')} 0@0`));
  });

  it('fetches the records behind the story by partition@offset with --bodies: the bodies, headers redacted, the dead letter', async () => {
    const { code, out } = await trace(callId, '--json', '--bodies');
    expect(code).toBe(0);
    const told = JSON.parse(out) as CallTrace & { records: Array<{ kind: string; of: string; found: boolean; headers: Record<string, string>; body: string }> };
    expect(told.records.map((r) => [r.kind, r.of, r.found])).toEqual([
      ...told.requests.map((r) => ['request', r.request_id, true]),
      ['dead letter', `${t.config.topicEvents} ${told.dead_letters[0].source_partition}@${told.dead_letters[0].source_offset}`, true],
    ]);
    expect(JSON.parse(told.records[0].body)).toEqual(body);
    expect(told.records[3].body).toContain('"voice_session_id":"not a number"');
    expect(told.records[4].body).toContain(`CallSid=${callSid}`);
    expect(told.records[4].headers['x-twilio-signature'], 'credentials stay redacted').toBe('[redacted]');
    expect(told.records[6]).toMatchObject({ body: 'not avro', headers: expect.objectContaining({ 'callstream-error-code': 'CODEC_BAD_FRAME', 'callstream-request-id': 'poison-7001' }) });
    const text = await trace(callId, '--bodies');
    expect(text.out).toContain(`--- request ${refused.requestId} (${t.config.topicRaw} `);
  });

  it('exits 1 saying so when nothing is known, and 2 for what is not an id', async () => {
    const none = await trace('vs_never_seen');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/nothing about vs_never_seen in the warehouse/);
    const bad = await trace("x' OR '1'='1");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/not a call_id, call_sid or request id/);
  });
});
