import type { IncomingHttpHeaders } from 'node:http';
import { CallstreamError } from '../../errors.js';

/** What a verifier looks at: the exact bytes and the request as it arrived. */
export interface SignedRequest {
  /** The request target as received: path and query (the public URL is the vendor's base plus this). */
  target: string;
  headers: IncomingHttpHeaders;
  /** The raw body, never re-serialized: signatures cover these bytes. */
  body: Buffer;
  format: 'form' | 'json';
}

/** The refusal of every verifier; the reason helps an integrator fix their setup (it never contains a secret). */
export function signatureInvalid(reason: string): CallstreamError {
  return new CallstreamError('RCV_SIGNATURE_INVALID', reason);
}

/** The one value of a header; a header sent twice is refused rather than guessed at. */
export function singleHeader(request: SignedRequest, name: string): string {
  const value = request.headers[name];
  if (Array.isArray(value)) throw signatureInvalid(`Expected one ${name} header, got ${value.length}.`);
  if (!value) throw signatureInvalid(`Missing the ${name} header.`);
  return value;
}
