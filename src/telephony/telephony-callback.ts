import type { CallbackFieldNames } from '../config/index.js';
import { isStorableTime, type FieldProblem } from '../events/index.js';

/**
 * The contract of the second flow: callbacks that telephony, billing and integration
 * providers send to POST /api/v1/webhooks/telephony/{vendor_slug}. Unlike Callaro's
 * events there is no common schema across providers, so validation asks only for what
 * the pipeline keys on (the provider call id and the status), found under the field
 * names the vendor's configuration gives; every field is kept as sent.
 */

/** The body's fields: form values (strings, arrays for repeated names) or a JSON object. */
export type CallbackFields = Record<string, unknown>;

/** Ids longer than this are refused: they become Kafka keys and warehouse key columns. */
const MAX_CALL_ID = 256;
const MAX_STATUS = 128;

/** An epoch number below this is taken as seconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const EPOCH_SECONDS_BELOW = 1e11;

export interface NormalizedCallback {
  providerCallId: string;
  callbackStatus: string;
  /** The value Callaro records as call_sid (null when the vendor's callSidField is absent). */
  callSid: string | null;
  occurredAt: number | null;
}

export type CallbackResult = { ok: true; value: NormalizedCallback } | { ok: false; problems: FieldProblem[] };

/** The topic's record (schemas/telephony-callback.v1.avsc). */
export interface TelephonyCallbackRecord {
  request_id: string;
  received_at: number;
  vendor_slug: string;
  content_type: string;
  provider_call_id: string;
  callback_status: string;
  call_sid: string | null;
  occurred_at: number | null;
  fields: string;
  raw_body: Buffer;
}

/**
 * A field by its exact name, else by a dotted path into nested JSON objects (for
 * providers that nest, e.g. "data.payload.call_id"). Only own properties count, so a
 * field named "constructor" is never found on the prototype.
 */
export function fieldAt(fields: CallbackFields, name: string): unknown {
  if (Object.hasOwn(fields, name)) return fields[name];
  let current: unknown = fields;
  for (const part of name.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** A non-empty scalar as text (JSON ids may be numbers); anything else is absent. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * A provider's event time: ISO 8601, RFC 2822 (Twilio's Timestamp) or epoch seconds or
 * milliseconds. A time that does not parse, or that no warehouse holds, is left out rather than refused: the
 * callback is still worth keeping, and its event_time falls back to the receipt time.
 */
export function parseProviderTime(value: unknown): number | null {
  const ms = providerTime(value);
  return ms !== null && isStorableTime(ms) ? ms : null; // a time no warehouse holds is left out too
}

function providerTime(value: unknown): number | null {
  const epoch = (n: number) => Math.round(n < EPOCH_SECONDS_BELOW ? n * 1000 : n);
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? epoch(value) : null;
  if (typeof value !== 'string' || value.trim() === '') return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return epoch(Number(value));
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** Finds the call id, status, call_sid and event time under the vendor's field names. */
export function normalizeCallback(fields: CallbackFields, names: CallbackFieldNames): CallbackResult {
  const problems: FieldProblem[] = [];
  const providerCallId = scalarText(fieldAt(fields, names.callId));
  if (providerCallId === undefined || providerCallId.length > MAX_CALL_ID) {
    problems.push({ path: names.callId, message: `expected the provider call id: a non-empty string of at most ${MAX_CALL_ID} characters` });
  }
  const statusField = names.status.find((name) => scalarText(fieldAt(fields, name)) !== undefined);
  const callbackStatus = statusField === undefined ? undefined : scalarText(fieldAt(fields, statusField));
  if (callbackStatus === undefined || callbackStatus.length > MAX_STATUS) {
    problems.push({ path: names.status.join(' | '), message: `expected the callback status (at most ${MAX_STATUS} characters) in ${names.status.map((n) => `"${n}"`).join(' or ')}` });
  }
  if (problems.length > 0) return { ok: false, problems };
  const callSid = names.callSid === names.callId ? providerCallId! : (scalarText(fieldAt(fields, names.callSid)) ?? null);
  return { ok: true, value: { providerCallId: providerCallId!, callbackStatus: callbackStatus!, callSid, occurredAt: parseProviderTime(fieldAt(fields, names.time)) } };
}

/** The record published for a verified, valid callback. */
export function toCallbackRecord(input: {
  requestId: string;
  receivedAt: number;
  vendorSlug: string;
  contentType: string;
  fields: CallbackFields;
  rawBody: Buffer;
  callback: NormalizedCallback;
}): TelephonyCallbackRecord {
  return {
    request_id: input.requestId,
    received_at: input.receivedAt,
    vendor_slug: input.vendorSlug,
    content_type: input.contentType,
    provider_call_id: input.callback.providerCallId,
    callback_status: input.callback.callbackStatus,
    call_sid: input.callback.callSid,
    occurred_at: input.callback.occurredAt,
    fields: JSON.stringify(input.fields),
    raw_body: input.rawBody,
  };
}
