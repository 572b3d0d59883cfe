import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicMaxMessageBytes } from '../../src/kafka/index.js';
import { exampleCallCompleted } from '../support/fixtures.js';
import { isolatedConfig, readTopic, startTestPipeline, testKafka, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';

/**
 * The size contract against the real broker: no request under the body limit fails on a
 * broker size limit, an event record over a (smaller, pre-existing) topic's limit is refused
 * with 413 before producing, and after any produce request the broker refused, every later
 * acknowledged request is in both topics (kafkajs's rolled-back sequence numbers once made the
 * broker drop acknowledged audit records as duplicates).
 */

/** A legal call.completed of about `bytes`, most of it a long tool_calls list. */
function bigCall(callId: string, bytes: number): string {
  const call = { ...exampleCallCompleted(), call_id: callId, voice_session_id: undefined };
  const tool = { name: 'crm.lookup', arguments: { query: 'x'.repeat(200), page: 1 }, result: { rows: ['a', 'b', 'c'] } };
  const per = JSON.stringify(tool).length + 1;
  return JSON.stringify({ ...call, tool_calls: Array.from({ length: Math.floor(bytes / per) }, () => tool) });
}

async function post(url: string, body: string) {
  const res = await fetch(`${url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: json.error?.code, requestId: res.headers.get('x-request-id') ?? '' };
}

async function endOffsets(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

async function setMaxMessageBytes(topic: string, bytes: number): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] });
  } finally {
    await admin.disconnect();
  }
}

describe('size contract (default topics)', () => {
  let t: Awaited<ReturnType<typeof startTestPipeline>>;
  beforeAll(async () => {
    t = await startTestPipeline();
  });
  afterAll(async () => {
    await t?.pipeline.stop();
  });

  it('creates every topic with room for a record of a body at the limit', async () => {
    const admin = testKafka().admin();
    await admin.connect();
    const topics = [t.config.topicEvents, t.config.topicRaw, t.config.topicDeadLetter, t.config.topicTelephony, t.config.topicTelephonyRaw, t.config.topicTelephonyDeadLetter];
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })) });
    await admin.disconnect();
    for (const r of resources) expect(Number(r.configEntries[0].configValue), r.resourceName).toBe(topicMaxMessageBytes(t.config));
    expect(topicMaxMessageBytes(t.config)).toBeGreaterThan(3 * t.config.maxBodyBytes);
  });

  it('accepts legal webhooks up to the body limit (566 KB and 1,000 KB of tool_calls) and writes them', async () => {
    for (const [id, bytes] of [['size-566k', 566_000], ['size-1000k', t.config.maxBodyBytes - 30_000]] as const) {
      const body = bigCall(id, bytes);
      expect(Buffer.byteLength(body)).toBeLessThan(t.config.maxBodyBytes);
      expect(await post(t.url, body), id).toMatchObject({ status: 202 });
    }
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    const rows = await t.pipeline.warehouse!.query("SELECT call_id, json_array_length(tool_calls) AS n FROM call_events WHERE call_id LIKE 'size-%' ORDER BY call_id");
    expect(rows.map((r) => r.call_id)).toEqual(['size-1000k', 'size-566k']);
    expect(rows.every((r) => Number(r.n) > 1000)).toBe(true);
  });
});

describe('size contract (an events topic that takes 1 MB, as created before)', () => {
  let t: Awaited<ReturnType<typeof startTestPipeline>>;
  beforeAll(async () => {
    const config = isolatedConfig();
    // The topics exist already, as callstream used to create them (the broker's 1 MB default).
    const admin = testKafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: config.topicEvents, numPartitions: config.topicPartitions, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] }], waitForLeaders: true });
    await admin.disconnect();
    t = await startTestPipeline({ config });
  });
  afterAll(async () => {
    await t?.pipeline.stop();
  });

  it('refuses a record over the topic\'s limit with 413 RCV_RECORD_TOO_LARGE before producing, and keeps the request in the audit topic', async () => {
    const [rawBefore, eventsBefore] = [await endOffsets(t.config.topicRaw), await endOffsets(t.config.topicEvents)];
    const answer = await post(t.url, bigCall('too-large-for-topic', 700_000));
    expect(answer).toMatchObject({ status: 413, code: 'RCV_RECORD_TOO_LARGE' });
    expect(await endOffsets(t.config.topicRaw)).toBe(rawBefore + 1);
    expect(await endOffsets(t.config.topicEvents)).toBe(eventsBefore);
  });

  it('after the broker itself refuses a record as too large, every acknowledged request is in both topics', async () => {
    // The limit is lowered under the running receiver: its check still believes 1 MB, so the broker refuses.
    await setMaxMessageBytes(t.config.topicEvents, 200_000);
    try {
      const small = (i: number) => JSON.stringify({ ...exampleCallCompleted(), call_id: `after-big-${i}` });
      // The oversized request shares produce requests with ordinary ones...
      const answers = await Promise.all([post(t.url, bigCall('refused-by-broker', 400_000)), ...[0, 1, 2].map((i) => post(t.url, small(i)))]);
      expect(answers[0]).toMatchObject({ status: 413, code: 'RCV_RECORD_TOO_LARGE' });
      expect(answers.slice(1).map((a) => a.status)).toEqual([202, 202, 202]);
      // ...then more come after it: each adds exactly one audit and one event record (before the
      // producer was replaced, the broker dropped some audit records as "duplicates" and acked them).
      const [rawBefore, eventsBefore] = [await endOffsets(t.config.topicRaw), await endOffsets(t.config.topicEvents)];
      const later = [];
      for (let i = 3; i < 8; i++) later.push(await post(t.url, small(i)));
      expect(later.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
      expect(await endOffsets(t.config.topicRaw)).toBe(rawBefore + 5);
      expect(await endOffsets(t.config.topicEvents)).toBe(eventsBefore + 5);

      // Every acknowledged request is in the audit topic with its 202, the refused one with its 413.
      const audit = await readTopic(t.config.topicRaw);
      const statusOf = new Map<string, Set<number>>();
      for (const r of audit) statusOf.set(String(r.value.request_id), (statusOf.get(String(r.value.request_id)) ?? new Set()).add(Number(r.value.status)));
      for (const a of [...answers.slice(1), ...later]) expect([...(statusOf.get(a.requestId) ?? [])], a.requestId).toEqual([202]);
      expect(statusOf.get(answers[0].requestId)).toContain(413);
      await waitFor(
        async () => (await t.pipeline.warehouse!.query("SELECT count(*)::INT AS n FROM call_events WHERE call_id LIKE 'after-big-%'"))[0].n,
        (n) => n === 8,
        30_000,
        'the eight acknowledged events in the warehouse',
      );
      // Its requests row says the 413 it was answered, though the audit topic may hold its 202 too
      // (the same request and receipt: the requests table's version order then takes the higher status).
      await waitForCaughtUp(t.config.consumerGroup, t.config.topicRaw);
      const rows = await t.pipeline.warehouse!.query(`SELECT status, error_code FROM requests WHERE request_id = '${answers[0].requestId}'`);
      expect(rows.map((r) => [Number(r.status), r.error_code])).toEqual([[413, 'RCV_RECORD_TOO_LARGE']]);
    } finally {
      await setMaxMessageBytes(t.config.topicEvents, 1_048_588);
    }
  });
});
