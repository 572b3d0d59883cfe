import { CallstreamError } from '../errors.js';
import { FAMILY_ROW_LOOKUPS, type RowLookup, type TraceIds as Ids } from '../families/index.js';
import { TABLE_BY_NAME, type EventTableName } from '../warehouse/index.js';

export type { RowLookup } from '../families/index.js';

/**
 * `callstream trace`: one call's whole story, from the tables alone (the requests and
 * dead_letters index of the audit trail, and the event tables), so that it is a few keyed
 * lookups however large the topics are. The raw bytes stay in the topics, at the partition and
 * offset each row names (fetch-bodies.ts reads them when asked).
 */

/** How to ask one warehouse: run a SELECT, name a table, turn a TIMESTAMP into epoch ms, write a time literal. */
export interface TraceSource {
  kind: 'duckdb' | 'bigquery';
  ask(sql: string): Promise<Record<string, unknown>[]>;
  table(name: string): string;
  epochMs(column: string): string;
  timestamp(ms: number): string;
}

/** What the trace is asked about: a call_id, a call_sid (or any provider call id), or a request id. */
export const SUBJECT = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}$/;

export interface TraceOptions {
  /** Only rows whose event_time is at or after this (epoch ms): on BigQuery, the partition filter that bounds the bytes scanned. */
  sinceMs?: number;
}

export interface TracedRequest {
  request_id: string;
  flow: string;
  method: string;
  route: string;
  status: number;
  error_code: string | null;
  entity_key: string | null;
  call_sid: string | null;
  verified_by: string | null;
  body_bytes: number;
  received_at: number;
  kafka_partition: number;
  kafka_offset: number;
  /** The OpenTelemetry trace id the sink found on the request's audit record (requests.trace_id); null without one. */
  trace_id: string | null;
}

export interface TracedDeadLetter {
  source_topic: string;
  source_partition: number;
  source_offset: number;
  flow: string;
  entity_key: string | null;
  error_code: string;
  reason: string;
  request_id: string;
  event_time: number;
  kafka_partition: number;
  kafka_offset: number;
}

/** A warehouse row's current version: which request and which record won. */
export interface TracedRow {
  table: EventTableName;
  /** The row's key, e.g. { call_id, event_type }. */
  key: Record<string, string>;
  call_sid: string | null;
  request_id: string;
  received_at: number;
  event_time: number;
  kafka_partition: number;
  kafka_offset: number;
  ingested_at: number;
}

export interface CallTrace {
  subject: string;
  /** Every id the story was joined on: the call ids, call sids / provider call ids and request ids found. */
  joined: { call_ids: string[]; call_sids: string[]; request_ids: string[] };
  requests: TracedRequest[];
  dead_letters: TracedDeadLetter[];
  rows: TracedRow[];
  /** Lookup rounds (each a handful of keyed SELECTs) and how long they took. */
  rounds: number;
  ms: number;
}

/**
 * Every event table, and how a call's rows are found in it (null: none of its rows names a
 * call). A Record over the event tables' names: a table added to the sink that says nothing
 * here does not compile. The key columns come from the table's spec; Callaro's families' tables
 * take theirs from their descriptors (src/families/).
 */
export type RowLookups = Readonly<Record<EventTableName, RowLookup | null>>;

const ROW_LOOKUPS: RowLookups = {
  ...FAMILY_ROW_LOOKUPS,
  telephony_callbacks: { sid: 'call_sid', by: (ids) => [['call_sid', ids.sids], ['provider_call_id', [...ids.sids, ...ids.calls]]] },
};

interface RowTable extends RowLookup {
  name: EventTableName;
  key: readonly string[];
}

const ROW_TABLES: readonly RowTable[] = (Object.entries(ROW_LOOKUPS) as [EventTableName, RowLookup | null][]).flatMap(([name, lookup]) =>
  lookup ? [{ name, key: TABLE_BY_NAME[name].keyColumns, ...lookup }] : [],
);

const MAX_ROUNDS = 5;
/** A call with more than this many requests is cut there (and the trace says so through the counts). */
const MAX_ROWS_PER_QUERY = 1000;

