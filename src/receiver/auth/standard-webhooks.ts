import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TelephonyVendor } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import { safeEqual } from './constant-time.js';
import { firstHeader, matchingSecret, signatureInvalid, type SignedRequest } from './request.js';

const SECRET_PREFIX = 'whsec_';

/** The header Standard Webhooks signs in: redacted in the audit record. */
export const STANDARD_WEBHOOKS_SIGNATURE_HEADER = 'webhook-signature';

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, as the Standard Webhooks spec signs. */
export function standardWebhooksSignature(secret: string, id: string, timestamp: string, body: Buffer): string {
  const mac = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/**
 * Verifies the Standard Webhooks headers (https://www.standardwebhooks.com/): webhook-id,
 * webhook-timestamp within the tolerance, and a webhook-signature list of which any `v1,`
 * entry matches under any active secret. Returns which secret matched; throws the refusal.
 */
export function verifyStandardWebhooks(secrets: readonly string[], toleranceSeconds: number, headers: IncomingHttpHeaders, body: Buffer, nowSeconds = Date.now() / 1000): number {
  const id = firstHeader(headers, 'webhook-id');
  const timestamp = firstHeader(headers, 'webhook-timestamp');
  const signatures = firstHeader(headers, STANDARD_WEBHOOKS_SIGNATURE_HEADER);
  if (!id || !timestamp || !signatures) throw signatureInvalid('Expected webhook-id, webhook-timestamp and webhook-signature headers.');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
    throw new CallstreamError('RCV_SIGNATURE_EXPIRED', `webhook-timestamp must be a Unix time within ${toleranceSeconds} s of now.`);
  }
  const given = signatures.split(' ').filter((s) => s.startsWith('v1,'));
  const matched = matchingSecret(secrets, (secret) => {
    const expected = standardWebhooksSignature(secret, id, timestamp, body);
    return given.some((g) => safeEqual(g, expected));
  });
  if (matched === 0) throw signatureInvalid();
  return matched;
}

/** A provider that signs with Standard Webhooks: the same check as the Callaro route's. */
export function verifyVendorStandardWebhooks(vendor: Extract<TelephonyVendor, { scheme: 'standard-webhooks' }>, request: SignedRequest): number {
  return verifyStandardWebhooks(vendor.secrets, vendor.toleranceSeconds, request.headers, request.body);
}
