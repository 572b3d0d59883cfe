import { z } from 'zod';
import { isStorableTime } from './storable-time.js';

/**
 * The contract of the events Callaro sends (Callaro's webhook documentation; what callstream
 * relies on, event by event, is in docs/data.md and docs/integration.md): its families, and the
 * fields their schemas are built of. Each family's own schema is in its descriptor,
 * src/families/<family>.ts.
 *
 * Validation is deliberately lenient about what the sender may add later: unknown
 * fields pass through untouched (they stay in the stored payload), and so do new
 * event names inside a known family. What must hold is what the pipeline keys on.
 */

/** Callaro's event families; each one's descriptor (prefixes, zod schema, key rule, table, ...) is src/families/<family>.ts. */
export const FAMILIES = ['call', 'campaign', 'compliance'] as const;
export type Family = (typeof FAMILIES)[number];

const MAX_ID = 256;

const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Text that UTF-8 can carry. JSON may escape a lone surrogate (\ud800); stored as Avro
 * (UTF-8) it would silently become U+FFFD, so it is refused rather than stored wrong.
 */
const text = () => z.string().refine((s) => !LONE_SURROGATE.test(s), 'expected well-formed Unicode text (no lone surrogate)');

/** An id that may arrive as a string or an integer; kept as a string. */
export const stringId = z.union([text().min(1).max(MAX_ID), z.number().int().safe().transform(String)]);

/**
 * An integer id (tenant_id, agent_id, voice_session_id). Integers beyond 2^53 would
 * lose precision in JSON.parse, so they are refused (send them as strings of digits
 * within the safe range) instead of being stored wrong.
 */
const SAFE_INTEGER = 'expected an integer within ±(2^53-1); larger values lose precision in JSON and are refused rather than stored wrong';
export const integerId = z.union([
  z.number().refine(Number.isSafeInteger, SAFE_INTEGER),
  z.string().regex(/^-?\d{1,16}$/, 'expected an integer or a string of digits').transform(Number).refine(Number.isSafeInteger, SAFE_INTEGER),
]);

/** A short text field (names, numbers, directions). */
export const shortText = text().max(1024);
const isoTime = z.iso
  .datetime({ offset: true })
  .refine((text) => isStorableTime(Date.parse(text)), 'expected a time from 0001-01-01 to 9999-12-31 (the range a warehouse TIMESTAMP holds)');

/**
 * Deepest nesting of a JSON column (extracted_data, runtime_vars, tool_calls): one level
 * below BigQuery's limit of 500 for JSON values, since the payload column holds the whole
 * body, one level up. The receiver refuses deeper bodies before parsing gets here
 * (MAX_BODY_DEPTH); this keeps the event contract true on its own for any other caller.
 */
export const MAX_JSON_DEPTH = 499;
const TOO_DEEP = `expected JSON nested at most ${MAX_JSON_DEPTH} levels deep`;

function nestsAtMost(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return levels > 0 && Object.values(value).every((child) => nestsAtMost(child, levels - 1));
}

/**
 * A JSON object column, passed through as parsed. z.record would rebuild it, and its copy
 * drops a "__proto__" key (an assignment sets the prototype instead), so the stored column
 * would differ from what was sent.
 */
export const jsonObject = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'Invalid input: expected an object')
  .refine((v) => nestsAtMost(v, MAX_JSON_DEPTH), TOO_DEEP);
/** A JSON array column (tool_calls), passed through as parsed. */
export const jsonArray = z.array(z.unknown()).refine((v) => nestsAtMost(v, MAX_JSON_DEPTH), TOO_DEEP);

/** The fields every family's events share; a family's schema spreads them and narrows `event` to its prefixes. */
export const commonFields = {
  event: z.string().min(1).max(128),
  tenant_id: integerId.nullish(),
  occurred_at: isoTime.nullish(),
};
