import { describe, expect, it } from 'vitest';
import { parseTelephonyVendors } from '../../../../src/config/index.js';
import { verifyRequest, type SignedRequest } from '../../../../src/receiver/auth/index.js';
import { signHmacSha256 } from '../../../support/provider-signatures.js';

const vendor = (settings: Record<string, unknown>, ...secrets: string[]) =>
  parseTelephonyVendors({ vendors: { acme: { scheme: 'hmac-sha256', header: 'X-Acme-Signature', secrets: secrets.map((value) => ({ value })), ...settings } } }).get('acme')!;

const request = (body: string, headers: Record<string, string | string[]>, format: SignedRequest['format'] = 'json'): SignedRequest => ({
  target: '/api/v1/webhooks/telephony/acme',
  headers,
  body: Buffer.from(body),
  format,
});

const body = '{"call_sid":"CA1","status":"charged","amount_cents":120}';

describe('generic HMAC-SHA256 signature header', () => {
  it('accepts the HMAC-SHA256 of the exact body bytes, hex (any case) or base64, with a prefix', () => {
    const hex = vendor({}, 'whsec');
    expect(() => verifyRequest(hex, request(body, { 'x-acme-signature': signHmacSha256('whsec', body) }))).not.toThrow();
    expect(() => verifyRequest(hex, request(body, { 'x-acme-signature': signHmacSha256('whsec', body).toUpperCase() }))).not.toThrow();
    const prefixed = vendor({ prefix: 'sha256=', encoding: 'base64' }, 'whsec');
    expect(() => verifyRequest(prefixed, request(body, { 'x-acme-signature': `sha256=${signHmacSha256('whsec', body, 'base64')}` }))).not.toThrow();
    expect(() => verifyRequest(prefixed, request(body, { 'x-acme-signature': signHmacSha256('whsec', body, 'base64') }))).toThrow(/start with "sha256="/);
  });

  it('verifies form bodies the same way', () => {
    const form = 'call_sid=CA1&status=failed';
    expect(() => verifyRequest(vendor({}, 'whsec'), request(form, { 'x-acme-signature': signHmacSha256('whsec', form) }, 'form'))).not.toThrow();
  });

  it('refuses another body, another secret, a missing or a doubled header', () => {
    const acme = vendor({}, 'whsec');
    const signature = signHmacSha256('whsec', body);
    expect(() => verifyRequest(acme, request(`${body} `, { 'x-acme-signature': signature }))).toThrow(expect.objectContaining({ code: 'RCV_SIGNATURE_INVALID' }));
    expect(() => verifyRequest(acme, request(body, { 'x-acme-signature': signHmacSha256('other', body) }))).toThrow(/not the HMAC-SHA256/);
    expect(() => verifyRequest(acme, request(body, {}))).toThrow(/Missing the x-acme-signature header/);
    expect(() => verifyRequest(acme, request(body, { 'x-acme-signature': [signature, signature] }))).toThrow(/Expected one x-acme-signature header/);
  });

  it('accepts any configured secret (rotation)', () => {
    const rotating = vendor({}, 'new', 'old');
    expect(() => verifyRequest(rotating, request(body, { 'x-acme-signature': signHmacSha256('old', body) }))).not.toThrow();
    expect(() => verifyRequest(rotating, request(body, { 'x-acme-signature': signHmacSha256('new', body) }))).not.toThrow();
  });
});
