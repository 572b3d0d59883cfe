import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Config } from '../../src/config/index.js';
import type { Warehouse } from '../../src/warehouse/index.js';
import type { Dialect } from '../support/dialects.js';
import { callCompleted } from '../support/fixtures.js';
import { formBody, signHmacSha256, signLikeTwilio } from '../support/provider-signatures.js';
import { readTopic, waitFor } from '../support/pipeline-harness.js';
import { post as postCallaro, shuffle, type Sent } from './scenario.js';

/**
 * The second flow end to end: Callaro's call.completed events and the providers'
 * callbacks for the same calls arrive over HTTP, in no particular order and partly
 * twice; an analyst then joins call_events to telephony_callbacks on call_sid.
 */

const TWILIO_TOKEN = 'e2e-twilio-auth-token';
const BILLING_SECRET = 'e2e-billing-secret';
const PUBLIC = 'https://hooks.example.com';
const PREFIX = '/api/v1/webhooks/telephony';

/** A vendors file for the test pipeline (literal secrets: there is no environment to hold them). */
export function writeVendorsFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'callstream-vendors-')), 'telephony-vendors.json');
  const vendors = {
    twilio: { scheme: 'twilio', publicBaseUrl: PUBLIC, secrets: [{ value: TWILIO_TOKEN }] },
    billing: { scheme: 'hmac-sha256', header: 'X-Billing-Signature', secrets: [{ value: BILLING_SECRET }], statusFields: ['billing_status'] },
  };
  writeFileSync(path, JSON.stringify({ vendors }));
  return path;
}

async function send(url: string, path: string, headers: Record<string, string>, body: string): Promise<Sent> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers, body });
  const json = (await res.json()) as { error?: { code: string } };
  return { status: res.status, requestId: res.headers.get('x-request-id')!, code: json.error?.code };
}

export function twilioCallback(url: string, params: Record<string, string>, path = `${PREFIX}/twilio`): Promise<Sent> {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio(TWILIO_TOKEN, `${PUBLIC}${path}`, params) };
  return send(url, path, headers, formBody(params));
}

function billingCallback(url: string, body: object): Promise<Sent> {
  const text = JSON.stringify(body);
  return send(url, `${PREFIX}/billing`, { 'content-type': 'application/json', 'x-billing-signature': signHmacSha256(BILLING_SECRET, text) }, text);
}

/** Twilio's status callback for one step of a call's lifecycle. */
export function statusCallback(callSid: string, status: string, second: number): Record<string, string> {
  return {
    AccountSid: 'AC0000',
    CallSid: callSid,
    CallStatus: status,
    Direction: 'outbound-api',
    Timestamp: `Fri, 27 Nov 2026 12:00:${String(second).padStart(2, '0')} +0000`,
    SequenceNumber: String(second),
  };
}

export interface TelephonyScenario {
  calls: number;
  /** Requests to the real endpoints that got 202 (redeliveries included). */
  accepted: Sent[];
  /** Requests to the real endpoints refused (still in the audit topic). */
  refused: Sent[];
  /** Requests to /sample (never published). */
  samples: Sent[];
}

/** Sends `calls` calls' events and their callbacks; the last two calls end in no-answer and failed. */
export async function sendTelephonyScenario(url: string, calls = 10): Promise<TelephonyScenario> {
  const bodies = Array.from({ length: calls }, (_, n) => callCompleted(n));
  for (const body of bodies) expect((await postCallaro(url, body)).status).toBe(202);

  const callbacks: Array<() => Promise<Sent>> = [];
  bodies.forEach((body, n) => {
    const sid = String(body.call_sid);
    const ending = n === calls - 2 ? ['no-answer'] : n === calls - 1 ? ['failed'] : ['ringing', 'in-progress', 'completed'];
    ending.forEach((status, step) => callbacks.push(() => twilioCallback(url, statusCallback(sid, status, n * 3 + step))));
    if (n < 4) callbacks.push(() => billingCallback(url, { call_sid: sid, billing_status: 'charged', amount_cents: 120 + n }));
  });
  // Redeliveries: the same callback again, byte for byte.
  const redelivered = [callbacks[2], callbacks[2], callbacks[5]];
  const orphan = () => twilioCallback(url, statusCallback('CA-not-from-callaro', 'completed', 59));
  const accepted: Sent[] = [];
  for (const next of shuffle([...callbacks, ...redelivered, orphan], 7)) accepted.push(await next());
  expect(accepted.filter((s) => s.status !== 202)).toEqual([]);

  const forged = { ...statusCallback(String(bodies[0].call_sid), 'completed', 1), CallStatus: 'canceled' };
  const refused = [
    await send(url, `${PREFIX}/twilio`, { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio(TWILIO_TOKEN, `${PUBLIC}${PREFIX}/twilio/sample`, forged) }, formBody(forged)),
    await twilioCallback(url, statusCallback('CA1', 'ringing', 0), `${PREFIX}/unknown-vendor`),
  ];
  expect(refused.map((s) => [s.status, s.code])).toEqual([
    [401, 'RCV_SIGNATURE_INVALID'],
    [404, 'RCV_UNKNOWN_VENDOR'],
  ]);
  const samples = [await twilioCallback(url, statusCallback(String(bodies[0].call_sid), 'canceled', 58), `${PREFIX}/twilio/sample`)];
  expect(samples.map((s) => s.status)).toEqual([200]);
  return { calls, accepted, refused, samples };
}

