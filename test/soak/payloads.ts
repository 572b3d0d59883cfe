import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { jsonValue, KNOWN_FIELDS } from '../support/callaro-arbitraries.js';
import { formBody, signHmacSha256, signLikeTwilio } from '../support/provider-signatures.js';
import type { Rng } from './prng.js';

/**
 * The bodies a schedule sends: valid deliveries of both flows (Callaro's events, provider
 * callbacks of two configured vendors) and the nasty ones, each with the request that
 * carries it. Nothing here knows about faults or the model.
 */

export type Flow = 'callaro' | 'telephony';

export interface HttpRequestSpec {
  flow: Flow;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Send without Content-Length (chunked), so the receiver learns the size only by reading. */
  chunked?: boolean;
  /** Send the body gzip-compressed (Content-Encoding: gzip); the limit is on the decompressed bytes. */
  gzip?: boolean;
}

export const CALLARO_PATH = '/callaro/webhooks';
export const TELEPHONY_PREFIX = '/api/v1/webhooks/telephony';
const TWILIO_TOKEN = 'soak-twilio-auth-token';
const BILLING_SECRET = 'soak-billing-secret';
const PUBLIC_BASE = 'https://hooks.example.com';

/** The vendors file of a schedule: Twilio (form bodies, signed URL + params) and an HMAC-signed JSON billing provider. */
export function writeVendorsFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'callstream-soak-vendors-')), 'telephony-vendors.json');
  const vendors = {
    twilio: { scheme: 'twilio', publicBaseUrl: PUBLIC_BASE, secrets: [{ value: TWILIO_TOKEN }] },
    billing: { scheme: 'hmac-sha256', header: 'X-Billing-Signature', secrets: [{ value: BILLING_SECRET }], statusFields: ['billing_status'] },
  };
  writeFileSync(path, JSON.stringify({ vendors }));
  return path;
}

export function callaroRequest(body: string, contentType = 'application/json'): HttpRequestSpec {
  return { flow: 'callaro', path: CALLARO_PATH, headers: { 'content-type': contentType }, body };
}

/** A Twilio status callback, signed as Twilio signs it (for `signedPath`, normally the path it is posted to). */
export function twilioRequest(params: Record<string, string>, path = `${TELEPHONY_PREFIX}/twilio`, signedPath = path): HttpRequestSpec {
  const signature = signLikeTwilio(TWILIO_TOKEN, `${PUBLIC_BASE}${signedPath}`, params);
  return { flow: 'telephony', path, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: formBody(params) };
}

/** A billing provider's JSON callback with its HMAC-SHA256 over the exact bytes. */
export function billingRequest(body: string): HttpRequestSpec {
  return {
    flow: 'telephony',
    path: `${TELEPHONY_PREFIX}/billing`,
    headers: { 'content-type': 'application/json', 'x-billing-signature': signHmacSha256(BILLING_SECRET, body) },
    body,
  };
}

export const callSidOf = (n: number) => `CA${n.toString(16).padStart(32, '0')}`;

/** Unknown fields Callaro may add later: any JSON (non-ASCII, `__proto__` keys), from fast-check with a seed of the schedule's. */
export function extraFields(rng: Rng): Record<string, unknown> {
  if (!rng.chance(0.4)) return {};
  const arb = fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), jsonValue(2), { maxKeys: 3 });
  const [sample] = fc.sample(arb, { seed: rng.int(0, 2 ** 31 - 1), numRuns: 1 });
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(sample)) {
    // Known names change the event's meaning; a lone surrogate (escaped by JSON.stringify) or a NUL is a nasty class of its own.
    if (KNOWN_FIELDS.has(k) || k === 'revision' || /\\u(d[89a-f][0-9a-f]{2}|0000)/i.test(JSON.stringify({ [k]: v }))) continue;
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export interface CallFacts {
  n: number;
  callId: string;
  callSid: string;
}

/** A call-family event (call.completed by default) in version `version`. */
export function callEvent(call: CallFacts, event: string, version: number, rng: Rng, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event,
    call_id: call.callId,
    voice_session_id: 700_000 + call.n,
    call_sid: call.callSid,
    tenant_id: rng.pick([44, '44', 45]),
    agent_id: 42,
    direction: rng.pick(['inbound', 'outbound']),
    from_e164: '+14155550100',
    to_e164: `+9199${String(call.n).padStart(8, '0')}`,
    ...(rng.chance(0.5) ? { occurred_at: new Date(Date.UTC(2026, 10, 27, 9, 0, 0) + call.n * 60_000 + version * 1000).toISOString() } : {}),
    extracted_data: { version, intent: rng.pick(['book_demo', 'callback', 'not_interested']), score: rng.int(0, 100) / 4 },
    runtime_vars: { attempt: version, lang: rng.pick(['en', 'hi', 'de', 'ja']) },
    tool_calls: Array.from({ length: rng.int(0, 3) }, (_, i) => ({ name: rng.pick(['crm.lookup', 'calendar.book', 'kb.search']), arguments: { i, n: call.n } })),
    ...extraFields(rng),
    ...extra,
  };
}

