import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { loadConfig, type OptionKey } from '../../../../src/config/index.js';
import { AccessPolicy, standardWebhooksSignature } from '../../../../src/receiver/auth/index.js';
import type { ValidEvent } from '../../../../src/families/index.js';

/** The Callaro route's checks on their own (test/unit/receiver/access-control.test.ts runs them over HTTP). */

const policy = (overrides: Partial<Record<OptionKey, unknown>>) => new AccessPolicy(loadConfig({}, overrides));
const request = (headers: Record<string, string>, remoteAddress = '127.0.0.1') => ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;
const body = Buffer.from('{"event":"call.completed","call_id":"vs_1"}');
const code = (check: () => unknown) => {
  try {
    check();
    return 'passed';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('AccessPolicy', () => {
  it('says what verified a request: every check that passed, with which secret; null when none is configured', () => {
    expect(policy({}).checkCredentials(request({}), undefined, body)).toBeNull();
    const ts = String(Math.floor(Date.now() / 1000));
    const sw = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const all = policy({ secretPath: 'p9Xk2Lq7Rt5Vw8Zy3Bn6', authTokens: ['t-old', 't-new'], hmacSecrets: ['h1', 'h2'], standardWebhooksSecrets: [sw] });
    const headers = {
      authorization: 'Bearer t-new',
      'x-callaro-signature': createHmac('sha256', 'h1').update(body).digest('hex'),
      'webhook-id': 'msg_1',
      'webhook-timestamp': ts,
      'webhook-signature': standardWebhooksSignature(sw, 'msg_1', ts, body),
    };
    expect(all.checkCredentials(request(headers), 'p9Xk2Lq7Rt5Vw8Zy3Bn6', body)).toBe('secret path, bearer #2, hmac #1, standard-webhooks #1');
    // Every check must pass; the first that fails is the refusal.
    expect(code(() => all.checkCredentials(request(headers), 'wrong-but-long-enough-x', body))).toBe('RCV_AUTH_REQUIRED');
    expect(code(() => all.checkCredentials(request({ ...headers, authorization: 'Bearer nope' }), 'p9Xk2Lq7Rt5Vw8Zy3Bn6', body))).toBe('RCV_AUTH_REQUIRED');
    expect(code(() => all.checkCredentials(request({ ...headers, 'x-callaro-signature': '00' }), 'p9Xk2Lq7Rt5Vw8Zy3Bn6', body))).toBe('RCV_SIGNATURE_INVALID');
    expect(code(() => all.checkCredentials(request({ ...headers, 'webhook-timestamp': '1' }), 'p9Xk2Lq7Rt5Vw8Zy3Bn6', body))).toBe('RCV_SIGNATURE_EXPIRED');
  });

  it('refuses addresses outside the source CIDRs and tenants outside the allowlist, by throwing', () => {
    const p = policy({ sourceCidrs: ['10.0.0.0/8'], tenantAllowlist: ['44'] });
    expect(code(() => p.checkSource(request({}, '10.1.2.3')))).toBe('passed');
    expect(code(() => p.checkSource(request({}, '192.168.0.1')))).toBe('RCV_SOURCE_FORBIDDEN');
    const event = (tenant_id: number | null) => ({ event: { tenant_id } }) as unknown as ValidEvent;
    expect(code(() => p.checkTenant(event(44)))).toBe('passed');
    expect(code(() => p.checkTenant(event(45)))).toBe('RCV_TENANT_FORBIDDEN');
    expect(code(() => p.checkTenant(event(null)))).toBe('RCV_TENANT_FORBIDDEN');
    expect(code(() => policy({}).checkSource(request({}, '192.168.0.1')))).toBe('passed');
  });
});