/** Stored rows: one per (vendor, call, status), joined to call_events on call_sid in SQL. */
export async function expectLifecycleJoined(warehouse: Warehouse, dialect: Dialect, scenario: TelephonyScenario): Promise<void> {
  const calls = dialect.table(warehouse, 'call_events');
  const callbacks = dialect.table(warehouse, 'telephony_callbacks');
  const n = scenario.calls;
  const expectedRows = (n - 2) * 3 + 2 + 4 + 1;
  const count = async () => Number((await warehouse.query(`SELECT COUNT(*) AS n FROM ${callbacks}`))[0].n);
  await waitFor(count, (rows) => rows >= expectedRows, 90_000, 'telephony_callbacks rows');
  await waitFor(async () => Number((await warehouse.query(`SELECT COUNT(*) AS n FROM ${calls}`))[0].n), (rows) => rows >= n, 90_000, 'call_events rows');
  await new Promise((r) => setTimeout(r, 500)); // nothing more may arrive
  expect(await count()).toBe(expectedRows);

  const outcomes = await warehouse.query(
    `SELECT c.call_id, c.direction, t.callback_status AS provider_outcome, ${dialect.epochMs('t.event_time')} AS at_ms
     FROM ${calls} c JOIN ${callbacks} t ON t.call_sid = c.call_sid
     WHERE c.event_type = 'call.completed' AND t.vendor_slug = 'twilio' AND t.callback_status IN ('completed', 'no-answer', 'busy', 'failed', 'canceled')
     ORDER BY c.call_id`,
  );
  const expected = Array.from({ length: n }, (_, i) => ({
    call_id: `vs_${i}`,
    direction: i % 2 === 0 ? 'outbound' : 'inbound',
    provider_outcome: i === n - 2 ? 'no-answer' : i === n - 1 ? 'failed' : 'completed',
    at_ms: Date.UTC(2026, 10, 27, 12, 0, i * 3 + (i >= n - 2 ? 0 : 2)),
  })).sort((a, b) => a.call_id.localeCompare(b.call_id));
  expect(outcomes.map((r) => ({ ...r, at_ms: Number(r.at_ms) }))).toEqual(expected);

  const lifecycle = await warehouse.query(
    `SELECT t.vendor_slug, t.callback_status, COUNT(*) AS n FROM ${calls} c JOIN ${callbacks} t ON t.call_sid = c.call_sid
     WHERE c.call_id = 'vs_0' GROUP BY t.vendor_slug, t.callback_status ORDER BY t.vendor_slug, t.callback_status`,
  );
  expect(lifecycle.map((r) => ({ ...r, n: Number(r.n) }))).toEqual([
    { vendor_slug: 'billing', callback_status: 'charged', n: 1 },
    { vendor_slug: 'twilio', callback_status: 'completed', n: 1 },
    { vendor_slug: 'twilio', callback_status: 'in-progress', n: 1 },
    { vendor_slug: 'twilio', callback_status: 'ringing', n: 1 },
  ]);

  const orphans = await warehouse.query(
    `SELECT t.provider_call_id FROM ${callbacks} t LEFT JOIN ${calls} c ON c.call_sid = t.call_sid WHERE c.call_id IS NULL`,
  );
  expect(orphans).toEqual([{ provider_call_id: 'CA-not-from-callaro' }]);

  const [billing] = await warehouse.query(`SELECT content_type, ${dialect.jsonText('fields')} AS fields FROM ${callbacks} WHERE vendor_slug = 'billing' AND call_sid = 'CA${(1).toString(16).padStart(32, '0')}'`);
  expect({ ...billing, fields: JSON.parse(String(billing.fields)) }).toEqual({ content_type: 'application/json', fields: { call_sid: `CA${(1).toString(16).padStart(32, '0')}`, billing_status: 'charged', amount_cents: 121 } });
}

/** The flows stay apart on the topics, /sample published nothing, and every real request is audited with its status. */
export async function expectTopicsApart(config: Config, scenario: TelephonyScenario): Promise<void> {
  const callbacks = await readTopic(config.topicTelephony);
  expect(callbacks).toHaveLength(scenario.accepted.length);
  expect(callbacks.every((r) => r.key === r.value.provider_call_id)).toBe(true);
  const sampleIds = new Set(scenario.samples.map((s) => s.requestId));
  expect(callbacks.filter((r) => sampleIds.has(String(r.value.request_id)))).toEqual([]);

  const audit = await readTopic(config.topicTelephonyRaw);
  const real = [...scenario.accepted, ...scenario.refused];
  expect(audit.map((r) => r.value.request_id).sort()).toEqual(real.map((s) => s.requestId).sort());
  const byId = new Map(audit.map((r) => [r.value.request_id, r.value]));
  for (const s of real) expect(byId.get(s.requestId)).toMatchObject({ status: s.status, flow: 'telephony' });

  const callaroAudit = await readTopic(config.topicRaw);
  expect(callaroAudit.every((r) => r.value.flow === 'callaro')).toBe(true);
  expect(callaroAudit).toHaveLength(scenario.calls);
}
