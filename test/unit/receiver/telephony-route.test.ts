import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseTelephonyVendors } from '../../../src/config/index.js';
import { standardWebhooksSignature } from '../../../src/receiver/auth/index.js';
import { bodySha256, formBody, signHmacSha256, signLikeTwilio, twilioJsonUrl } from '../../support/provider-signatures.js';
import { startTestReceiver } from '../../support/receiver-harness.js';

const TWILIO_TOKEN = 'twilio-auth-token-0123456789';
const ACME_SECRET = 'acme-webhook-secret';
const RELAY_TOKEN = 'relay-bearer-token';
const PUBLIC = 'https://hooks.example.com';
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const PREFIX = '/api/v1/webhooks/telephony';

const vendors = parseTelephonyVendors({
  vendors: {
    twilio: { scheme: 'twilio', publicBaseUrl: PUBLIC, secrets: [{ value: TWILIO_TOKEN }] },
    acme: { scheme: 'hmac-sha256', header: 'X-Acme-Signature', prefix: 'sha256=', secrets: [{ value: ACME_SECRET }], statusFields: ['billing_status'] },
    relay: { scheme: 'bearer', secrets: [{ value: RELAY_TOKEN }] },
    hooks: { scheme: 'standard-webhooks', secrets: [{ value: 'whsec_b2xk' }, { value: SW_SECRET }] },
  },
});

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness;

beforeAll(async () => {
  h = await startTestReceiver({ maxBodyBytes: 4096 }, vendors);
});
afterAll(() => h.close());
beforeEach(() => {
  h.publisher.messages = [];
  h.publisher.mode = 'ack';
});

const lifecycle = (status: string) => ({ AccountSid: 'AC1', CallSid: 'CA0001', CallStatus: status, From: '+14155550100', To: '+919900000001', Direction: 'outbound-api' });

/** Posts a form body signed as Twilio would for `signedFor` (by default: the URL it is sent to). */
function postTwilio(params: Record<string, string>, path = `${PREFIX}/twilio`, signedFor = `${PUBLIC}${path}`) {
  return fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio(TWILIO_TOKEN, signedFor, params) },
    body: formBody(params),
  });
}

function postAcme(body: string, path = `${PREFIX}/acme`, secret = ACME_SECRET) {
  return fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-acme-signature': `sha256=${signHmacSha256(secret, body)}` },
    body,
  });
}

