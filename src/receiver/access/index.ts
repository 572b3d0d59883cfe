export { AccessPolicy } from './access-policy.js';
export { hmacSignature, verifyHmac, type HmacOptions } from './hmac-signature.js';
export { standardWebhooksSignature, verifyStandardWebhooks } from './standard-webhooks.js';
export { clientAddress, buildAllowlist, isAllowed } from './client-address.js';
