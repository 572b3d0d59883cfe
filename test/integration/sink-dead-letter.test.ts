import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_NAMES } from '../../src/codec/index.js';
import { sampleCallbackRecord, sampleEventRecord } from '../support/fixtures.js';
import { readDeadLetters, startTestPipeline, testKafka, waitForCaughtUp } from '../support/pipeline-harness.js';

let t: Awaited<ReturnType<typeof startTestPipeline>>;

beforeAll(async () => {
  t = await startTestPipeline({ receiver: false });
});
afterAll(async () => {
  await t?.pipeline.stop();
});

describe('sink dead-letter topic', () => {
  it('sends undecodable records there with the error in the headers and carries on', async () => {
    const producer = testKafka().producer();
    await producer.connect();
    const good = (id: string) => t.pipeline.codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ call_id: id, entity_id: id }));
    await producer.send({
      topic: t.config.topicEvents,
      messages: [
        { key: 'ok-1', value: good('ok-1'), partition: 0 },
        { key: 'garbage', value: Buffer.from('{"not":"avro"}'), partition: 0 },
        { key: 'ok-2', value: good('ok-2'), partition: 0 },
      ],
    });
    await producer.disconnect();

    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    const rows = await t.pipeline.warehouse!.query('SELECT call_id FROM call_events ORDER BY call_id');
    expect(rows).toEqual([{ call_id: 'ok-1' }, { call_id: 'ok-2' }]);

    const dead = await readDeadLetters(t.config.topicDeadLetter, 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      key: 'garbage',
      value: '{"not":"avro"}',
      headers: { 'callstream-error-code': 'CODEC_BAD_FRAME', 'callstream-source-topic': t.config.topicEvents, 'callstream-source-partition': '0', 'callstream-source-offset': '1' },
    });

    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^callstream_sink_records_consumed_total 3$/m);
    expect(metrics).toMatch(/^callstream_sink_dead_lettered_total 1$/m);
    expect(metrics).toMatch(/^callstream_sink_rows_upserted_total 2$/m);
    expect(metrics).toMatch(new RegExp(`^callstream_sink_consumer_lag\\{topic="${t.config.topicEvents.replace(/\./g, '\\.')}",partition="0"\\} 0$`, 'm'));
    expect(metrics).toMatch(/^callstream_end_to_end_delay_seconds_count 2$/m);
  });

  // Records another producer of the estate (or an older callstream) wrote, which the warehouse
  // refuses for their content: one at the head of a partition used to stop both flows for good.
  it.each([
    ['a lone surrogate in extracted_data', { extracted_data: '{"n":"\\ud800"}' }, /no low surrogate|surrogate/i],
    ['a lone surrogate in a runtime_vars key', { runtime_vars: '{"\\udc00":1}' }, /surrogate/i],
    ['a lone surrogate inside tool_calls', { tool_calls: '[{"name":"x\\udbff"}]' }, /surrogate/i],
  ])('dead-letters a record the warehouse refuses (%s) with its reason, and the partition moves on', async (name, bad, reason) => {
    const { codec } = t.pipeline;
    const id = `poison-${name.replace(/\W+/g, '-')}`;
    const record = (callId: string, extra: Record<string, unknown> = {}) =>
      codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ call_id: callId, entity_id: callId, request_id: `req-${callId}`, ...extra }));
    const good = Array.from({ length: 50 }, (_, i) => ({ key: `${id}-ok-${i}`, value: record(`${id}-ok-${i}`), partition: 1 }));
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: t.config.topicEvents, messages: [{ key: id, value: record(id, bad), partition: 1 }, ...good] });
    await producer.disconnect();

    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    const landed = await t.pipeline.warehouse!.query(`SELECT count(*)::INT AS n FROM call_events WHERE call_id LIKE '${id}-ok-%'`);
    expect(landed).toEqual([{ n: 50 }]);
    expect(await t.pipeline.warehouse!.query(`SELECT call_id FROM call_events WHERE call_id = '${id}'`)).toEqual([]);
    const dead = (await readDeadLetters(t.config.topicDeadLetter, 1, (m) => m.key === id)).filter((m) => m.key === id);
    expect(dead).toHaveLength(1);
    expect(dead[0].headers).toMatchObject({ 'callstream-error-code': 'SINK_ROW_REJECTED', 'callstream-source-topic': t.config.topicEvents, 'callstream-source-partition': '1' });
    expect(dead[0].headers['callstream-error']).toMatch(reason);
  });

  it('sends a record of the wrong schema on the callbacks topic to the callbacks dead-letter topic', async () => {
    const producer = testKafka().producer();
    await producer.connect();
    const { codec } = t.pipeline;
    await producer.send({
      topic: t.config.topicTelephony,
      messages: [
        { key: 'vs_wrong_topic', value: codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ call_id: 'vs_wrong_topic', entity_id: 'vs_wrong_topic' })), partition: 0 },
        { key: 'CA-ok', value: codec.encode(SCHEMA_NAMES.telephonyCallback, sampleCallbackRecord({ provider_call_id: 'CA-ok', call_sid: 'CA-ok' })), partition: 0 },
      ],
    });
    await producer.disconnect();

    await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);
    expect(await t.pipeline.warehouse!.query('SELECT provider_call_id FROM telephony_callbacks')).toEqual([{ provider_call_id: 'CA-ok' }]);
    expect(await t.pipeline.warehouse!.query("SELECT call_id FROM call_events WHERE call_id = 'vs_wrong_topic'")).toEqual([]);
    const dead = await readDeadLetters(t.config.topicTelephonyDeadLetter, 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      key: 'vs_wrong_topic',
      headers: { 'callstream-error-code': 'SINK_DECODE_FAILED', 'callstream-source-topic': t.config.topicTelephony, 'callstream-source-offset': '0' },
    });
    expect(dead[0].headers['callstream-error']).toMatch(/expected a io\.callstream\.telephony\.TelephonyCallback record/);
  });
});
