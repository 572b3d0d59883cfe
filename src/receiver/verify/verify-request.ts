import type { TelephonyVendor } from '../../config/index.js';
import { verifyBearer } from './bearer-token.js';
import { verifyHmacSha256 } from './hmac-signature.js';
import type { SignedRequest } from './signed-request.js';
import { TWILIO_SIGNATURE_HEADER, verifyTwilio } from './twilio-signature.js';

/**
 * Verifies a request with the vendor's scheme; throws RCV_SIGNATURE_INVALID (401) when it
 * fails. Returns which of the vendor's secrets verified it (1 = the first configured), so the
 * audit trail shows who still signs with a secret being rotated out.
 */
export function verifyRequest(vendor: TelephonyVendor, request: SignedRequest): number {
  switch (vendor.scheme) {
    case 'twilio':
      return verifyTwilio(vendor, request);
    case 'hmac-sha256':
      return verifyHmacSha256(vendor, request);
    case 'bearer':
      return verifyBearer(vendor, request);
  }
}

/** The header that carries the vendor's credential: redacted in the audit record. */
export function credentialHeader(vendor: TelephonyVendor): string {
  switch (vendor.scheme) {
    case 'twilio':
      return TWILIO_SIGNATURE_HEADER;
    case 'hmac-sha256':
      return vendor.header;
    case 'bearer':
      return 'authorization';
  }
}
