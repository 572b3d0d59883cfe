import type { IncomingHttpHeaders } from 'node:http';
import type { TelephonyVendor } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import { safeEqual } from './constant-time.js';
import { matchingSecret, signatureInvalid, singleHeader, type SignedRequest } from './request.js';

/** Which token `Authorization: Bearer <token>` (RFC 6750) presents (1 = the first configured), 0 for none or another. */
function presentedToken(value: string | undefined, tokens: readonly string[], spaces: RegExp): number {
  const match = spaces.exec(value ?? '');
  return match ? matchingSecret(tokens, (token) => safeEqual(match[1], token)) : 0;
}

/** The Callaro route's optional shared tokens (CALLSTREAM_AUTH_TOKENS): 401 RCV_AUTH_REQUIRED otherwise. */
export function verifyCallaroBearer(tokens: readonly string[], headers: IncomingHttpHeaders): number {
  const matched = presentedToken(headers.authorization, tokens, /^Bearer\s+(\S+)\s*$/i);
  if (matched === 0) throw new CallstreamError('RCV_AUTH_REQUIRED', 'Expected Authorization: Bearer <token>.');
  return matched;
}

/** A vendor's shared token, for providers that do not sign: 401 RCV_SIGNATURE_INVALID otherwise. */
export function verifyVendorBearer(vendor: Extract<TelephonyVendor, { scheme: 'bearer' }>, request: SignedRequest): number {
  const header = singleHeader(request, 'authorization');
  if (!/^Bearer +(\S+) *$/i.test(header)) throw signatureInvalid('Expected "Authorization: Bearer <token>".');
  const matched = presentedToken(header, vendor.secrets, /^Bearer +(\S+) *$/i);
  if (matched === 0) throw signatureInvalid('The bearer token is not one of the configured tokens.');
  return matched;
}
