import type { FieldProblem } from '../events/index.js';

/** More problems than this in one body are not listed (the answer stays small). */
const MAX_PROBLEMS = 10;

/**
 * Finds the values in a JSON text that no warehouse column can store as sent, with their
 * paths ("extracted_data.n", "tool_calls.3.args"), so the receiver refuses them at the door
 * (422) instead of acknowledging a record the sink could never write:
 *
 * - a lone UTF-16 surrogate (`"\ud800"`) in a string or a key: DuckDB's JSON type refuses
 *   it ("no low surrogate"), BigQuery's PARSE_JSON too, and Avro strings cannot carry it;
 * - a number literal a double does not hold exactly: non-finite ones (`1e400` parses to
 *   Infinity), ones that underflow (`1e-400` parses to 0), and integers or decimals with more
 *   digits than a double keeps (`12345678901234567890123`). JSON.parse would change them
 *   silently, and BigQuery's PARSE_JSON refuses them (its default wide_number_mode 'exact').
 *
 * The text must be valid JSON (JSON.parse accepted it). One pass, no recursion: a body at
 * the nesting limit costs no stack.
 */
export function unstorableValues(text: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  // Per open container: an array's next index, or an object's current key (as raw JSON text).
  const path: Array<{ index: number } | { key: string | undefined; expectKey: boolean }> = [];
  const report = (message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ path: pathText(path), message });
  };
  for (let i = 0; i < text.length && problems.length < MAX_PROBLEMS; ) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const raw = text.slice(i, end);
      const top = path[path.length - 1];
      const isKey = top !== undefined && 'expectKey' in top && top.expectKey;
      if (isKey) {
        top.key = raw;
        top.expectKey = false;
      }
      // Only an escape can make a lone surrogate: the text came from valid UTF-8.
      if (raw.includes('\\u') && LONE_SURROGATE.test(JSON.parse(raw) as string)) {
        report(isKey ? 'the key holds a lone UTF-16 surrogate (e.g. "\\ud800"), which no warehouse stores' : 'a lone UTF-16 surrogate (e.g. "\\ud800"), which no warehouse stores');
      }
      i = end;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      let end = i + 1;
      while (end < text.length && NUMBER_CHARS.has(text.charCodeAt(end))) end++;
      const literal = text.slice(i, end);
      const problem = numberProblem(literal);
      if (problem) report(problem);
      i = end;
    } else {
      if (c === OPEN_OBJECT) path.push({ key: undefined, expectKey: true });
      else if (c === OPEN_ARRAY) path.push({ index: 0 });
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) path.pop();
      else if (c === COMMA) {
        const top = path[path.length - 1];
        if ('index' in top) top.index++;
        else top.expectKey = true;
      }
      i++;
    }
  }
  return problems;
}

/** Why a JSON number literal cannot be stored as sent; undefined when a double holds it exactly. */
export function numberProblem(literal: string): string | undefined {
  if (SAFE_INTEGER.test(literal)) return undefined; // the common case, exact by construction
  const value = Number(literal);
  if (!Number.isFinite(value)) return `the number ${shorten(literal)} is out of range (it would become ${value}); no JSON column stores it`;
  if (decimalKey(literal) !== decimalKey(String(value))) {
    return `the number ${shorten(literal)} has more precision than a JSON column keeps (it would become ${value}); send it as a string`;
  }
  return undefined;
}

/** A decimal number's canonical form: sign, significant digits without zeros at either end, exponent. */
function decimalKey(literal: string): string {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!match) return literal;
  const [, sign, int, frac = '', exp = '0'] = match;
  let digits = `${int}${frac}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let exponent = BigInt(exp) - BigInt(frac.length);
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += BigInt(trailing);
  return `${sign}${digits}e${exponent}`;
}

/** Index just past the closing quote of the string starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote < 0) return text.length;
    let backslashes = 0;
    for (let j = quote - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}

function pathText(path: ReadonlyArray<{ index: number } | { key: string | undefined }>): string {
  const parts = path.map((p) => ('index' in p ? String(p.index) : p.key === undefined ? '' : keyText(p.key)));
  return parts.filter((p) => p !== '').join('.') || '(root)';
}

/** A key for the path: decoded, with lone surrogates shown as their escape so the answer stays valid UTF-8. */
function keyText(raw: string): string {
  const key = JSON.parse(raw) as string;
  return shorten(key.replace(LONE_SURROGATES, '\ufffd'));
}

function shorten(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

/** With the u flag a surrogate pair is one code point: \p{Cs} matches only a lone surrogate. */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;
/** Integers a double holds exactly however they are written: up to 15 digits. */
const SAFE_INTEGER = /^-?(?:0|[1-9]\d{0,14})$/;
const NUMBER_CHARS = new Set([...'0123456789+-.eE'].map((c) => c.charCodeAt(0)));
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
