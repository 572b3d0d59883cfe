import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseTelephonyVendors, type TelephonyVendor } from '../../../../src/config/index.js';
import { twilioSignature, twilioUrlVariants, verifyRequest, type SignedRequest } from '../../../../src/receiver/auth/index.js';
import { formBody, signLikeTwilio, twilioJsonUrl, TWILIO_DOCUMENTED_EXAMPLE as DOC } from '../../../support/provider-signatures.js';

const vendor = (publicBaseUrl: string, ...tokens: string[]): TelephonyVendor =>
  parseTelephonyVendors({ vendors: { twilio: { scheme: 'twilio', publicBaseUrl, secrets: tokens.map((value) => ({ value })) } } }).get('twilio')!;

const request = (target: string, signature: string | undefined, body: string, format: SignedRequest['format'] = 'form'): SignedRequest => ({
  target,
  headers: signature === undefined ? {} : { 'x-twilio-signature': signature },
  body: Buffer.from(body),
  format,
});

describe("Twilio's X-Twilio-Signature", () => {
  it("reproduces Twilio's documented example", () => {
    expect(signLikeTwilio(DOC.authToken, DOC.url, DOC.params)).toBe(DOC.signature);
    expect(twilioSignature(DOC.authToken, DOC.url, Object.entries(DOC.params))).toBe(DOC.signature);
    expect(twilioSignature(DOC.authToken, DOC.url, Object.entries(DOC.params).reverse())).toBe(DOC.signature);
  });

  it('accepts the documented request, its URL being the public base plus the path and query received', () => {
    const twilio = vendor('https://mycompany.com', DOC.authToken);
    expect(() => verifyRequest(twilio, request('/myapp.php?foo=1&bar=2', DOC.signature, formBody(DOC.params)))).not.toThrow();
  });

  it('keeps a path prefix of the public base URL (a proxy that strips it)', () => {
    const twilio = vendor('https://hooks.example.com/callstream/', 'tok');
    const url = 'https://hooks.example.com/callstream/api/v1/webhooks/telephony/twilio';
    const params = { CallSid: 'CA1', CallStatus: 'ringing' };
    expect(() => verifyRequest(twilio, request('/api/v1/webhooks/telephony/twilio', signLikeTwilio('tok', url, params), formBody(params)))).not.toThrow();
  });

  it('refuses a signature that is valid for a different URL', () => {
    const twilio = vendor('https://hooks.example.com', 'tok');
    const params = { CallSid: 'CA1', CallStatus: 'completed' };
    const body = formBody(params);
    const real = '/api/v1/webhooks/telephony/twilio';
    for (const signedFor of [
      'https://hooks.example.com/api/v1/webhooks/telephony/twilio/sample',
      'https://evil.example/api/v1/webhooks/telephony/twilio',
      'http://hooks.example.com/api/v1/webhooks/telephony/twilio',
      'https://hooks.example.com/api/v1/webhooks/telephony/twilio?retry=1',
      'https://hooks.example.com/api/v1/webhooks/telephony/other',
    ]) {
      expect(() => verifyRequest(twilio, request(real, signLikeTwilio('tok', signedFor, params), body)), signedFor).toThrow(
        expect.objectContaining({ code: 'RCV_SIGNATURE_INVALID', status: 401 }),
      );
    }
    expect(() => verifyRequest(twilio, request(real, signLikeTwilio('tok', `https://hooks.example.com${real}`, params), body))).not.toThrow();
  });

  it('refuses a tampered parameter, a wrong token and a missing header', () => {
    const twilio = vendor('https://mycompany.com', DOC.authToken);
    const target = '/myapp.php?foo=1&bar=2';
    expect(() => verifyRequest(twilio, request(target, DOC.signature, formBody({ ...DOC.params, Digits: '9999' })))).toThrow(/does not match/);
    expect(() => verifyRequest(vendor('https://mycompany.com', 'other'), request(target, DOC.signature, formBody(DOC.params)))).toThrow(/does not match/);
    expect(() => verifyRequest(twilio, request(target, undefined, formBody(DOC.params)))).toThrow(/Missing the x-twilio-signature header/);
  });

  it('accepts any configured auth token (rotation)', () => {
    const twilio = vendor('https://mycompany.com', 'new-token', DOC.authToken);
    expect(() => verifyRequest(twilio, request('/myapp.php?foo=1&bar=2', DOC.signature, formBody(DOC.params)))).not.toThrow();
  });

  it('accepts the URL signed with or without the default port, as Twilio signs both ways', () => {
    expect(twilioUrlVariants('https://h.example/p?q=1')).toEqual(['https://h.example/p?q=1', 'https://h.example:443/p?q=1']);
    const twilio = vendor('https://hooks.example.com', 'tok');
    const params = { CallSid: 'CA1', CallStatus: 'busy' };
    const withPort = signLikeTwilio('tok', 'https://hooks.example.com:443/api/v1/webhooks/telephony/twilio', params);
    expect(() => verifyRequest(twilio, request('/api/v1/webhooks/telephony/twilio', withPort, formBody(params)))).not.toThrow();
  });

  it('signs each distinct value of a repeated parameter once, sorted, as Twilio\'s libraries do', () => {
    const expected = createHmac('sha1', 'tok').update('https://h.example/x1x2').digest('base64');
    expect(twilioSignature('tok', 'https://h.example/', [['x', '2'], ['x', '1'], ['x', '1']])).toBe(expected);
  });

  it("verifies a JSON body through the signed URL's bodySHA256 (Twilio's Node library example)", () => {
    expect(twilioJsonUrl(DOC.url, DOC.jsonBody)).toBe(`${DOC.url}&bodySHA256=${DOC.bodySha256}`);
    expect(signLikeTwilio(DOC.authToken, twilioJsonUrl(DOC.url, DOC.jsonBody))).toBe(DOC.jsonSignature);
    const twilio = vendor('https://mycompany.com', DOC.authToken);
    const target = `/myapp.php?foo=1&bar=2&bodySHA256=${DOC.bodySha256}`;
    expect(() => verifyRequest(twilio, request(target, DOC.jsonSignature, DOC.jsonBody, 'json'))).not.toThrow();
    expect(() => verifyRequest(twilio, request(target, DOC.jsonSignature, DOC.jsonBody.replace('value', 'other'), 'json'))).toThrow(/does not match the bodySHA256/);
    expect(() => verifyRequest(twilio, request('/myapp.php?foo=1&bar=2', DOC.jsonSignature, DOC.jsonBody, 'json'))).toThrow(/bodySHA256 query parameter/);
  });
});
