import { expect } from 'vitest';
import type { Warehouse } from '../../src/warehouse/index.js';
import type { Dialect } from '../support/dialects.js';
import { callCompleted } from '../support/fixtures.js';
import type { AvroCodec } from '../../src/codec/index.js';
import { readTopic, waitFor } from '../support/pipeline-harness.js';

export interface Sent {
  status: number;
  requestId: string;
  code?: string;
}

export async function post(url: string, body: string | object, contentType = 'application/json', headers: Record<string, string> = {}): Promise<Sent> {
  const res = await fetch(`${url}/callaro/webhooks`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: { code: string } };
  return { status: res.status, requestId: res.headers.get('x-request-id')!, code: json.error?.code };
}

/** Sends all bodies with a bounded number in flight. */
export async function sendAll(url: string, bodies: object[], concurrency = 16): Promise<Sent[]> {
  const results: Sent[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) results.push(await post(url, bodies[next++]));
    }),
  );
  return results;
}

export function shuffle<T>(items: T[], seed = 42): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface ScenarioResult {
  accepted: Sent[];
  refused: Sent[];
  expectedCallKeys: string[];
}

/**
 * The pipeline issue's scenario over HTTP: a few hundred calls in shuffled order, some
 * delivered three times, two versions of one call, other families, and every kind of
 * bad input.
 */
export async function sendScenario(url: string, calls = 300): Promise<ScenarioResult> {
  const accepted: Sent[] = [];
  const bodies = Array.from({ length: calls }, (_, n) => callCompleted(n));
  const redelivered = [bodies[7], bodies[7], bodies[150], bodies[150], bodies[calls - 1], bodies[calls - 1]];
  accepted.push(...(await sendAll(url, shuffle([...bodies, ...redelivered]))));
  // Two versions of one call's event: the second sent after the first was acknowledged.
  accepted.push(await post(url, callCompleted(1000, { extracted_data: { version: 1 }, direction: 'inbound' })));
  accepted.push(await post(url, callCompleted(1000, { extracted_data: { version: 2 }, direction: 'outbound' })));
  accepted.push(await post(url, { event: 'call.analyzed', call_id: 'vs_3', tenant_id: 44, sentiment: 'positive' }));
  accepted.push(await post(url, { event: 'campaign.started', campaign_id: 'cmp_1', tenant_id: 44, occurred_at: '2026-11-27T09:00:00Z' }));
  accepted.push(await post(url, { event: 'number_health.flagged', number_e164: '+14155550100', tenant_id: 44 }));
  expect(accepted.filter((s) => s.status !== 202)).toEqual([]);

  const bad: Array<[Promise<Sent>, number, string]> = [
    [post(url, '{"event":"call.completed","call_id":"bad_json"'), 400, 'RCV_MALFORMED_JSON'],
    [post(url, '["bad_array"]'), 400, 'RCV_NOT_AN_OBJECT'],
    [post(url, ''), 400, 'RCV_EMPTY_BODY'],
    [post(url, 'call_id=bad_form', 'application/x-www-form-urlencoded'), 415, 'RCV_UNSUPPORTED_MEDIA_TYPE'],
    [post(url, callCompleted(9001, { call_id: 'bad_large', pad: 'x'.repeat(1024 * 1024) })), 413, 'RCV_PAYLOAD_TOO_LARGE'],
    [post(url, { event: 'call.completed', call_id: 'bad_schema', tenant_id: 'forty-four' }), 422, 'RCV_SCHEMA_INVALID'],
    [post(url, { event: 'billing.charged', call_id: 'bad_family' }), 422, 'RCV_SCHEMA_INVALID'],
  ];
  const refused: Sent[] = [];
  for (const [pending, status, code] of bad) {
    const result = await pending;
    expect({ status: result.status, code: result.code }).toEqual({ status, code });
    refused.push(result);
  }
  const expectedCallKeys = [...bodies.map((c) => `${c.call_id}/call.completed`), 'vs_1000/call.completed', 'vs_3/call.analyzed'].sort();
  return { accepted, refused, expectedCallKeys };
}

/** Asserts the exact warehouse contents the scenario must produce. */
export async function expectScenarioStored(warehouse: Warehouse, dialect: Dialect, scenario: ScenarioResult): Promise<void> {
  const table = (name: string) => dialect.table(warehouse, name);
  const count = async () => Number((await warehouse.query(`SELECT COUNT(*) AS n FROM ${table('call_events')}`))[0].n);
  await waitFor(count, (n) => n >= scenario.expectedCallKeys.length, 90_000, 'call_events rows');
  await new Promise((r) => setTimeout(r, 500)); // nothing more may arrive

  const keys = await warehouse.query(`SELECT call_id, event_type, COUNT(*) AS n FROM ${table('call_events')} GROUP BY call_id, event_type`);
  expect(keys.filter((k) => Number(k.n) !== 1)).toEqual([]);
  expect(keys.map((k) => `${k.call_id}/${k.event_type}`).sort()).toEqual(scenario.expectedCallKeys);

  const [versioned] = await warehouse.query(`SELECT direction, ${dialect.jsonText('extracted_data')} AS extracted FROM ${table('call_events')} WHERE call_id = 'vs_1000'`);
  expect({ direction: versioned.direction, extracted: JSON.parse(String(versioned.extracted)) }).toEqual({ direction: 'outbound', extracted: { version: 2 } });

  const [sample] = await warehouse.query(
    `SELECT CAST(voice_session_id AS STRING) AS vsid, CAST(tenant_id AS STRING) AS tenant, to_e164, ${dialect.jsonText('tool_calls')} AS tools, ${dialect.jsonText('payload')} AS payload FROM ${table('call_events')} WHERE call_id = 'vs_7'`,
  );
  expect(sample.vsid).toBe('100007');
  expect(sample.tenant).toBe('44');
  expect(sample.to_e164).toBe('+919900000007');
  expect(JSON.parse(String(sample.tools))).toEqual([{ name: 'crm.lookup', arguments: { n: 7 } }]);
  expect(JSON.parse(String(sample.payload))).toMatchObject({ call_id: 'vs_7', event: 'call.completed' });

  expect(Number((await warehouse.query(`SELECT COUNT(*) AS n FROM ${table('call_events')} WHERE call_id LIKE 'bad_%'`))[0].n)).toBe(0);
  expect(await warehouse.query(`SELECT campaign_id, event_type FROM ${table('campaign_events')}`)).toEqual([{ campaign_id: 'cmp_1', event_type: 'campaign.started' }]);
  expect(await warehouse.query(`SELECT subject_id, event_type FROM ${table('compliance_events')}`)).toEqual([{ subject_id: '+14155550100', event_type: 'number_health.flagged' }]);
}

/** The audit topic holds every request, valid or not, with the status it got. */
export async function expectAuditComplete(rawTopic: string, scenario: ScenarioResult, codec?: AvroCodec): Promise<void> {
  const audit = await readTopic(rawTopic, codec);
  const all = [...scenario.accepted, ...scenario.refused];
  expect(audit.map((r) => r.value.request_id).sort()).toEqual(all.map((s) => s.requestId).sort());
  const byId = new Map(audit.map((r) => [r.value.request_id, r.value]));
  for (const s of all) expect(byId.get(s.requestId)?.status).toBe(s.status);
}
