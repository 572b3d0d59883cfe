import { InvalidArgumentError } from 'commander';
import { ErrorCodes, isCallstreamError, type ErrorCode } from '../errors.js';
import { parseOffsets } from '../replay/plan.js';

/**
 * A user's mistake on the command line is not an error of ours: it gets one line naming it and
 * the way to the help, exit 2, never a stack. These are the value parsers of the options and
 * the wording of that line.
 */
export const USAGE_EXIT = 2;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * An ISO 8601 time. Stricter than `new Date()`, which takes "5" for the year 2005: a replay from a
 * mistyped time would rewind far more than meant.
 */
export function isoTime(value: string): Date {
  const at = new Date(value);
  if (!ISO_TIME.test(value.trim()) || Number.isNaN(at.getTime()) || !isCalendarDate(value.trim().slice(0, 10))) {
    throw new InvalidArgumentError('expected an ISO time such as 2026-11-27T09:00:00Z');
  }
  return at;
}

/** `new Date()` rolls 2026-02-30 over to March 2nd; a mistyped day is refused instead. */
function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

const DURATION = /^(\d{1,6})\s*(m|min|h|d)$/i;
const UNIT_MS: Record<string, number> = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A time: a span back from now (`90m`, `24h`, `7d`) or an ISO time. */
export function sinceTime(value: string, now = Date.now()): Date {
  const span = DURATION.exec(value.trim());
  if (span) return new Date(now - Number(span[1]) * UNIT_MS[span[2].toLowerCase()]);
  try {
    return isoTime(value);
  } catch {
    throw new InvalidArgumentError('expected a span back from now such as 90m, 24h or 7d, or an ISO time such as 2026-11-27T09:00:00Z');
  }
}

/** A whole number of at least 1. */
export function positiveInt(value: string): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** The call_gaps kinds, comma-separated; a copy of GAP_KINDS (test/unit/cli/usage.test.ts keeps it equal), not to load the warehouse's views into every CLI start. */
export const GAP_KIND_NAMES = ['unreported', 'no_provider', 'stuck'] as const;

export function gapKinds(value: string): Array<(typeof GAP_KIND_NAMES)[number]> {
  const kinds = value.split(',').map((k) => k.trim()).filter(Boolean);
  const unknown = kinds.filter((k) => !(GAP_KIND_NAMES as readonly string[]).includes(k));
  if (kinds.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`expected one or more of ${GAP_KIND_NAMES.join(', ')}${unknown.length > 0 ? `; no such kind ${unknown.join(', ')}` : ''}`);
  return [...new Set(kinds)] as Array<(typeof GAP_KIND_NAMES)[number]>;
}

/** "0:120,3:0": partition -> offset, with replay's own parser. */
export function offsets(value: string): Map<number, string> {
  try {
    return parseOffsets(value);
  } catch (err) {
    if (isCallstreamError(err, 'CFG_INVALID')) throw new InvalidArgumentError(err.message.replace(/^--offsets: /, ''));
    throw err;
  }
}

/**
 * The refusals replay-raw may reconsider: REPLAYABLE_CODES of src/replay/raw-replay.ts, copied
 * because importing that module would load the whole receiver into every CLI start, --help
 * included. test/unit/cli/usage.test.ts keeps the copy equal to the original.
 */
export const REPLAYABLE_CODES: readonly ErrorCode[] = [
  'RCV_SCHEMA_INVALID',
  'RCV_MALFORMED_JSON',
  'RCV_NOT_AN_OBJECT',
  'RCV_UNSUPPORTED_MEDIA_TYPE',
  'RCV_NESTING_TOO_DEEP',
  'RCV_NUL_CHARACTER',
  'RCV_UNSTORABLE_VALUE',
  'RCV_RECORD_TOO_LARGE',
];

/**
 * Error codes, comma-separated. A code that does not exist is a typo (a usage error); whether an
 * existing one may be replayed is replay-raw's rule, a refusal (CFG_INVALID, exit 1): see definitions/replay-raw.ts.
 */
export function errorCodes(value: string): ErrorCode[] {
  const codes = value.split(',').map((c) => c.trim()).filter(Boolean);
  if (codes.length === 0) throw new InvalidArgumentError(`expected one or more of ${REPLAYABLE_CODES.join(', ')}`);
  const unknown = codes.filter((c) => !(c in ErrorCodes));
  if (unknown.length > 0) throw new InvalidArgumentError(`no such code ${unknown.join(', ')}; replayable: ${REPLAYABLE_CODES.join(', ')}`);
  return codes as ErrorCode[];
}

/** Error codes, comma-separated, any that exists (what a dead letter may carry). */
export function anyErrorCodes(value: string): ErrorCode[] {
  const codes = [...new Set(value.split(',').map((c) => c.trim()).filter(Boolean))];
  const unknown = codes.filter((c) => !(c in ErrorCodes));
  if (codes.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`expected error codes such as SINK_ROW_REJECTED${unknown.length > 0 ? `; no such code ${unknown.join(', ')}` : ''}`);
  return codes as ErrorCode[];
}

/**
 * Commander's error message as one line: `callstream replay: unknown option '--form' (did you
 * mean --from?); see callstream replay --help`.
 */
export function usageLine(commandPath: string, message: string): string {
  const text = message
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\(Did you mean/, ' (did you mean')
    .replace(/^option '(-[^ ',]+, )?(--[^ ']+)[^']*' argument '(.*)' is invalid\. /s, "$2 '$3' is not valid: ")
    .replace(/^option '(-[^ ',]+, )?(--[^ ']+) ([^']*)' argument missing$/, '$2 needs a value ($3)')
    .replace(/\. Expected /, ': expected ')
    .replace(/\.$/, '')
    .replace(/\s*\n\s*/g, '; ');
  return `${commandPath}: ${text}; see ${commandPath} --help`;
}

/** A count of records: a whole number, 0 or more. */
export function count(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

/** A duration in seconds (fractions allowed), within [min, max]. */
export function seconds(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected seconds from ${min} to ${max}`);
    return n;
  };
}

/** An http(s) base URL such as http://127.0.0.1:8080, without a trailing slash. */
export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an http(s) URL such as http://127.0.0.1:8080');
  }
  if (!/^https?:$/.test(url.protocol) || url.search || url.hash) throw new InvalidArgumentError('expected an http(s) URL such as http://127.0.0.1:8080');
  return url.toString().replace(/\/+$/, '');
}
