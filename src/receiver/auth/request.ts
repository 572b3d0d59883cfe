import type { IncomingHttpHeaders } from 'node:http';
import { CallstreamError } from '../../errors.js';

/**
 * What every verifier looks at: the exact bytes and the request as it arrived. Every
 * verifier fails the same way, by throwing a CallstreamError (the route answers it), and on
 * success returns which of its secrets matched (1 = the first configured): the audit record's
 * verified_by.
 */
export interface SignedRequest {
  /** The request target as received: path and query (the public URL is the vendor's base plus this). */
  target: string;
  headers: IncomingHttpHeaders;
  /** The raw body, never re-serialized: signatures cover these bytes. */
  body: Buffer;
  /** How the body was sent (Twilio signs form and JSON bodies differently). */
  format: 'form' | 'json';
}

/** The refusal of a signature or token that does not verify; the reason helps an integrator fix their setup (it never contains a secret). */
export function signatureInvalid(reason?: string): CallstreamError {
  return new CallstreamError('RCV_SIGNATURE_INVALID', reason);
}

/** The one value of a header; a header sent twice is refused rather than guessed at. */
export function singleHeader(request: SignedRequest, name: string): string {
  const value = request.headers[name];
  if (Array.isArray(value)) throw signatureInvalid(`Expected one ${name} header, got ${value.length}.`);
  if (!value) throw signatureInvalid(`Missing the ${name} header.`);
  return value;
}

/** The first value of a header (Callaro's own checks take the first of repeated headers). */
export function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Which secret matches (1 = the first configured), or 0 for none. */
export function matchingSecret(secrets: readonly string[], matches: (secret: string) => boolean): number {
  return secrets.findIndex(matches) + 1;
}