export async function traceCall(source: TraceSource, subject: string, options: TraceOptions): Promise<CallTrace> {
  if (!SUBJECT.test(subject)) {
    throw new CallstreamError('CFG_INVALID', `trace: "${subject.slice(0, 80)}" is not a call_id, call_sid or request id (letters, digits and . _ : @ + - only)`);
  }
  const started = Date.now();
  const known: Ids = { calls: [], sids: [], requests: [] };
  let fresh: Ids = { calls: [subject], sids: [subject], requests: [subject] };
  const requests = new Map<string, TracedRequest>();
  const deadLetters = new Map<string, TracedDeadLetter>();
  const rows = new Map<string, TracedRow>();
  let rounds = 0;
  while (rounds < MAX_ROUNDS && (fresh.calls.length > 0 || fresh.sids.length > 0 || fresh.requests.length > 0)) {
    rounds++;
    known.calls.push(...fresh.calls);
    known.sids.push(...fresh.sids);
    known.requests.push(...fresh.requests);
    const [foundRequests, foundLetters, ...foundRows] = await Promise.all([
      selectRequests(source, fresh, options),
      selectDeadLetters(source, fresh, options),
      ...ROW_TABLES.map((t) => selectRows(source, t, fresh, options)),
    ]);
    const next: Ids = { calls: [], sids: [], requests: [] };
    const learn = (list: string[], seen: string[], value: unknown) => {
      if (typeof value !== 'string' || !SUBJECT.test(value) || seen.includes(value) || list.includes(value)) return;
      list.push(value);
    };
    for (const r of foundRequests) {
      requests.set(r.request_id, r);
      learn(next.requests, known.requests, r.request_id);
      if (r.flow === 'callaro') learn(next.calls, known.calls, r.entity_key);
      else learn(next.sids, known.sids, r.entity_key);
      learn(next.sids, known.sids, r.call_sid);
    }
    for (const d of foundLetters) {
      deadLetters.set(`${d.source_topic}/${d.source_partition}/${d.source_offset}`, d);
      learn(next.requests, known.requests, d.request_id);
    }
    for (const row of foundRows.flat()) {
      rows.set(`${row.table}/${Object.values(row.key).join('/')}`, row);
      learn(next.requests, known.requests, row.request_id);
      learn(next.sids, known.sids, row.call_sid);
      if (row.table === 'call_events') learn(next.calls, known.calls, row.key.call_id);
      if (row.table === 'telephony_callbacks') learn(next.sids, known.sids, row.key.provider_call_id);
    }
    fresh = next;
  }
  return {
    subject,
    joined: joinedOn([...requests.values()], [...deadLetters.values()], [...rows.values()]),
    requests: [...requests.values()].sort((a, b) => a.received_at - b.received_at || a.request_id.localeCompare(b.request_id)),
    dead_letters: [...deadLetters.values()].sort((a, b) => a.event_time - b.event_time),
    rows: [...rows.values()].sort((a, b) => a.received_at - b.received_at),
    rounds,
    ms: Date.now() - started,
  };
}

/** The ids the story was joined on, by what they are (the subject itself was tried as every kind). */
function joinedOn(requests: TracedRequest[], letters: TracedDeadLetter[], rows: TracedRow[]): CallTrace['joined'] {
  const calls = new Set<string>();
  const sids = new Set<string>();
  const ids = new Set<string>();
  const add = (set: Set<string>, value: string | null | undefined) => value && value !== 'unknown' && set.add(value);
  for (const r of requests) {
    add(r.flow === 'callaro' ? calls : sids, r.entity_key);
    add(sids, r.call_sid);
    add(ids, r.request_id);
  }
  for (const d of letters) {
    add(d.flow === 'callaro' ? calls : sids, d.entity_key);
    add(ids, d.request_id);
  }
  for (const row of rows) {
    add(calls, row.key.call_id);
    add(sids, row.key.provider_call_id);
    add(sids, row.call_sid);
    add(ids, row.request_id);
  }
  return { call_ids: [...calls].sort(), call_sids: [...sids].sort(), request_ids: [...ids].sort() };
}

function inList(ids: readonly string[]): string {
  // Every id matched SUBJECT: no quote or backslash can occur, so a plain literal is safe on both engines.
  return `(${ids.map((id) => `'${id}'`).join(', ')})`;
}

function where(conditions: ReadonlyArray<readonly [string, readonly string[]]>): string | undefined {
  const parts = conditions.filter(([, ids]) => ids.length > 0).map(([column, ids]) => `${column} IN ${inList(ids)}`);
  return parts.length > 0 ? `(${parts.join(' OR ')})` : undefined;
}

/**
 * A column trace_id the table lacks, as DuckDB and the emulator say it (`Column "trace_id"
 * referenced that exists in the SELECT clause - but this column cannot be referenced before it
 * is defined`: only the alias has that name) and as BigQuery does ("Unrecognized name: trace_id").
 */
