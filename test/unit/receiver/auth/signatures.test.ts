import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSignature, standardWebhooksSignature, verifyHmac, verifyStandardWebhooks } from '../../../../src/receiver/auth/index.js';

/** The matching secret's number, or the refusal's code. */
function codeOf(check: () => number): number | string {
  try {
    return check();
  } catch (err) {
    return (err as { code: string }).code;
  }
}

const body = Buffer.from('{"event":"call.completed","call_id":"vs_1"}');

describe('verifyHmac (a tenant\'s private signature contract)', () => {
  const options = { secrets: ['old-secret', 'new-secret'], header: 'X-Callaro-Signature', encoding: 'hex' as const, toleranceSeconds: 300 };

  it('accepts HMAC-SHA256 of the exact body under any active secret, with or without a sha256= prefix', () => {
    const mac = createHmac('sha256', 'new-secret').update(body).digest('hex');
    expect(verifyHmac(options, { 'x-callaro-signature': mac }, body)).toBe(2); // which secret: the audit trail's verified_by
    expect(verifyHmac(options, { 'x-callaro-signature': `sha256=${hmacSignature('old-secret', body, 'hex')}` }, body)).toBe(1);
  });

  it('refuses another body, another secret, a missing header', () => {
    const mac = hmacSignature('new-secret', body, 'hex');
    expect(codeOf(() => verifyHmac(options, { 'x-callaro-signature': mac }, Buffer.from(body.toString().replace('vs_1', 'vs_2'))))).toBe('RCV_SIGNATURE_INVALID');
    expect(codeOf(() => verifyHmac(options, { 'x-callaro-signature': hmacSignature('guess', body, 'hex') }, body))).toBe('RCV_SIGNATURE_INVALID');
    expect(codeOf(() => verifyHmac(options, {}, body))).toBe('RCV_SIGNATURE_INVALID');
  });

  it('binds the signature to a recent timestamp when configured', () => {
    const withTime = { ...options, encoding: 'base64' as const, timestampHeader: 'X-Callaro-Timestamp' };
    const now = 1_800_000_000;
    const ts = String(now - 10);
    const mac = createHmac('sha256', 'new-secret').update(`${ts}.`).update(body).digest('base64');
    expect(verifyHmac(withTime, { 'x-callaro-signature': mac, 'x-callaro-timestamp': ts }, body, now)).toBe(2);
    expect(codeOf(() => verifyHmac(withTime, { 'x-callaro-signature': mac, 'x-callaro-timestamp': ts }, body, now + 400))).toBe('RCV_SIGNATURE_EXPIRED');
    expect(codeOf(() => verifyHmac(withTime, { 'x-callaro-signature': mac, 'x-callaro-timestamp': String(now) }, body, now))).toBe('RCV_SIGNATURE_INVALID');
  });
});

describe('verifyStandardWebhooks', () => {
  // The example of the Standard Webhooks reference libraries' tests.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = '1614265330';
  const payload = Buffer.from('{"test": 2432232314}');
  const expected = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

  it('computes the reference signature', () => {
    expect(standardWebhooksSignature(secret, id, timestamp, payload)).toBe(expected);
  });

  it('accepts any matching v1 entry of the signature list within the tolerance', () => {
    const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,bm9wZQ== ${expected}` };
    expect(verifyStandardWebhooks(['whsec_b2xk', secret], 300, headers, payload, Number(timestamp) + 60)).toBe(2);
  });

  it('refuses an old timestamp, a changed body, missing headers', () => {
    const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': expected };
    expect(codeOf(() => verifyStandardWebhooks([secret], 300, headers, payload, Number(timestamp) + 301))).toBe('RCV_SIGNATURE_EXPIRED');
    expect(codeOf(() => verifyStandardWebhooks([secret], 300, headers, Buffer.from('{"test": 1}'), Number(timestamp)))).toBe('RCV_SIGNATURE_INVALID');
    expect(codeOf(() => verifyStandardWebhooks([secret], 300, { 'webhook-id': id }, payload, Number(timestamp)))).toBe('RCV_SIGNATURE_INVALID');
  });
});
