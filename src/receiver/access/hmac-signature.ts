import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CallstreamError } from '../../errors.js';
import { safeEqual } from '../verify/constant-time.js';

export interface HmacOptions {
  secrets: string[];
  header: string;
  encoding: 'hex' | 'base64';
  timestampHeader?: string;
  toleranceSeconds: number;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The signature a sender computes: HMAC-SHA256 over the raw body (or `<timestamp>.<body>`). */
export function hmacSignature(secret: string, body: Buffer, encoding: 'hex' | 'base64', timestamp?: string): string {
  const mac = createHmac('sha256', secret);
  if (timestamp !== undefined) mac.update(`${timestamp}.`);
  return mac.update(body).digest(encoding);
}

/**
 * Checks the tenant's private signature contract: an HMAC-SHA256 of the exact body bytes
 * under any active secret (rotation), optionally bound to a recent timestamp (replays).
 * Returns the refusal, or which secret matched (1 = the first configured).
 */
export function verifyHmac(options: HmacOptions, headers: IncomingHttpHeaders, body: Buffer, nowSeconds = Date.now() / 1000): CallstreamError | number {
  const given = header(headers, options.header)?.trim().replace(/^sha256=/i, '');
  if (!given) return new CallstreamError('RCV_SIGNATURE_INVALID', `Missing signature header ${options.header}.`);
  let timestamp: string | undefined;
  if (options.timestampHeader) {
    timestamp = header(headers, options.timestampHeader)?.trim();
    if (!timestamp || !/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > options.toleranceSeconds) {
      return new CallstreamError('RCV_SIGNATURE_EXPIRED', `Header ${options.timestampHeader} must hold a Unix time within ${options.toleranceSeconds} s of now.`);
    }
  }
  const presented = options.encoding === 'hex' ? given.toLowerCase() : given; // hex is case-insensitive, base64 is not
  const matched = options.secrets.findIndex((secret) => safeEqual(presented, hmacSignature(secret, body, options.encoding, timestamp)));
  return matched < 0 ? new CallstreamError('RCV_SIGNATURE_INVALID') : matched + 1;
}
