import type { NastyClass } from './options.js';
import type { HttpRequestSpec } from './payloads.js';

/** A delivery of a schedule: the request, the answer it must get, and the row it writes. */

/** What the receiver must answer (the final answer, after retries of 503 and lost connections). */
export interface Expectation {
  status: number;
  code?: string;
  /** error.details.fields[0].path, exactly or (for a key holding a surrogate) by prefix. */
  path?: string;
  pathPrefix?: string;
}

export interface Op {
  id: number;
  /** Compact description for the trace, e.g. `call.completed c7 v2 dup`. */
  label: string;
  /**
   * The row this delivery writes when accepted: table and key columns joined by "/" (see
   * StoredRow in observe.ts). Ops of one key are sent one after another, so the order in
   * which they arrive is the order of the schedule; only a `concurrent` duplicate (the same
   * bytes) goes out alongside the delivery before it.
   */
  key?: string;
  request: HttpRequestSpec;
  expect: Expectation;
  nasty?: NastyClass;
  /** A duplicate sent alongside the key's previous delivery (the same bytes) instead of after it. */
  concurrent?: boolean;
}

export const ACCEPTED: Expectation = { status: 202 };

export const callKey = (callId: string, event: string) => `call_events/${callId}/${event}`;
export const campaignKey = (id: string, event: string) => `campaign_events/${id}/${event}`;
export const complianceKey = (subject: string, event: string) => `compliance_events/${subject}/${event}`;
export const callbackKey = (vendor: string, id: string, status: string) => `telephony_callbacks/${vendor}/${id}/${status}`;

/** A delivery before it has its place (id) in the schedule. */
export type Draft = Omit<Op, 'id'>;
