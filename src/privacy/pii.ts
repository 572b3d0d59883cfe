import { createHmac } from 'node:crypto';
import type { Config } from '../config/index.js';
import { PHONE_COLUMNS } from '../families/index.js';
import type { Row, TableSpec } from '../warehouse/index.js';

/**
 * Personal data on its way into the warehouse (CALLSTREAM_PII_MODE): the one place where a
 * row's phone numbers are replaced by their keyed hashes and configured JSON paths are
 * hashed or dropped. It runs on every row the sink builds, so live writes, replays and
 * `replay-raw` give the same rows on either warehouse. The topics keep what was sent.
 */

/** A phone number in E.164: a string that is wholly one is hashed wherever it appears (a JSON value, an id column). */
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Columns that hold a number whatever its format ("anonymous", digits without +): the families'
 * phone-number columns (src/families/), e.g. from_e164, to_e164, number_e164.
 */
const NUMBER_COLUMNS: readonly string[] = Object.keys(PHONE_COLUMNS);
/** Where each number column's last four digits go (either mode), e.g. from_e164 -> from_last4. */
const LAST4_COLUMN: Readonly<Record<string, string>> = PHONE_COLUMNS;

/** The callbacks' `fields` that hold numbers (Twilio's names; Plivo, Vonage and Telnyx use From/To too). */
export const CALLBACK_NUMBER_FIELDS = ['From', 'To', 'Caller', 'Called', 'ForwardedFrom'] as const;

/** JSON columns whose configured paths are hashed or dropped; the payload's copies of the first three are too. */
const PATH_COLUMNS = ['extracted_data', 'runtime_vars', 'tool_calls', 'fields'] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Action = 'hash' | 'drop';
interface PathRule {
  action: Action;
  column: string;
  keys: string[];
}

/** The last four digits of a number; null when it has fewer than four. */
export function lastFour(number: string): string | null {
  const digits = number.replace(/\D/g, '');
  return digits.length >= 4 ? digits.slice(-4) : null;
}

/** How the sink protects personal data in rows: built once from the configuration. */
export class PiiPolicy {
  private readonly rules: PathRule[];

  private constructor(
    readonly mode: 'clear' | 'hash',
    private readonly key: string | undefined,
    readonly keyId: string,
    hashPaths: readonly string[],
    dropPaths: readonly string[],
  ) {
    const rule = (action: Action) => (path: string): PathRule => {
      const [column, ...keys] = path.split('.');
      return { action, column, keys };
    };
    this.rules = [...dropPaths.map(rule('drop')), ...hashPaths.map(rule('hash'))];
  }

  /** The policy of CALLSTREAM_PII_*; loadConfig has checked that hash mode has a long enough key. */
  static fromConfig(config: Pick<Config, 'piiMode' | 'piiHashKey' | 'piiHashKeyId' | 'piiHashPaths' | 'piiDropPaths'>): PiiPolicy {
    return new PiiPolicy(config.piiMode, config.piiHashKey, config.piiHashKeyId, config.piiHashPaths ?? [], config.piiDropPaths ?? []);
  }

  /** Keyed HMAC-SHA256 of a value, named by the key's id: `k1:<64 hex>`. Same value, same key: same hash. */
  hash(value: string): string {
    if (this.key === undefined) throw new Error('PiiPolicy.hash needs CALLSTREAM_PII_HASH_KEY');
    return `${this.keyId}:${createHmac('sha256', this.key).update(value, 'utf8').digest('hex')}`;
  }

  /** How a number is stored (and so how to look it up): itself in clear mode, its hash in hash mode. */
  storedNumber(number: string): string {
    return this.mode === 'hash' ? this.hash(number) : number;
  }

  /** The row as the warehouse gets it. The input row is not changed. */
  protect(spec: TableSpec, row: Row): Row {
    const out: Row = { ...row };
    const numbers = new Set<string>();
    for (const column of NUMBER_COLUMNS) {
      const value = out[column];
      if (!(column in out)) continue;
      out[LAST4_COLUMN[column]] = typeof value === 'string' ? lastFour(value) : null;
      if (typeof value === 'string') numbers.add(value);
    }
    const hashing = this.mode === 'hash';
    // Clear mode without path rules changes nothing but the last four digits (the common case).
    if (!hashing && this.rules.length === 0) return out;
    for (const c of spec.columns) {
      const value = out[c.name];
      if (typeof value !== 'string') continue;
      if (c.type === 'JSON') out[c.name] = this.protectJson(c.name, value, numbers);
      else if (hashing && (NUMBER_COLUMNS.includes(c.name) || E164.test(value) || numbers.has(value))) out[c.name] = this.hash(value);
    }
    // The body as sent holds the numbers in the clear, in whatever form the provider chose; fields has them parsed (and hashed).
    if (hashing && 'raw_body' in out) out.raw_body = '';
    return out;
  }

  /** A JSON column's text with configured paths dropped or hashed and, in hash mode, every number hashed. */
  private protectJson(column: string, text: string, numbers: ReadonlySet<string>): string {
    const rules = this.rulesFor(column);
    if (this.mode === 'clear' && rules.length === 0) return text;
    let value = JSON.parse(text) as Json;
    for (const { action, keys } of rules) value = this.applyPath(value, keys, action);
    if (this.mode === 'hash') value = this.hashNumbers(value, numbers, column === 'fields');
    return JSON.stringify(value);
  }

  /** The rules that reach into a column: its own, and for payload the ones of the columns it holds a copy of. */
  private rulesFor(column: string): Array<{ action: Action; keys: string[] }> {
    if (column === 'payload') return this.rules.filter((r) => r.column !== 'fields').map((r) => ({ action: r.action, keys: [r.column, ...r.keys] }));
    return PATH_COLUMNS.includes(column as never) ? this.rules.filter((r) => r.column === column) : [];
  }

  private applyPath(value: Json, keys: readonly string[], action: Action): Json {
    if (value === null || typeof value !== 'object') return value;
    const [first, ...rest] = keys;
    const matches = (key: string) => first === '*' || first === key;
    const apply = (key: string, child: Json): Json | undefined => {
      if (!matches(key)) return child;
      if (rest.length > 0) return this.applyPath(child, rest, action);
      return action === 'drop' ? undefined : this.hash(typeof child === 'string' ? child : JSON.stringify(child));
    };
    if (Array.isArray(value)) return value.map((child, i) => apply(String(i), child)).filter((child): child is Json => child !== undefined);
    // Rebuilt with fromEntries, never assigned: a "__proto__" key stays an own key.
    return Object.fromEntries(Object.entries(value).flatMap(([key, child]) => {
      const kept = apply(key, child);
      return kept === undefined ? [] : [[key, kept]];
    }));
  }

  /** Every string that is an E.164 number or one of the row's numbers, and the callbacks' number fields, hashed. */
  private hashNumbers(value: Json, numbers: ReadonlySet<string>, isCallbackFields: boolean): Json {
    if (typeof value === 'string') return E164.test(value) || numbers.has(value) ? this.hash(value) : value;
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((child) => this.hashNumbers(child, numbers, false));
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => {
        const numberField = isCallbackFields && CALLBACK_NUMBER_FIELDS.includes(key as never);
        if (numberField && typeof child === 'string') return [key, this.hash(child)];
        if (numberField && Array.isArray(child)) return [key, child.map((c) => (typeof c === 'string' ? this.hash(c) : c))];
        return [key, this.hashNumbers(child, numbers, false)];
      }),
    );
  }
}