const MISSING_TRACE_ID = /unrecognized name:? `?trace_id\b|column "trace_id" referenced that exists in the select clause|column "?trace_id"? (?:was )?not found|column "?trace_id"? does not exist/i;

async function selectRequests(source: TraceSource, ids: Ids, options: TraceOptions): Promise<TracedRequest[]> {
  const match = where([
    ['request_id', ids.requests],
    ['entity_key', [...ids.calls, ...ids.sids.filter((s) => !ids.calls.includes(s))]],
    ['call_sid', ids.sids],
  ]);
  if (!match) return [];
  const ms = source.epochMs;
  const sql = (traceId: string) => `SELECT request_id, flow, method, route, status, error_code, entity_key, call_sid, verified_by, body_bytes, ${ms('received_at')} AS received_at, kafka_partition, kafka_offset, ${traceId} AS trace_id
FROM ${source.table('requests')} WHERE ${since(source, options)}${match} LIMIT ${MAX_ROWS_PER_QUERY}`;
  let found: Record<string, unknown>[];
  try {
    found = await source.ask(sql('trace_id'));
  } catch (err) {
    // A requests table the sink has not migrated yet (it adds trace_id when it starts): the rest of the story still holds.
    // Only that error: a timeout or an outage, whose message may quote the SQL, is not hidden.
    if (!MISSING_TRACE_ID.test(err instanceof Error ? err.message : String(err))) throw err;
    found = await source.ask(sql('NULL'));
  }
  return found.map((r) => ({
    request_id: String(r.request_id),
    flow: String(r.flow),
    method: String(r.method),
    route: String(r.route),
    status: Number(r.status),
    error_code: nullable(r.error_code),
    entity_key: nullable(r.entity_key),
    call_sid: nullable(r.call_sid),
    verified_by: nullable(r.verified_by),
    body_bytes: Number(r.body_bytes),
    received_at: Number(r.received_at),
    kafka_partition: Number(r.kafka_partition),
    kafka_offset: Number(r.kafka_offset),
    trace_id: nullable(r.trace_id),
  }));
}

async function selectDeadLetters(source: TraceSource, ids: Ids, options: TraceOptions): Promise<TracedDeadLetter[]> {
  const match = where([
    ['request_id', ids.requests],
    ['entity_key', [...new Set([...ids.calls, ...ids.sids])]],
  ]);
  if (!match) return [];
  const ms = source.epochMs;
  const sql = `SELECT source_topic, source_partition, source_offset, flow, entity_key, error_code, reason, request_id, ${ms('event_time')} AS event_time, kafka_partition, kafka_offset
FROM ${source.table('dead_letters')} WHERE ${since(source, options)}${match} LIMIT ${MAX_ROWS_PER_QUERY}`;
  return (await source.ask(sql)).map((r) => ({
    source_topic: String(r.source_topic),
    source_partition: Number(r.source_partition),
    source_offset: Number(r.source_offset),
    flow: String(r.flow),
    entity_key: nullable(r.entity_key),
    error_code: String(r.error_code),
    reason: String(r.reason),
    request_id: String(r.request_id),
    event_time: Number(r.event_time),
    kafka_partition: Number(r.kafka_partition),
    kafka_offset: Number(r.kafka_offset),
  }));
}

async function selectRows(source: TraceSource, table: RowTable, ids: Ids, options: TraceOptions): Promise<TracedRow[]> {
  const match = where(table.by(ids));
  if (!match) return [];
  const ms = source.epochMs;
  const sql = `SELECT ${table.key.join(', ')}, ${table.sid ?? 'NULL'} AS call_sid, request_id, ${ms('received_at')} AS received_at, ${ms('event_time')} AS event_time, kafka_partition, kafka_offset, ${ms('ingested_at')} AS ingested_at
FROM ${source.table(table.name)} WHERE ${since(source, options)}${match} LIMIT ${MAX_ROWS_PER_QUERY}`;
  return (await source.ask(sql)).map((r) => ({
    table: table.name,
    key: Object.fromEntries(table.key.map((k) => [k, String(r[k])])),
    call_sid: nullable(r.call_sid),
    request_id: String(r.request_id),
    received_at: Number(r.received_at),
    event_time: Number(r.event_time),
    kafka_partition: Number(r.kafka_partition),
    kafka_offset: Number(r.kafka_offset),
    ingested_at: Number(r.ingested_at),
  }));
}

function since(source: TraceSource, options: TraceOptions): string {
  return options.sinceMs === undefined ? '' : `event_time >= ${source.timestamp(options.sinceMs)} AND `;
}

function nullable(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}
