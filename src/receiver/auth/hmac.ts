import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TelephonyVendor } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import { safeEqual } from './constant-time.js';
import { firstHeader, matchingSecret, signatureInvalid, singleHeader, type SignedRequest } from './request.js';

/** The signature a sender computes: HMAC-SHA256 over the raw body (or `<timestamp>.<body>`). */
export function hmacSignature(secret: string, body: Buffer, encoding: 'hex' | 'base64', timestamp?: string): string {
  const mac = createHmac('sha256', secret);
  if (timestamp !== undefined) mac.update(`${timestamp}.`);
  return mac.update(body).digest(encoding);
}

/** Which secret signed the body (1 = the first), 0 for none; hex is compared case-insensitively, base64 is not. */
function signedWith(secrets: readonly string[], presented: string, body: Buffer, encoding: 'hex' | 'base64', timestamp?: string): number {
  const normalized = encoding === 'hex' ? presented.toLowerCase() : presented;
  return matchingSecret(secrets, (secret) => safeEqual(normalized, hmacSignature(secret, body, encoding, timestamp)));
}

/** The Callaro route's optional private signature contract (CALLSTREAM_HMAC_*). */
export interface HmacOptions {
  secrets: string[];
  header: string;
  encoding: 'hex' | 'base64';
  timestampHeader?: string;
  toleranceSeconds: number;
}

/**
 * A tenant's private signature contract on the Callaro route: an HMAC-SHA256 of the exact body
 * bytes (optionally after a "sha256=" prefix) under any active secret (rotation), optionally
 * bound to a recent timestamp against replays. Returns which secret matched; throws the refusal.
 */
export function verifyHmac(options: HmacOptions, headers: IncomingHttpHeaders, body: Buffer, nowSeconds = Date.now() / 1000): number {
  const given = firstHeader(headers, options.header)?.trim().replace(/^sha256=/i, '');
  if (!given) throw signatureInvalid(`Missing signature header ${options.header}.`);
  let timestamp: string | undefined;
  if (options.timestampHeader) {
    timestamp = firstHeader(headers, options.timestampHeader)?.trim();
    if (!timestamp || !/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > options.toleranceSeconds) {
      throw new CallstreamError('RCV_SIGNATURE_EXPIRED', `Header ${options.timestampHeader} must hold a Unix time within ${options.toleranceSeconds} s of now.`);
    }
  }
  const matched = signedWith(options.secrets, given, body, options.encoding, timestamp);
  if (matched === 0) throw signatureInvalid();
  return matched;
}

type HmacVendor = Extract<TelephonyVendor, { scheme: 'hmac-sha256' }>;

/**
 * The generic scheme most providers use: a header (optionally prefixed, e.g. "sha256=")
 * carrying the HMAC-SHA256 of the exact body bytes. The same computation as the Callaro route's.
 */
export function verifyVendorHmac(vendor: HmacVendor, request: SignedRequest): number {
  const value = singleHeader(request, vendor.header).trim();
  if (!value.startsWith(vendor.prefix)) throw signatureInvalid(`Expected the ${vendor.header} header to start with "${vendor.prefix}".`);
  const matched = signedWith(vendor.secrets, value.slice(vendor.prefix.length), request.body, vendor.encoding);
  if (matched === 0) throw signatureInvalid(`The ${vendor.header} header is not the HMAC-SHA256 (${vendor.encoding}) of the body under any configured secret.`);
  return matched;
}
