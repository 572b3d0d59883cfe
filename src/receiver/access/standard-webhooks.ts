import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CallstreamError } from '../../errors.js';
import { safeEqual } from '../verify/constant-time.js';

const SECRET_PREFIX = 'whsec_';

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, as the Standard Webhooks spec signs. */
export function standardWebhooksSignature(secret: string, id: string, timestamp: string, body: Buffer): string {
  const mac = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Verifies the Standard Webhooks headers (https://www.standardwebhooks.com/): webhook-id,
 * webhook-timestamp within the tolerance, and a webhook-signature list of which any
 * `v1,` entry matches under any active secret. Returns the refusal, or which secret matched
 * (1 = the first configured).
 */
export function verifyStandardWebhooks(secrets: string[], toleranceSeconds: number, headers: IncomingHttpHeaders, body: Buffer, nowSeconds = Date.now() / 1000): CallstreamError | number {
  const id = one(headers, 'webhook-id');
  const timestamp = one(headers, 'webhook-timestamp');
  const signatures = one(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) return new CallstreamError('RCV_SIGNATURE_INVALID', 'Expected webhook-id, webhook-timestamp and webhook-signature headers.');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
    return new CallstreamError('RCV_SIGNATURE_EXPIRED', `webhook-timestamp must be a Unix time within ${toleranceSeconds} s of now.`);
  }
  const given = signatures.split(' ').filter((s) => s.startsWith('v1,'));
  const matched = secrets.findIndex((s) => {
    const expected = standardWebhooksSignature(s, id, timestamp, body);
    return given.some((g) => safeEqual(g, expected));
  });
  return matched < 0 ? new CallstreamError('RCV_SIGNATURE_INVALID') : matched + 1;
}
