export { verifyRequest, credentialHeader } from './verify-request.js';
export { twilioSignature, twilioUrlVariants, TWILIO_SIGNATURE_HEADER } from './twilio-signature.js';
export { hmacSha256 } from './hmac-signature.js';
export { safeEqual } from './constant-time.js';
export { type SignedRequest } from './signed-request.js';
