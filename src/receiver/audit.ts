import type { IncomingHttpHeaders } from 'node:http';
import type { Flow } from '../config/index.js';

/** Headers whose values are credentials or signatures: kept as "[redacted]" in the audit record. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'x-callaro-signature',
  'x-twilio-signature',
  'webhook-signature',
]);

export const REDACTED = '[redacted]';

/**
 * Flattens and redacts request headers for the audit record. `alsoSecret` names more
 * headers to redact (lower-case): those a route's configuration makes credentials, such
 * as a vendor's own signature header.
 */
export function auditHeaders(headers: IncomingHttpHeaders, alsoSecret: ReadonlySet<string> = new Set()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const secret = SECRET_HEADERS.has(name) || alsoSecret.has(name);
    out[name] = secret ? REDACTED : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** The audit topic's record (schemas/raw-request.v2.avsc; v1 lacks verified_by). */
export interface RawRequestRecord {
  request_id: string;
  received_at: number;
  flow: Flow;
  method: string;
  path: string;
  remote_address: string | null;
  headers: Record<string, string>;
  body: Buffer;
  truncated: boolean;
  status: number;
  error_code: string | null;
  event_key: string | null;
  /** What verified the sender (e.g. "bearer #1", "twilio-main: twilio #2"); null when nothing was checked or the check failed. */
  verified_by: string | null;
}
