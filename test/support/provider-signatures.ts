import { createHash, createHmac } from 'node:crypto';

/**
 * Requests signed the way each provider documents it, written apart from src/ so that a
 * mistake in callstream's verifiers cannot cancel itself out in the tests.
 */

/**
 * Twilio (https://www.twilio.com/docs/usage/security#validating-requests): the full URL,
 * then every POST parameter's name and value appended with no delimiter, sorted by name;
 * HMAC-SHA1 with the auth token; base64.
 */
export function signLikeTwilio(authToken: string, url: string, params: Record<string, string> = {}): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, name) => text + name + params[name], url);
  return createHmac('sha1', authToken).update(data).digest('base64');
}

/** The hex SHA-256 of a body, as Twilio's bodySHA256 query parameter carries it. */
export function bodySha256(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Twilio's JSON bodies: the URL gains bodySHA256, and the signature covers the URL alone. */
export function twilioJsonUrl(url: string, body: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}bodySHA256=${bodySha256(body)}`;
}

/** The generic scheme: HMAC-SHA256 of the raw body. */
export function signHmacSha256(secret: string, body: string | Buffer, encoding: 'hex' | 'base64' = 'hex'): string {
  return createHmac('sha256', secret).update(body).digest(encoding);
}

/** A form body as Twilio posts it. */
export function formBody(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** Twilio's documented example: auth token, URL, parameters and the signature they give. */
export const TWILIO_DOCUMENTED_EXAMPLE = {
  authToken: '12345',
  url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
  params: { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' },
  signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
  /** The JSON-body example of Twilio's Node library: body, its bodySHA256, and the signature of the URL carrying it. */
  jsonBody: '{"property": "value", "boolean": true}',
  bodySha256: '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620',
  jsonSignature: 'a9nBmqA0ju/hNViExpshrM61xv4=',
} as const;
