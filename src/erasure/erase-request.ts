import { z } from 'zod';
import { CallstreamError } from '../errors.js';
import { E164_SUBJECT, ID_SUBJECT, TENANT_SUBJECT, type ErasureSubject } from './erasure.js';

/** What `callstream erase` asks a running pipeline for, on its query socket: checked as strictly as the CLI checks its options. */
const eraseRequest = z
  .object({
    subject: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('phone'), value: z.string().regex(E164_SUBJECT, 'expected an E.164 number: a + and 7 to 15 digits, e.g. +14155550100') }).strict(),
      z.object({ kind: z.literal('call'), value: z.string().regex(ID_SUBJECT, 'expected a call id: 1 to 256 letters, digits and . _ : @ + -') }).strict(),
      z.object({ kind: z.literal('tenant'), value: z.string().regex(TENANT_SUBJECT, 'expected a tenant id: an integer, as a string') }).strict(),
    ]),
    /** Required: a request that does not say whether it is a dry run erases nothing. */
    dryRun: z.boolean(),
  })
  .strict();

export interface EraseRequest {
  subject: ErasureSubject;
  dryRun: boolean;
}

/**
 * The erase request in a body (JSON text), or ERASE_REQUEST_INVALID (400) whose
 * details.issues name each problem by path, e.g. `subject.value`.
 */
export function parseEraseRequest(body: string): EraseRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw invalid([{ path: '', message: `not JSON: ${(err as Error).message}` }]);
  }
  const parsed = eraseRequest.safeParse(json);
  if (!parsed.success) throw invalid(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  return parsed.data;
}

function invalid(issues: Array<{ path: string; message: string }>): CallstreamError {
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new CallstreamError('ERASE_REQUEST_INVALID', `Expected {"subject": {"kind": "phone"|"call"|"tenant", "value": "…"}, "dryRun": true|false}; ${summary}`, { details: { issues } });
}
