import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exampleCallCompleted } from '../../support/fixtures.js';
import { startTestReceiver } from '../../support/receiver-harness.js';

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness;

beforeAll(async () => {
  h = await startTestReceiver({ maxBodyBytes: 4096 });
});
afterAll(() => h.close());
beforeEach(() => {
  h.publisher.messages = [];
  h.publisher.mode = 'ack';
});

const post = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${h.url}/callaro/webhooks`, { method: 'POST', headers, body: body as BodyInit });

describe('POST /callaro/webhooks', () => {
  it('answers 202 after publishing the audit record and the event keyed by call_id', async () => {
    const res = await post(JSON.stringify({ ...exampleCallCompleted(), brand_new_field: [1, 2] }));
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'accepted', key: 'vs_12345', event: 'call.completed' });
    const [event] = h.events();
    expect(event).toMatchObject({ call_id: 'vs_12345', entity_id: 'vs_12345', voice_session_id: 9001, tenant_id: 44, family: 'call' });
    expect(JSON.parse(String(event.payload)).brand_new_field).toEqual([1, 2]);
    expect(JSON.parse(String(event.extracted_data))).toEqual({ intent: 'book_demo', budget_usd: 1200 });
    const eventMessage = h.publisher.messages.find((m) => m.topic === h.config.topicEvents)!;
    expect(eventMessage.key).toBe('vs_12345');
    const [audit] = h.audit();
    expect(audit).toMatchObject({ request_id: body.request_id, status: 202, error_code: null, event_key: 'vs_12345', flow: 'callaro' });
  });

  it.each([
    ['malformed JSON', '{"event": "call.completed", ', 400, 'RCV_MALFORMED_JSON'],
    ['an array', '[{"event":"call.completed"}]', 400, 'RCV_NOT_AN_OBJECT'],
    ['an empty body', '', 400, 'RCV_EMPTY_BODY'],
    ['a schema-invalid event', '{"event":"call.completed","tenant_id":"x"}', 422, 'RCV_SCHEMA_INVALID'],
  ])('refuses %s with %i %s and keeps the raw bytes in the audit topic', async (_name, body, status, code) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect((await res.json()).error.code).toBe(code);
    expect(h.events()).toHaveLength(0);
    const [audit] = h.audit();
    expect(audit).toMatchObject({ status, error_code: code, truncated: false });
    expect(Buffer.from(audit.body as Buffer).toString()).toBe(body);
  });

  it('lists every failing field path for 422', async () => {
    const res = await post(JSON.stringify({ event: 'call.completed', voice_session_id: 1.5, tool_calls: 'none' }));
    const body = await res.json();
    expect(body.error.details.fields.map((f: { path: string }) => f.path).sort()).toEqual(['call_id', 'tool_calls', 'voice_session_id']);
  });

  it('refuses a non-JSON content type with 415, keeping the body', async () => {
    const res = await post('event=call.completed', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe('RCV_UNSUPPORTED_MEDIA_TYPE');
    expect(Buffer.from(h.audit()[0].body as Buffer).toString()).toBe('event=call.completed');
  });

  it('refuses a declared body over the limit with 413 without reading it', async () => {
    const res = await post(JSON.stringify({ event: 'call.completed', call_id: 'big', pad: 'x'.repeat(10_000) }));
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('RCV_PAYLOAD_TOO_LARGE');
    expect(h.audit()[0]).toMatchObject({ status: 413, truncated: true });
  });

  it('cuts a chunked body off at the limit with 413, keeping the prefix', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(1000));
      req.end();
    });
    expect(status).toBe(413);
    const [audit] = h.audit();
    expect(audit.truncated).toBe(true);
    expect((audit.body as Buffer).length).toBe(4096);
  });

  it('answers 503 with Retry-After when the broker does not acknowledge', async () => {
    for (const mode of ['fail', 'hang'] as const) {
      h.publisher.mode = mode;
      const res = await post(JSON.stringify(exampleCallCompleted()));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect((await res.json()).error.code).toBe('RCV_BROKER_UNAVAILABLE');
    }
  });

  it('answers 404 for unknown paths and 405 for wrong methods', async () => {
    const notFound = await fetch(`${h.url}/nope`, { method: 'POST', body: '{}' });
    expect(notFound.status).toBe(404);
    expect((await notFound.json()).error.code).toBe('RCV_NOT_FOUND');
    const wrongMethod = await fetch(`${h.url}/callaro/webhooks`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('redacts secrets from the audited headers', async () => {
    await post(JSON.stringify(exampleCallCompleted()), { 'content-type': 'application/json', authorization: 'Bearer s3cret', 'x-callaro-signature': 'abc' });
    const headers = h.audit()[0].headers as Record<string, string>;
    expect(headers.authorization).toBe('[redacted]');
    expect(headers['x-callaro-signature']).toBe('[redacted]');
    expect(JSON.stringify(h.audit())).not.toContain('s3cret');
  });
});

describe('health endpoints', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).components).toEqual({ receiver: true, producer: true });
  });
});

describe('GET /metrics', () => {
  it('counts requests by route and status, rejections by code and events by family', async () => {
    await post(JSON.stringify(exampleCallCompleted()));
    await post('{"broken"');
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/callstream_http_requests_total\{route="\/callaro\/webhooks",status="202"\} [1-9]/);
    expect(text).toMatch(/callstream_requests_rejected_total\{code="RCV_MALFORMED_JSON"\} [1-9]/);
    expect(text).toMatch(/callstream_events_published_total\{family="call"\} [1-9]/);
    expect(text).toMatch(/callstream_http_request_duration_seconds_bucket\{le="0.1",route="\/callaro\/webhooks"\} [1-9]/);
  });
});
