import { describe, expect, it } from 'vitest';
import { parseTelephonyVendors } from '../../../../src/config/index.js';
import { safeEqual, verifyRequest, type SignedRequest } from '../../../../src/receiver/auth/index.js';

const relay = parseTelephonyVendors({ vendors: { relay: { scheme: 'bearer', secrets: [{ value: 'tok-current' }, { value: 'tok-previous' }] } } }).get('relay')!;

const request = (authorization?: string): SignedRequest => ({
  target: '/api/v1/webhooks/telephony/relay',
  headers: authorization === undefined ? {} : { authorization },
  body: Buffer.from('{}'),
  format: 'json',
});

describe('bearer token', () => {
  it('accepts any configured token in Authorization: Bearer', () => {
    expect(() => verifyRequest(relay, request('Bearer tok-current'))).not.toThrow();
    expect(() => verifyRequest(relay, request('bearer tok-previous'))).not.toThrow();
  });

  it('refuses another token, another scheme or no header', () => {
    expect(() => verifyRequest(relay, request('Bearer tok-curren'))).toThrow(expect.objectContaining({ code: 'RCV_SIGNATURE_INVALID', status: 401 }));
    expect(() => verifyRequest(relay, request('Basic dG9rLWN1cnJlbnQ='))).toThrow(/Authorization: Bearer/);
    expect(() => verifyRequest(relay, request())).toThrow(/Missing the authorization header/);
  });
});

describe('safeEqual', () => {
  it('compares values of any lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual(Buffer.from('x'), 'x')).toBe(true);
  });
});
