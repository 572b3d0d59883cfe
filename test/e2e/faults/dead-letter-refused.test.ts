import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exampleCallCompleted } from '../../support/fixtures.js';
import { isolatedConfig, readDeadLetters, startTestPipeline, testKafka, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';

/**
 * The dead-letter topic refuses what the sink sends it: its max.message.bytes is lowered
 * after start-up, below what the publisher was told, so the broker answers MESSAGE_TOO_LARGE.
 * A failed dead-letter publish used to mark the sink broken and exit the process (`npm start`
 * exits 1), the receiver with it. Now the dead letter is shrunk to what the topic takes (the
 * record's place without its bytes, then without its own headers), the sink commits only once
 * it is stored, and the receiver answers throughout.
 */
let t: Awaited<ReturnType<typeof startTestPipeline>>;
const exits: unknown[] = [];

beforeAll(async () => {
  vi.spyOn(process, 'exit').mockImplementation(((code?: number) => void exits.push(code)) as never);
  t = await startTestPipeline({ config: isolatedConfig({ topicPartitions: 1 }) });
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: t.config.topicDeadLetter, configEntries: [{ name: 'max.message.bytes', value: '1024' }] }],
    });
  } finally {
    await admin.disconnect();
  }
});
afterAll(async () => {
  await t?.pipeline.stop();
  vi.restoreAllMocks();
});

async function postCall(callId: string): Promise<number> {
  const body = JSON.stringify({ ...exampleCallCompleted(), call_id: callId });
  const res = await fetch(`${t.url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return res.status;
}

describe('a dead-letter topic that refuses the dead letter', () => {
  it('keeps a pointer to the record instead, commits after it, and the process and its receiver live on', async () => {
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: t.config.topicEvents,
      messages: [
        // Not Avro, each over the 1 KiB the dead-letter topic now takes: the first fits once its
        // value is left out, the second only without its own large header as well.
        { key: 'too-big-1', value: Buffer.from('x'.repeat(4000)), partition: 0 },
        { key: 'too-big-2', value: Buffer.from('y'.repeat(4000)), headers: { 'x-bulky': 'z'.repeat(2000), 'callstream-request-id': 'req-big-2' }, partition: 0 },
      ],
    });
    await producer.disconnect();
    expect(await postCall('after_refusal')).toBe(202);

    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    const dead = await readDeadLetters(t.config.topicDeadLetter, 2);
    const headers = dead.map((r) => r.headers);
    expect(dead.map((r) => [r.key, r.value])).toEqual([
      ['too-big-1', ''],
      ['too-big-2', ''],
    ]);
    expect(headers[0]).toMatchObject({ 'callstream-value-omitted': '4000', 'callstream-source-topic': t.config.topicEvents, 'callstream-source-partition': '0', 'callstream-source-offset': '0' });
    expect(headers[1]).toMatchObject({ 'callstream-value-omitted': '4000', 'callstream-source-offset': '1', 'callstream-request-id': 'req-big-2' });
    expect(headers[1]['callstream-headers-omitted']).toBe('x-bulky');
    expect(headers[1]).not.toHaveProperty('x-bulky');

    const rows = await waitFor(
      () => t.pipeline.warehouse!.query('SELECT entity_key, source_offset::INT AS source_offset, value_bytes::INT AS value_bytes FROM dead_letters ORDER BY source_offset'),
      (r) => r.length === 2,
      20_000,
      'dead_letters rows',
    );
    expect(rows).toEqual([
      { entity_key: 'too-big-1', source_offset: 0, value_bytes: 0 },
      { entity_key: 'too-big-2', source_offset: 1, value_bytes: 0 },
    ]);
    expect(await t.pipeline.warehouse!.query("SELECT call_id FROM call_events WHERE call_id = 'after_refusal'")).toEqual([{ call_id: 'after_refusal' }]);
    expect(await postCall('still_up')).toBe(202);
    expect(exits).toEqual([]);
  });
});