describe('POST /api/v1/webhooks/telephony/{vendor_slug}', () => {
  it('accepts a Twilio form callback: 202 after publishing the audit record and the callback keyed by CallSid', async () => {
    const params = lifecycle('ringing');
    const res = await postTwilio(params);
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'accepted', vendor: 'twilio', key: 'CA0001', callback_status: 'ringing' });

    const [callback] = h.callbacks();
    expect(callback).toMatchObject({ request_id: body.request_id, vendor_slug: 'twilio', provider_call_id: 'CA0001', callback_status: 'ringing', call_sid: 'CA0001', content_type: 'application/x-www-form-urlencoded', occurred_at: null });
    expect(JSON.parse(String(callback.fields))).toEqual(params);
    expect(Buffer.from(callback.raw_body as Buffer).toString()).toBe(formBody(params));
    expect(h.publisher.messages.find((m) => m.topic === h.config.topicTelephony)!.key).toBe('CA0001');

    const [audit] = h.callbackAudit();
    expect(audit).toMatchObject({ request_id: body.request_id, flow: 'telephony', path: `${PREFIX}/twilio`, status: 202, error_code: null, event_key: 'CA0001' });
    // The flows stay apart: nothing on Callaro's topics.
    expect([...h.events(), ...h.audit()]).toEqual([]);
  });

  it('accepts JSON signed with the generic HMAC-SHA256 header', async () => {
    const body = JSON.stringify({ call_sid: 'CA0001', billing_status: 'charged', amount: { cents: 42, currency: 'USD' } });
    const res = await postAcme(body);
    expect(res.status).toBe(202);
    expect(h.callbacks()[0]).toMatchObject({ vendor_slug: 'acme', provider_call_id: 'CA0001', callback_status: 'charged', content_type: 'application/json' });
    expect(JSON.parse(String(h.callbacks()[0].fields))).toEqual(JSON.parse(body));
  });

  it("accepts Twilio's JSON bodies through bodySHA256, and bearer tokens", async () => {
    const json = JSON.stringify({ CallSid: 'CA0002', CallStatus: 'completed' });
    const path = `${PREFIX}/twilio?bodySHA256=${bodySha256(json)}`;
    const twilio = await fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-twilio-signature': signLikeTwilio(TWILIO_TOKEN, twilioJsonUrl(`${PUBLIC}${PREFIX}/twilio`, json)) },
      body: json,
    });
    expect(twilio.status).toBe(202);
    const relay = await fetch(`${h.url}${PREFIX}/relay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${RELAY_TOKEN}` },
      body: JSON.stringify({ call_sid: 'CA0002', event: 'transcript.ready' }),
    });
    expect(relay.status).toBe(202);
    expect(h.callbacks().map((c) => `${c.vendor_slug}/${c.callback_status}`)).toEqual(['twilio/completed', 'relay/transcript.ready']);
  });

  it('answers 404 for an unknown vendor slug, keeping the request in the audit topic', async () => {
    const res = await postTwilio(lifecycle('ringing'), `${PREFIX}/plivo`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('RCV_UNKNOWN_VENDOR');
    expect(h.callbacks()).toEqual([]);
    expect(h.callbackAudit()[0]).toMatchObject({ status: 404, error_code: 'RCV_UNKNOWN_VENDOR', path: `${PREFIX}/plivo` });
  });

  it('answers 401 for a signature valid for a different URL, audited with the credentials redacted', async () => {
    const res = await postTwilio(lifecycle('completed'), `${PREFIX}/twilio`, `${PUBLIC}${PREFIX}/twilio/sample`);
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error).toMatchObject({ code: 'RCV_SIGNATURE_INVALID', message: expect.stringContaining(`${PUBLIC}${PREFIX}/twilio`) });
    expect(h.callbacks()).toEqual([]);
    const [audit] = h.callbackAudit();
    expect(audit).toMatchObject({ status: 401, error_code: 'RCV_SIGNATURE_INVALID' });
    expect((audit.headers as Record<string, string>)['x-twilio-signature']).toBe('[redacted]');
    expect(Buffer.from(audit.body as Buffer).toString()).toBe(formBody(lifecycle('completed')));
  });

  it('redacts bearer tokens and vendor-specific signature headers from the audit record', async () => {
    const wrongToken = 'relay-bearer-token-almost';
    const relay = await fetch(`${h.url}${PREFIX}/relay`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${wrongToken}` }, body: '{"call_sid":"x","event":"y"}' });
    expect(relay.status).toBe(401);
    const acme = await postAcme('{"call_sid":"x","billing_status":"y"}', `${PREFIX}/acme`, 'not-the-secret');
    expect(acme.status).toBe(401);
    const audits = h.callbackAudit();
    expect(audits.map((a) => (a.headers as Record<string, string>).authorization ?? (a.headers as Record<string, string>)['x-acme-signature'])).toEqual(['[redacted]', '[redacted]']);
    const text = JSON.stringify(audits);
    for (const secret of [wrongToken, RELAY_TOKEN, ACME_SECRET, TWILIO_TOKEN, signHmacSha256('not-the-secret', '{"call_sid":"x","billing_status":"y"}')]) expect(text).not.toContain(secret);
  });

  it.each([
    ['a media type it does not take', { 'content-type': 'text/plain' }, 'CallSid=CA1', 415, 'RCV_UNSUPPORTED_MEDIA_TYPE'],
    ['no signature at all', { 'content-type': 'application/x-www-form-urlencoded' }, 'CallSid=CA1&CallStatus=ringing', 401, 'RCV_SIGNATURE_INVALID'],
  ])('refuses %s', async (_name, headers, body, status, code) => {
    const res = await fetch(`${h.url}${PREFIX}/twilio`, { method: 'POST', headers, body });
    expect(res.status).toBe(status);
    expect((await res.json()).error.code).toBe(code);
    expect(h.callbackAudit()[0]).toMatchObject({ status, error_code: code });
  });

  it('refuses a signed form callback with a NUL in a key field as 400 RCV_NUL_CHARACTER, audited, nothing published', async () => {
    // Two callbacks whose (vendor, call id, status) would join to the same text with NUL between the columns.
    const first = await postTwilio({ ...lifecycle('x'), CallSid: 'CA1\u0000x', CallStatus: 'y' });
    const second = await postTwilio({ ...lifecycle('x\u0000y'), CallSid: 'CA1' });
    for (const res of [first, second]) {
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('RCV_NUL_CHARACTER');
    }
    expect(h.callbacks()).toEqual([]);
    expect(h.callbackAudit().map((a) => [a.status, a.error_code])).toEqual([
      [400, 'RCV_NUL_CHARACTER'],
      [400, 'RCV_NUL_CHARACTER'],
    ]);
  });

  it('refuses a verified body without the call id or the status with 422 naming the fields', async () => {
    const res = await postTwilio({ AccountSid: 'AC1', CallStatus: 'ringing' });
    expect(res.status).toBe(422);
    expect((await res.json()).error).toMatchObject({ code: 'RCV_SCHEMA_INVALID', details: { fields: [{ path: 'CallSid' }] } });
    const malformed = await postAcme('{"call_sid": ');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error.code).toBe('RCV_MALFORMED_JSON');
  });

  it('refuses a body over the limit with 413, and answers 503 when the broker does not acknowledge', async () => {
    const big = await postTwilio({ ...lifecycle('ringing'), pad: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(h.callbackAudit()[0]).toMatchObject({ status: 413, truncated: true });
    h.publisher.mode = 'fail';
    const down = await postTwilio(lifecycle('ringing'));
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
  });

  it('answers 404 for other paths below the prefix and 405 for other methods', async () => {
    expect((await postTwilio(lifecycle('ringing'), `${PREFIX}/twilio/extra`)).status).toBe(404);
    expect((await postTwilio(lifecycle('ringing'), `${PREFIX}/`)).status).toBe(404);
    const get = await fetch(`${h.url}${PREFIX}/twilio`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('labels metrics with the route prefix, never the slug from the URL', async () => {
    await postTwilio(lifecycle('ringing'), `${PREFIX}/made-up-${Date.now()}`);
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/callstream_http_requests_total\{route="\/api\/v1\/webhooks\/telephony\/",status="404"\} [1-9]/);
    expect(text).not.toMatch(/route="\/api\/v1\/webhooks\/telephony\/made-up/);
    expect(text).toMatch(/callstream_events_published_total\{family="telephony"\} [1-9]/);
  });
});

describe('POST /api/v1/webhooks/telephony/{vendor_slug}/sample', () => {
  it('answers with the record it would publish, publishing nothing', async () => {
    const params = { ...lifecycle('completed'), Timestamp: 'Fri, 27 Nov 2026 12:00:05 +0000' };
    const res = await postTwilio(params, `${PREFIX}/twilio/sample`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'verified', published: false, topic: h.config.topicTelephony, key: 'CA0001' });
    expect(body.record).toMatchObject({
      vendor_slug: 'twilio',
      provider_call_id: 'CA0001',
      callback_status: 'completed',
      call_sid: 'CA0001',
      occurred_at: Date.UTC(2026, 10, 27, 12, 0, 5),
      fields: params,
      raw_body: formBody(params),
    });
    expect(h.publisher.messages).toEqual([]);
  });

  it('verifies and validates as the real endpoint would, still publishing nothing', async () => {
    // Signed for the real endpoint, sent to /sample: the URL differs, so the signature does not hold.
    const wrongUrl = await postTwilio(lifecycle('completed'), `${PREFIX}/twilio/sample`, `${PUBLIC}${PREFIX}/twilio`);
    expect(wrongUrl.status).toBe(401);
    const invalid = await postTwilio({ CallSid: 'CA1' }, `${PREFIX}/twilio/sample`);
    expect(invalid.status).toBe(422);
    const unknown = await postTwilio(lifecycle('completed'), `${PREFIX}/nobody/sample`);
    expect(unknown.status).toBe(404);
    const acme = await postAcme('{"call_sid":"CA9","billing_status":"refunded"}', `${PREFIX}/acme/sample`);
    expect(acme.status).toBe(200);
    expect((await acme.json()).record).toMatchObject({ vendor_slug: 'acme', callback_status: 'refunded', content_type: 'application/json' });
    h.publisher.mode = 'fail'; // a dry run does not need the broker
    expect((await postTwilio(lifecycle('busy'), `${PREFIX}/twilio/sample`)).status).toBe(200);
    expect(h.publisher.messages).toEqual([]);
  });
});

describe('a vendor that signs with Standard Webhooks (the scheme the Callaro route offers too)', () => {
  const post = (body: string, headers: Record<string, string>) => fetch(`${h.url}${PREFIX}/hooks`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const signed = (body: string, id = 'msg_1', ts = String(Math.floor(Date.now() / 1000)), secret = SW_SECRET) => ({
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': standardWebhooksSignature(secret, id, ts, Buffer.from(body)),
  });

  it('accepts a signed callback, saying in the audit record which secret verified it, and refuses a bad or stale one', async () => {
    const body = JSON.stringify({ call_sid: 'CA0777', status: 'completed' });
    const res = await post(body, signed(body));
    expect(res.status).toBe(202);
    expect(h.callbacks()).toEqual([expect.objectContaining({ vendor_slug: 'hooks', provider_call_id: 'CA0777', callback_status: 'completed' })]);
    expect(h.callbackAudit()[0]).toMatchObject({ status: 202, verified_by: 'hooks: standard-webhooks #2', headers: expect.objectContaining({ 'webhook-signature': '[redacted]' }) });
    h.publisher.messages = [];
    expect((await post(body.replace('completed', 'failed'), signed(body))).status).toBe(401);
    const stale = String(Math.floor(Date.now() / 1000) - 3600);
    const expired = await post(body, signed(body, 'msg_2', stale));
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('RCV_SIGNATURE_EXPIRED');
    expect(h.callbackAudit().map((a) => [a.status, a.verified_by])).toEqual([
      [401, null],
      [401, null],
    ]);
  });
});
