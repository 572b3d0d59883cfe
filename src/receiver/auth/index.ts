/**
 * Who may send: every check of both flows, one way to fail (a thrown CallstreamError) and one
 * answer on success (which secret matched, for the audit record's verified_by). The Callaro
 * route's optional checks are AccessPolicy; providers' callbacks are verified by their
 * vendor's scheme (schemes.ts, the registry).
 */
export { AccessPolicy } from './access-policy.js';
export { clientAddress, buildAllowlist, isAllowed } from './client-address.js';
export { safeEqual } from './constant-time.js';
export { hmacSignature, verifyHmac, verifyVendorHmac, type HmacOptions } from './hmac.js';
export { verifyCallaroBearer, verifyVendorBearer } from './bearer.js';
export { standardWebhooksSignature, verifyStandardWebhooks, STANDARD_WEBHOOKS_SIGNATURE_HEADER } from './standard-webhooks.js';
export { twilioSignature, twilioUrlVariants, verifyTwilio, TWILIO_SIGNATURE_HEADER } from './twilio.js';
export { verifyRequest, credentialHeader } from './schemes.js';
export { signatureInvalid, type SignedRequest } from './request.js';
