import type { TelephonyVendor } from '../../config/index.js';
import { safeEqual } from './constant-time.js';
import { signatureInvalid, singleHeader, type SignedRequest } from './signed-request.js';

/** A shared token in `Authorization: Bearer <token>` (RFC 6750), for providers that do not sign. */
export function verifyBearer(vendor: Extract<TelephonyVendor, { scheme: 'bearer' }>, request: SignedRequest): number {
  const match = /^Bearer +(\S+) *$/i.exec(singleHeader(request, 'authorization'));
  if (!match) throw signatureInvalid('Expected "Authorization: Bearer <token>".');
  const matched = vendor.secrets.findIndex((token) => safeEqual(match[1], token));
  if (matched < 0) throw signatureInvalid('The bearer token is not one of the configured tokens.');
  return matched + 1;
}
