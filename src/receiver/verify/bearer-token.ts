import type { TelephonyVendor } from '../../config/index.js';
import { safeEqual } from './constant-time.js';
import { signatureInvalid, singleHeader, type SignedRequest } from './signed-request.js';

/** A shared token in `Authorization: Bearer <token>` (RFC 6750), for providers that do not sign. */
export function verifyBearer(vendor: Extract<TelephonyVendor, { scheme: 'bearer' }>, request: SignedRequest): void {
  const match = /^Bearer +(\S+) *$/i.exec(singleHeader(request, 'authorization'));
  if (!match) throw signatureInvalid('Expected "Authorization: Bearer <token>".');
  if (!vendor.secrets.some((token) => safeEqual(match[1], token))) throw signatureInvalid('The bearer token is not one of the configured tokens.');
}
