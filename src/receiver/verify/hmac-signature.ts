import type { TelephonyVendor } from '../../config/index.js';
import { hmacSignature } from '../access/hmac-signature.js';
import { safeEqual } from './constant-time.js';
import { signatureInvalid, singleHeader, type SignedRequest } from './signed-request.js';

type HmacVendor = Extract<TelephonyVendor, { scheme: 'hmac-sha256' }>;

/** HMAC-SHA256 of the raw body under the secret, in the vendor's encoding (the same computation as the Callaro route's). */
export function hmacSha256(secret: string, body: Buffer, encoding: HmacVendor['encoding']): string {
  return hmacSignature(secret, body, encoding);
}

/**
 * The generic scheme most providers use: a header (optionally prefixed, e.g.
 * "sha256=") carrying the HMAC-SHA256 of the exact body bytes.
 */
export function verifyHmacSha256(vendor: HmacVendor, request: SignedRequest): number {
  const value = singleHeader(request, vendor.header).trim();
  if (!value.startsWith(vendor.prefix)) throw signatureInvalid(`Expected the ${vendor.header} header to start with "${vendor.prefix}".`);
  const presented = value.slice(vendor.prefix.length);
  // Hex is case-insensitive; base64 is not.
  const normalized = vendor.encoding === 'hex' ? presented.toLowerCase() : presented;
  const matched = vendor.secrets.findIndex((secret) => safeEqual(normalized, hmacSha256(secret, request.body, vendor.encoding)));
  if (matched < 0) throw signatureInvalid(`The ${vendor.header} header is not the HMAC-SHA256 (${vendor.encoding}) of the body under any configured secret.`);
  return matched + 1;
}
