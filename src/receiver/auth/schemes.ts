import type { TelephonyScheme, TelephonyVendor } from '../../config/index.js';
import { verifyVendorBearer } from './bearer.js';
import { verifyVendorHmac } from './hmac.js';
import type { SignedRequest } from './request.js';
import { STANDARD_WEBHOOKS_SIGNATURE_HEADER, verifyVendorStandardWebhooks } from './standard-webhooks.js';
import { TWILIO_SIGNATURE_HEADER, verifyTwilio } from './twilio.js';

/** How a provider's callbacks are verified: the check, and the header that carries the credential. */
interface Scheme<S extends TelephonyScheme> {
  verify(vendor: Extract<TelephonyVendor, { scheme: S }>, request: SignedRequest): number;
  credentialHeader(vendor: Extract<TelephonyVendor, { scheme: S }>): string;
}

/**
 * Every verification scheme a vendor can be configured with (connectors/telephony-vendors.json),
 * by name. A new scheme is a verifier file of this folder, one entry here and one in the
 * vendors file's schema (src/config/telephony-vendors.ts).
 */
const SCHEMES: { [S in TelephonyScheme]: Scheme<S> } = {
  twilio: { verify: verifyTwilio, credentialHeader: () => TWILIO_SIGNATURE_HEADER },
  'hmac-sha256': { verify: verifyVendorHmac, credentialHeader: (vendor) => vendor.header },
  bearer: { verify: verifyVendorBearer, credentialHeader: () => 'authorization' },
  'standard-webhooks': { verify: verifyVendorStandardWebhooks, credentialHeader: () => STANDARD_WEBHOOKS_SIGNATURE_HEADER },
};

/**
 * Verifies a request with the vendor's scheme; throws RCV_SIGNATURE_INVALID (401) when it
 * fails. Returns which of the vendor's secrets verified it (1 = the first configured), so the
 * audit trail shows who still signs with a secret being rotated out.
 */
export function verifyRequest(vendor: TelephonyVendor, request: SignedRequest): number {
  return (SCHEMES[vendor.scheme] as Scheme<TelephonyScheme>).verify(vendor as never, request);
}

/** The header that carries the vendor's credential: redacted in the audit record. */
export function credentialHeader(vendor: TelephonyVendor): string {
  return (SCHEMES[vendor.scheme] as Scheme<TelephonyScheme>).credentialHeader(vendor as never);
}
