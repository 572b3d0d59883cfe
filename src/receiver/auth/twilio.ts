import { createHash, createHmac } from 'node:crypto';
import type { TelephonyVendor } from '../../config/index.js';
import { safeEqual } from './constant-time.js';
import { signatureInvalid, singleHeader, type SignedRequest } from './request.js';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';

type FormParams = ReadonlyArray<readonly [string, string]>;

/**
 * Twilio's request signature (https://www.twilio.com/docs/usage/security#validating-requests):
 * the full URL, then each POST parameter's name and value with no delimiters, sorted by
 * name (case-sensitive), signed with HMAC-SHA1 under the auth token, base64. A name
 * sent several times contributes each distinct value once, sorted, as Twilio's own
 * libraries do.
 */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    const values = byName.get(name);
    if (values) values.add(value);
    else byName.set(name, new Set([value]));
  }
  let data = url;
  for (const name of [...byName.keys()].sort()) {
    for (const value of [...byName.get(name)!].sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * The URL forms Twilio may have signed: it is inconsistent about the default port, so
 * its own libraries accept the URL both with and without it; so does this.
 */
export function twilioUrlVariants(url: string): string[] {
  const parsed = new URL(url);
  const withoutPort = new URL(url);
  withoutPort.port = '';
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  const userinfo = parsed.username ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
  const withPort = `${parsed.protocol}//${userinfo}${parsed.hostname}:${port}${parsed.pathname}${parsed.search}`;
  return [...new Set([withoutPort.toString(), withPort])];
}

/**
 * Checks X-Twilio-Signature against the URL Twilio called: publicBaseUrl (what the
 * receiver cannot see behind a proxy) plus the request's path and query. A form body's
 * parameters are signed with the URL; a JSON body is not signed itself but its SHA-256
 * travels in the signed URL as the bodySHA256 query parameter.
 */
export function verifyTwilio(vendor: Extract<TelephonyVendor, { scheme: 'twilio' }>, request: SignedRequest): number {
  const signature = singleHeader(request, TWILIO_SIGNATURE_HEADER);
  const url = new URL(vendor.publicBaseUrl + request.target).toString();
  let params: FormParams = [];
  if (request.format === 'json') {
    const bodyHash = new URL(url).searchParams.get('bodySHA256');
    if (!bodyHash) throw signatureInvalid('Twilio signs a JSON body through the bodySHA256 query parameter of the URL, and there is none.');
    if (!safeEqual(bodyHash, createHash('sha256').update(request.body).digest('hex'))) {
      throw signatureInvalid('The body does not match the bodySHA256 query parameter.');
    }
  } else {
    params = [...new URLSearchParams(request.body.toString('utf8'))];
  }
  const variants = twilioUrlVariants(url);
  const matched = vendor.secrets.findIndex((token) => variants.some((variant) => safeEqual(signature, twilioSignature(token, variant, params))));
  if (matched < 0) {
    throw signatureInvalid(`X-Twilio-Signature does not match a signature of ${url} with any configured auth token (behind a proxy, check publicBaseUrl).`);
  }
  return matched + 1;
}