export function campaignEvent(campaignId: string, event: string, version: number, rng: Rng): Record<string, unknown> {
  return { event, campaign_id: campaignId, tenant_id: 44, revision: version, ...(rng.chance(0.5) ? { occurred_at: '2026-11-27T09:00:00Z' } : {}), ...extraFields(rng) };
}

/** A compliance event keyed by its number, or (without one) by its call. */
export function complianceEvent(subject: { number?: string; callId?: string }, event: string, version: number, rng: Rng): Record<string, unknown> {
  return {
    event,
    ...(subject.number ? { number_e164: subject.number } : { number_e164: rng.pick(['', null]), call_id: subject.callId }),
    tenant_id: 44,
    revision: version,
    ...extraFields(rng),
  };
}

/** Twilio's status callback for one step of a call's lifecycle, in version `version` (its sequence number). */
/** Form values that take care to encode and sign: non-ASCII, emoji, the form's own delimiters. */
const TRICKY_TEXT = ['Zoë Ångström', '山田 太郎', 'a+b=c&d', '100% 🎉', ' padded ', '', 'line\nbreak'];

export function twilioParams(callSid: string, status: string, version: number, rng?: Rng): Record<string, string> {
  return {
    AccountSid: 'AC0000',
    CallSid: callSid,
    CallStatus: status,
    Direction: 'outbound-api',
    Timestamp: new Date(Date.UTC(2026, 10, 27, 12, 0, 0) + version * 1000).toUTCString().replace('GMT', '+0000'),
    SequenceNumber: String(version),
    ...(rng?.chance(0.3) ? { CallerName: rng.pick(TRICKY_TEXT) } : {}),
  };
}

export function billingBody(callSid: string, status: string, version: number): Record<string, unknown> {
  return { call_sid: callSid, billing_status: status, amount_cents: 100 + version, revision: version };
}

/** A call.completed whose tool_calls list makes the body about `bytes` long (a legal body near the limit, or one over it). */
export function bodyOfSize(call: CallFacts, version: number, bytes: number, rng: Rng): string {
  const base = callEvent(call, 'call.completed', version, rng);
  const entry = (i: number) => ({ name: 'kb.search', arguments: { i, q: 'x'.repeat(180) } });
  const entrySize = JSON.stringify(entry(1000)).length + 1;
  const count = Math.max(1, Math.floor((bytes - JSON.stringify(base).length) / entrySize));
  return JSON.stringify({ ...base, tool_calls: Array.from({ length: count }, (_, i) => entry(i)) });
}

/** JSON text with a placeholder string replaced by a raw number literal JSON.stringify cannot write (1e400, a 23-digit integer). */
export function withNumberLiteral(value: Record<string, unknown>, literal: string): string {
  return JSON.stringify(value).replace('"__soak_number__"', literal);
}

export const NUMBER_PLACEHOLDER = '__soak_number__';

/** A proper prefix of a JSON object's text: never valid JSON. */
export function truncated(text: string, rng: Rng): string {
  return text.slice(0, rng.int(1, text.length - 1));
}
