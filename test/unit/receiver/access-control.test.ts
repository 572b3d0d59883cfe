import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { standardWebhooksSignature } from '../../../src/receiver/auth/index.js';
import { exampleCallCompleted } from '../../support/fixtures.js';
import { startTestReceiver } from '../../support/receiver-harness.js';

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const body = JSON.stringify(exampleCallCompleted());
async function post(path: string, headers: Record<string, string> = {}, text = body) {
  const res = await fetch(`${h!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text });
  return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
}

describe('access control of POST /callaro/webhooks', () => {
  it('bearer token: any active token passes, a wrong or missing one gets 401, audited with the secret redacted', async () => {
    h = await startTestReceiver({ authTokens: ['tok-old-123', 'tok-new-456'] });
    expect(await post('/callaro/webhooks', { authorization: 'Bearer tok-new-456' })).toEqual({ status: 202, code: undefined });
    expect(await post('/callaro/webhooks', { authorization: 'Bearer tok-old-123' })).toEqual({ status: 202, code: undefined });
    expect(await post('/callaro/webhooks', { authorization: 'Bearer nope' })).toEqual({ status: 401, code: 'RCV_AUTH_REQUIRED' });
    expect(await post('/callaro/webhooks')).toEqual({ status: 401, code: 'RCV_AUTH_REQUIRED' });
    const audit = h.audit();
    expect(audit.map((a) => a.status)).toEqual([202, 202, 401, 401]);
    expect(audit[2]).toMatchObject({ error_code: 'RCV_AUTH_REQUIRED', headers: { authorization: '[redacted]' } });
    expect(JSON.stringify(audit)).not.toMatch(/tok-|nope/);
    // Which token each request used (the audit trail's verified_by): who still sends the old one during a rotation.
    expect(audit.map((a) => a.verified_by)).toEqual(['bearer #2', 'bearer #1', null, null]);
    expect(h.events()).toHaveLength(2);
  });

  it('secret path segment: the right one passes, a wrong or missing one gets 401, and it is never stored', async () => {
    const secret = 'p9Xk2Lq7Rt5Vw8Zy3Bn6';
    h = await startTestReceiver({ secretPath: secret });
    expect((await post(`/callaro/webhooks/${secret}`)).status).toBe(202);
    expect(await post('/callaro/webhooks/wrong-secret-but-long-enough')).toEqual({ status: 401, code: 'RCV_AUTH_REQUIRED' });
    expect(await post('/callaro/webhooks')).toEqual({ status: 401, code: 'RCV_AUTH_REQUIRED' });
    expect(JSON.stringify(h.audit())).not.toContain(secret);
    expect(h.audit()[0].path).toBe('/callaro/webhooks/[redacted]');
    expect(h.audit()[0].verified_by).toBe('secret path');
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).not.toContain(secret);
  });

  it('HMAC over the exact raw bytes, with a timestamp against replays', async () => {
    h = await startTestReceiver({ hmacSecrets: ['s1', 's2'], hmacEncoding: 'base64', hmacTimestampHeader: 'x-callaro-timestamp' });
    const ts = String(Math.floor(Date.now() / 1000));
    const sign = (secret: string, t: string, text: string) => createHmac('sha256', secret).update(`${t}.${text}`).digest('base64');
    expect((await post('/callaro/webhooks', { 'x-callaro-signature': sign('s2', ts, body), 'x-callaro-timestamp': ts })).status).toBe(202);
    // The same JSON re-serialized (other bytes) does not pass: signatures cover the raw body.
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    expect(await post('/callaro/webhooks', { 'x-callaro-signature': sign('s2', ts, body), 'x-callaro-timestamp': ts }, reformatted)).toEqual({ status: 401, code: 'RCV_SIGNATURE_INVALID' });
    const old = String(Number(ts) - 3600);
    expect(await post('/callaro/webhooks', { 'x-callaro-signature': sign('s1', old, body), 'x-callaro-timestamp': old })).toEqual({ status: 401, code: 'RCV_SIGNATURE_EXPIRED' });
    expect(h.audit().map((a) => a.headers)).toEqual(expect.arrayContaining([expect.objectContaining({ 'x-callaro-signature': '[redacted]' })]));
    expect(h.audit().map((a) => a.verified_by)).toEqual(['hmac #2', null, null]);
  });

  it('Standard Webhooks as an alternative', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    h = await startTestReceiver({ standardWebhooksSecrets: [secret] });
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': standardWebhooksSignature(secret, 'msg_1', ts, Buffer.from(body)) };
    expect((await post('/callaro/webhooks', headers)).status).toBe(202);
    expect(await post('/callaro/webhooks', { ...headers, 'webhook-id': 'msg_2' })).toEqual({ status: 401, code: 'RCV_SIGNATURE_INVALID' });
    expect(h.audit().map((a) => a.verified_by)).toEqual(['standard-webhooks #1', null]);
  });

  it('tenant allowlist: events of other tenants get 403', async () => {
    h = await startTestReceiver({ tenantAllowlist: ['44'] });
    expect((await post('/callaro/webhooks')).status).toBe(202);
    expect(await post('/callaro/webhooks', {}, JSON.stringify({ ...exampleCallCompleted(), tenant_id: 45 }))).toEqual({ status: 403, code: 'RCV_TENANT_FORBIDDEN' });
    expect(h.audit()[1]).toMatchObject({ status: 403, error_code: 'RCV_TENANT_FORBIDDEN', verified_by: null });
  });

  it('source CIDR allowlist, trusting X-Forwarded-For only for the configured proxy hops', async () => {
    h = await startTestReceiver({ sourceCidrs: ['10.0.0.0/8'] });
    expect(await post('/callaro/webhooks', { 'x-forwarded-for': '10.1.2.3' })).toEqual({ status: 403, code: 'RCV_SOURCE_FORBIDDEN' });
    await h.close();
    h = await startTestReceiver({ sourceCidrs: ['10.0.0.0/8', '::1/128'], trustedProxyHops: 1 });
    expect((await post('/callaro/webhooks', { 'x-forwarded-for': '10.1.2.3' })).status).toBe(202);
    // A client-claimed entry left of the proxy's is not trusted.
    expect(await post('/callaro/webhooks', { 'x-forwarded-for': '10.9.9.9, 203.0.113.7' })).toEqual({ status: 403, code: 'RCV_SOURCE_FORBIDDEN' });
    await h.close();
    h = await startTestReceiver({ sourceCidrs: ['127.0.0.0/8'] });
    expect((await post('/callaro/webhooks')).status).toBe(202);
  });
});
