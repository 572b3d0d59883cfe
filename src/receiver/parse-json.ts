import { CallstreamError } from '../errors.js';
import { unstorableValues } from './storable-json.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Deeper JSON is refused before validation: BigQuery stores JSON values nested at most 500
 * levels (the payload column holds the whole body), and recursive code further on (JSON.stringify)
 * would overflow the stack on hostile depth.
 */
export const MAX_BODY_DEPTH = 500;

/** True for application/json and application/*+json, with any parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * Decodes a body as UTF-8 JSON whose top level is an object. A leading BOM is
 * dropped (RFC 8259 allows ignoring it); invalid UTF-8 is refused, not replaced; so are
 * values no warehouse column stores as sent (see unstorableValues).
 */
export function parseJsonObject(bytes: Buffer): { text: string; value: Record<string, unknown> } {
  if (bytes.length === 0) throw new CallstreamError('RCV_EMPTY_BODY');
  let text: string;
  try {
    text = utf8.decode(bytes); // drops a leading BOM
  } catch (cause) {
    throw new CallstreamError('RCV_MALFORMED_JSON', 'The body is not valid UTF-8.', { cause });
  }
  if (text.trim() === '') throw new CallstreamError('RCV_EMPTY_BODY');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CallstreamError('RCV_MALFORMED_JSON', `The body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new CallstreamError('RCV_NOT_AN_OBJECT', `Expected a JSON object at the top level, got ${got}.`);
  }
  checkStructure(value);
  const unstorable = unstorableValues(text);
  if (unstorable.length > 0) throw new CallstreamError('RCV_UNSTORABLE_VALUE', undefined, { details: { fields: unstorable } });
  return { text, value: value as Record<string, unknown> };
}

/**
 * Refuses nesting deeper than MAX_BODY_DEPTH and NUL characters in strings or keys (they
 * break downstream text columns). Iterative, so hostile depth cannot overflow the stack.
 */
function checkStructure(root: unknown): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) throw new CallstreamError('RCV_NUL_CHARACTER');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_BODY_DEPTH) throw new CallstreamError('RCV_NESTING_TOO_DEEP', `The JSON nests deeper than ${MAX_BODY_DEPTH} levels.`);
    for (const [key, child] of Object.entries(value)) {
      if (key.includes('\u0000')) throw new CallstreamError('RCV_NUL_CHARACTER');
      stack.push([child, depth + 1]);
    }
  }
}
