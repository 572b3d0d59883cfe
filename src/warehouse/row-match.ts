import type { Row } from './tables.js';

/**
 * Which rows an erasure is about, as data: each condition names a column (or a key inside a
 * JSON column) and the values it must hold; a row matches when any one condition does. The
 * same match deletes rows in SQL (matchSql, on either warehouse) and keeps the sink from
 * writing them again (rowMatches), so the two can never disagree.
 */
export type Condition = Place & {
  in: ReadonlyArray<string | number>;
  /** Set: the row must also name no other owner (e.g. `tenant_id` null or one of these). */
  owner?: OwnerGuard;
};

/** Where a condition looks: a column, or a string (or an array holding one) at any of these top-level keys of a JSON column. */
export type Place = { column: string } | { json: string; keys: readonly string[] };

/**
 * Narrows a condition to the rows of one owner: those whose `column` is null (they name none,
 * so they cannot be told apart) or holds one of `in`. A call id of one tenant is not the same
 * call as that id in another tenant's row.
 */
export interface OwnerGuard {
  column: string;
  in: readonly number[];
}

/** Rows matching any one of the conditions (none: no row). */
export type RowMatch = readonly Condition[];

/** Key names are written into SQL: only plain ones are accepted. */
const PLAIN_KEY = /^[A-Za-z0-9_]+$/;

/**
 * A match as a test of rows as the sink builds them, each list turned into a Set once:
 * the sink asks for every row it writes.
 */
export function compileMatch(match: RowMatch): (row: Row) => boolean {
  const tests = match
    .filter((c) => c.in.length > 0)
    .map((c): ((row: Row) => boolean) => {
      const values = new Set<unknown>(c.in);
      const owner = c.owner && new Set<unknown>(c.owner.in);
      const owned = (row: Row) => !c.owner || row[c.owner.column] == null || owner!.has(row[c.owner.column]);
      if ('column' in c) return (row) => values.has(row[c.column]) && owned(row);
      return (row) => jsonKeys(row[c.json], c.keys).some((v) => typeof v === 'string' && values.has(v)) && owned(row);
    });
  return (row) => tests.some((test) => test(row));
}

/** The values of a row at a place: the column's value, or the strings at the JSON keys. */
export function valuesAt(place: Place, row: Row): unknown[] {
  return 'column' in place ? [row[place.column]] : jsonKeys(row[place.json], place.keys);
}

/** The values at these top-level keys of a JSON object column (an array's elements each). */
function jsonKeys(text: Row[string], keys: readonly string[]): unknown[] {
  if (typeof text !== 'string') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return [];
  const object = parsed as Record<string, unknown>;
  return keys.flatMap((key) => (Object.hasOwn(object, key) ? [object[key]].flat() : []));
}

/** The rows of a guard's owner: its column null, or one of its values (none: null only). */
function ownerSql(owner: OwnerGuard, dialect: MatchDialect): string {
  const column = dialect.quote(owner.column);
  return owner.in.length === 0 ? `${column} IS NULL` : `${column} IS NULL OR ${column} IN ${dialect.list(owner.in, 'INT64')}`;
}

/** What differs between the warehouses' SQL for a match. */
export interface MatchDialect {
  quote(name: string): string;
  /** The string at a top-level key of a JSON column. */
  jsonString(column: string, key: string): string;
  /** A placeholder for a list of values, bound by the caller. */
  list(values: ReadonlyArray<string | number>, type: 'STRING' | 'INT64'): string;
}

/** The WHERE condition of a match; FALSE when it has no condition with values. */
export function matchSql(match: RowMatch, dialect: MatchDialect): string {
  const parts: string[] = [];
  for (const c of match) {
    if (c.in.length === 0) continue;
    const owned = c.owner ? ` AND (${ownerSql(c.owner, dialect)})` : '';
    if ('column' in c) {
      parts.push(`${dialect.quote(c.column)} IN ${dialect.list(c.in, typeof c.in[0] === 'number' ? 'INT64' : 'STRING')}${owned}`);
      continue;
    }
    for (const key of c.keys) {
      if (!PLAIN_KEY.test(key)) throw new Error(`JSON key "${key}" cannot be matched in SQL`);
      parts.push(`${dialect.jsonString(dialect.quote(c.json), key)} IN ${dialect.list(c.in, 'STRING')}${owned}`);
    }
  }
  return parts.length === 0 ? 'FALSE' : parts.map((p) => `(${p})`).join(' OR ');
}
