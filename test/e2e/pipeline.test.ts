import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callCompleted } from '../support/fixtures.js';
import { readTopic, startTestPipeline, waitFor } from '../support/pipeline-harness.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;

beforeAll(async () => {
  t = await startTestPipeline();
});
afterAll(async () => {
  await t?.pipeline.stop();
});

interface Sent {
  status: number;
  requestId: string;
  code?: string;
}

async function post(body: string | object, contentType = 'application/json'): Promise<Sent> {
  const res = await fetch(`${t.url}/callaro/webhooks`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: { code: string } };
  return { status: res.status, requestId: res.headers.get('x-request-id')!, code: json.error?.code };
}

/** Sends all bodies with a bounded number in flight. */
async function sendAll(bodies: object[], concurrency = 16): Promise<Sent[]> {
  const results: Sent[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) results.push(await post(bodies[next++]));
    }),
  );
  return results;
}

function shuffle<T>(items: T[], seed = 42): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('webhook -> Kafka -> DuckDB, end to end on the real broker', () => {
  it('stores exactly one newest row per key, nothing from bad input, and every request in the audit topic', async () => {
    const sent: Sent[] = [];
    // Many calls, in shuffled order, three of them delivered three times.
    const calls = Array.from({ length: 300 }, (_, n) => callCompleted(n));
    const redelivered = [calls[7], calls[7], calls[150], calls[150], calls[299], calls[299]];
    sent.push(...(await sendAll(shuffle([...calls, ...redelivered]))));
    // Two versions of one call's event: the second one sent after the first was acknowledged.
    sent.push(await post(callCompleted(1000, { extracted_data: { version: 1 }, direction: 'inbound' })));
    sent.push(await post(callCompleted(1000, { extracted_data: { version: 2 }, direction: 'outbound' })));
    // Another event type of an existing call, and the other families.
    sent.push(await post({ event: 'call.analyzed', call_id: 'vs_3', tenant_id: 44, sentiment: 'positive' }));
    sent.push(await post({ event: 'campaign.started', campaign_id: 'cmp_1', tenant_id: 44, occurred_at: '2026-11-27T09:00:00Z' }));
    sent.push(await post({ event: 'number_health.flagged', number_e164: '+14155550100', tenant_id: 44 }));
    expect(sent.every((s) => s.status === 202)).toBe(true);

    // Every kind of bad input: refused with its code, never in the warehouse.
    const bad = [
      [await post('{"event":"call.completed","call_id":"bad_json"'), 400, 'RCV_MALFORMED_JSON'],
      [await post('["bad_array"]'), 400, 'RCV_NOT_AN_OBJECT'],
      [await post(''), 400, 'RCV_EMPTY_BODY'],
      [await post('call_id=bad_form', 'application/x-www-form-urlencoded'), 415, 'RCV_UNSUPPORTED_MEDIA_TYPE'],
      [await post(callCompleted(9001, { call_id: 'bad_large', pad: 'x'.repeat(1024 * 1024) })), 413, 'RCV_PAYLOAD_TOO_LARGE'],
      [await post({ event: 'call.completed', call_id: 'bad_schema', tenant_id: 'forty-four' }), 422, 'RCV_SCHEMA_INVALID'],
      [await post({ event: 'billing.charged', call_id: 'bad_family' }), 422, 'RCV_SCHEMA_INVALID'],
    ] as const;
    for (const [result, status, code] of bad) expect({ status: result.status, code: result.code }).toEqual({ status, code });

    const warehouse = t.pipeline.warehouse!;
    const expectedCallRows = 300 + 1 + 1; // distinct calls, the versioned call, call.analyzed
    await waitFor(
      async () => Number((await warehouse.query('SELECT count(*) AS n FROM call_events'))[0].n),
      (n) => n >= expectedCallRows,
      60_000,
      'call_events rows',
    );
    // A little longer: nothing more may arrive.
    await new Promise((r) => setTimeout(r, 500));

    const keys = await warehouse.query('SELECT call_id, event_type, count(*) AS n FROM call_events GROUP BY ALL ORDER BY call_id, event_type');
    expect(keys).toHaveLength(expectedCallRows);
    expect(keys.every((k) => Number(k.n) === 1)).toBe(true);
    const expectedKeys = [...calls.map((c) => `${c.call_id}/call.completed`), 'vs_1000/call.completed', 'vs_3/call.analyzed'].sort();
    expect(keys.map((k) => `${k.call_id}/${k.event_type}`).sort()).toEqual(expectedKeys);

    const [versioned] = await warehouse.query("SELECT direction, extracted_data->>'version' AS version FROM call_events WHERE call_id = 'vs_1000'");
    expect(versioned).toEqual({ direction: 'outbound', version: '2' });

    const [sample] = await warehouse.query(
      "SELECT voice_session_id, tenant_id, agent_id, to_e164, tool_calls->0->>'name' AS tool, payload->>'call_id' AS payload_call FROM call_events WHERE call_id = 'vs_7'",
    );
    expect(sample).toEqual({ voice_session_id: '100007', tenant_id: '44', agent_id: '42', to_e164: '+919900000007', tool: 'crm.lookup', payload_call: 'vs_7' });

    expect(await warehouse.query("SELECT count(*) AS n FROM call_events WHERE call_id LIKE 'bad_%'")).toEqual([{ n: '0' }]);
    expect(await warehouse.query('SELECT campaign_id, event_type FROM campaign_events')).toEqual([{ campaign_id: 'cmp_1', event_type: 'campaign.started' }]);
    expect(await warehouse.query('SELECT subject_id, event_type FROM compliance_events')).toEqual([{ subject_id: '+14155550100', event_type: 'number_health.flagged' }]);

    // The audit topic holds every request, valid or not, with the status it got.
    const audit = await readTopic(t.config.topicRaw);
    const all = [...sent, ...bad.map(([r]) => r)];
    expect(audit.map((r) => r.value.request_id).sort()).toEqual(all.map((s) => s.requestId).sort());
    const byId = new Map(audit.map((r) => [r.value.request_id, r.value]));
    for (const s of all) expect(byId.get(s.requestId)?.status).toBe(s.status);

    // The events topic is keyed by call_id: all versions of one call sit in one partition.
    const events = await readTopic(t.config.topicEvents);
    const partitionsOf1000 = new Set(events.filter((e) => e.key === 'vs_1000').map((e) => e.partition));
    expect(partitionsOf1000.size).toBe(1);
  });

  it('reports ready only with receiver, producer and sink connected', async () => {
    const res = await fetch(`${t.url}/readyz`);
    expect(res.status).toBe(200);
    expect((await res.json()).components).toEqual({ receiver: true, producer: true, sink: true });
  });
});
