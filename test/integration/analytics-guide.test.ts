import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { CALL_EVENTS, COMPLIANCE_EVENTS, REQUESTS, TABLES, TELEPHONY_CALLBACKS, type Row, type Warehouse } from '../../src/warehouse/index.js';
import { DEFAULT_VIEW_SETTINGS, VIEWS, type ViewSpec } from '../../src/warehouse/views/index.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { rowFor } from '../support/table-rows.js';

const GUIDE = fileURLToPath(new URL('../../docs/analytics.md', import.meta.url));

/** A view's column table as docs/analytics.md shows it (default settings). */
function columnTable(view: ViewSpec): string {
  const rows = view.columns(DEFAULT_VIEW_SETTINGS).map((c) => `| \`${c.name}\` | ${c.type} | ${c.description.replace(/\|/g, '\\|')} |`);
  return ['| Column | Type | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The guide with every view's column table rendered from src/warehouse/views/. */
function renderedGuide(text: string): string {
  return text.replace(/<!-- columns: (\w+) -->\n[\s\S]*?<!-- \/columns -->/g, (_block, name: string) => {
    const view = VIEWS.find((v) => v.name === name);
    if (!view) throw new Error(`docs/analytics.md shows columns of an unknown view "${name}"`);
    return `<!-- columns: ${name} -->\n${columnTable(view)}\n<!-- /columns -->`;
  });
}

/** The guide's questions: each `### heading` of "## Questions" and its ```sql block. */
function guideQueries(text: string): Array<{ question: string; sql: string }> {
  const section = text.split('\n## Questions\n')[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/### (.+)\n[\s\S]*?```sql\n([\s\S]*?)```/g)].map((m) => ({ question: m[1].trim(), sql: m[2].trim() }));
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.now();
const todayUtc = now - (now % DAY);
/** Yesterday (UTC) at noon. */
const Y = todayUtc - 12 * HOUR;
/** The start of the UTC hour two hours ago, and of the next. */
const H1 = now - (now % HOUR) - 2 * HOUR;
const H2 = H1 + HOUR;

/** Calls with their callbacks: which ones are yesterday, in which campaign, how long they talked. */
async function load(warehouse: Warehouse): Promise<void> {
  const call = (id: string, at: number, values: Partial<Row>) =>
    rowFor(CALL_EVENTS, { call_id: id, event_type: 'call.completed', call_sid: `CA-${id}`, tenant_id: 44, agent_id: 42, direction: 'outbound', event_time: at, received_at: at, request_id: `req-${id}`, tool_calls: '[]', ...values });
  const campaign = (id: string) => JSON.stringify({ campaign_id: id });
  const tools = (...names: string[]) => JSON.stringify(names.map((name) => ({ name })));
  await warehouse.upsert(CALL_EVENTS, [
    call('g-1', Y, { extracted_data: '{"outcome":"booked"}', runtime_vars: campaign('cmp-a'), tool_calls: tools('crm.lookup', 'calendar.book') }),
    call('g-1', Y + 60_000, { event_type: 'call.analyzed', request_id: 'req-g-1-analyzed', extracted_data: '{"outcome":"analyzed"}', tool_calls: tools('crm.lookup') }),
    call('g-2', Y + HOUR, { extracted_data: '{"outcome":"booked"}', runtime_vars: campaign('cmp-a'), tool_calls: tools('crm.lookup') }),
    call('g-3', Y + 2 * HOUR, { extracted_data: '{"outcome":"no_answer"}', runtime_vars: campaign('cmp-a') }),
    call('g-4', Y + 3 * HOUR, { agent_id: 7, direction: 'inbound', extracted_data: '{}', tool_calls: tools('crm.lookup', 'crm.lookup') }),
    call('g-5', now - 3 * DAY, { agent_id: 7, direction: 'inbound', call_sid: null, extracted_data: '{"outcome":"booked"}', runtime_vars: campaign('cmp-b') }),
    call('g-6', now - 2 * DAY, { agent_id: 7, extracted_data: '{"outcome":"booked"}', runtime_vars: campaign('cmp-b'), tool_calls: tools('calendar.book') }),
    call('g-7', now - 40 * DAY, { extracted_data: '{"outcome":"booked"}', runtime_vars: campaign('cmp-a'), tool_calls: tools('hangup') }),
  ]);
  const callback = (sid: string, status: string, at: number) =>
    rowFor(TELEPHONY_CALLBACKS, { vendor_slug: 'twilio', provider_call_id: sid, callback_status: status, call_sid: sid, event_time: at, received_at: at, request_id: `req-${sid}-${status}` });
  /** Callbacks of a call that ended at `end` after `talk` seconds (none: not answered). */
  const lifecycle = (sid: string, end: number, talk?: number) =>
    talk === undefined
      ? [callback(sid, 'ringing', end - 30_000), callback(sid, 'no-answer', end)]
      : [callback(sid, 'ringing', end - talk * 1000 - 5_000), callback(sid, 'in-progress', end - talk * 1000), callback(sid, 'completed', end)];
  await warehouse.upsert(TELEPHONY_CALLBACKS, [
    ...lifecycle('CA-g-1', Y, 60),
    ...lifecycle('CA-g-2', Y + HOUR, 30),
    ...lifecycle('CA-g-3', Y + 2 * HOUR),
    ...lifecycle('CA-g-6', now - 2 * DAY, 90),
    ...lifecycle('CA-g-7', now - 40 * DAY, 500),
  ]);
  const compliance = (number: string | null, type: string, at: number) =>
    rowFor(COMPLIANCE_EVENTS, { subject_id: number ?? 'g-1', number_e164: number, call_id: number ? null : 'g-1', event_type: type, event_time: at, received_at: at, request_id: `req-${number}-${type}` });
  await warehouse.upsert(COMPLIANCE_EVENTS, [
    compliance('+15550001', 'number_health.cleared', now - 10 * DAY),
    compliance('+15550001', 'number_health.flagged', now - 2 * DAY),
    compliance('+15550001', 'compliance.dnc_hit', now - DAY + HOUR),
    compliance('+15550002', 'number_health.flagged', now - 20 * DAY),
    compliance('+15550002', 'number_health.cleared', now - 3 * DAY),
    compliance('+15550003', 'number_health.flagged', now - 30 * DAY),
    compliance(null, 'compliance.opt_out', now - DAY + HOUR),
  ]);
  let seq = 0;
  const request = (flow: string, at: number, status: number, errorCode: string | null) =>
    rowFor(REQUESTS, { request_id: `req-http-${++seq}`, flow, status, error_code: errorCode, event_time: at, received_at: at });
  await warehouse.upsert(REQUESTS, [
    request('callaro', H1 + 60_000, 202, null),
    request('callaro', H1 + 61_000, 202, null),
    request('callaro', H1 + 62_000, 422, 'RCV_SCHEMA_INVALID'),
    request('telephony', H1 + 120_000, 401, 'RCV_SIGNATURE_INVALID'),
    request('callaro', H2 + 60_000, 202, null),
    request('callaro', H2 + 61_000, 202, null),
    request('callaro', H2 + 62_000, 422, 'RCV_SCHEMA_INVALID'),
    request('callaro', H2 + 63_000, 413, 'RCV_PAYLOAD_TOO_LARGE'),
    request('callaro', now - 30 * HOUR, 422, 'RCV_SCHEMA_INVALID'),
  ]);
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const utcHour = (ms: number) => new Date(ms).getUTCHours();

/** What each question must answer from the rows above, on both warehouses. */
const EXPECTED: Record<string, Array<Record<string, unknown>>> = {
  'Outcomes by agent yesterday': [
    { agent_id: 7, outcome: null, calls: 1 },
    { agent_id: 42, outcome: 'booked', calls: 2 },
    { agent_id: 42, outcome: 'no_answer', calls: 1 },
  ],
  'Calls without a provider callback': [
    { call_id: 'g-5', call_sid: null, agent_id: 7, direction: 'inbound', event_time: now - 3 * DAY },
    { call_id: 'g-4', call_sid: 'CA-g-4', agent_id: 7, direction: 'inbound', event_time: Y + 3 * HOUR },
  ],
  'Median talk time by campaign': [
    { campaign_id: 'cmp-a', answered_calls: 2, median_talk_seconds: 45 },
    { campaign_id: 'cmp-b', answered_calls: 1, median_talk_seconds: 90 },
  ],
  'The most used tools': [
    { tool: 'crm.lookup', uses: 4, calls: 3 },
    { tool: 'calendar.book', uses: 2, calls: 2 },
  ],
  'Compliance events per number last week': [
    { number_e164: '+15550001', event_types: 2, last_event_at: now - DAY + HOUR, health_now: 'flagged' },
    { number_e164: '+15550002', event_types: 1, last_event_at: now - 3 * DAY, health_now: 'cleared' },
  ],
  'Refusal rate by code per hour': [
    { flow: 'callaro', day: utcDay(H1), hour: utcHour(H1), error_code: 'RCV_SCHEMA_INVALID', refused: 1, requests: 3, refusal_rate: 0.3333 },
    { flow: 'telephony', day: utcDay(H1), hour: utcHour(H1), error_code: 'RCV_SIGNATURE_INVALID', refused: 1, requests: 1, refusal_rate: 1 },
    { flow: 'callaro', day: utcDay(H2), hour: utcHour(H2), error_code: 'RCV_PAYLOAD_TOO_LARGE', refused: 1, requests: 4, refusal_rate: 0.25 },
    { flow: 'callaro', day: utcDay(H2), hour: utcHour(H2), error_code: 'RCV_SCHEMA_INVALID', refused: 1, requests: 4, refusal_rate: 0.25 },
  ],
};

/** A TIMESTAMP as text: BigQuery's ISO form, or DuckDB's, whose offset is the Node process's zone (node-api renders it so). */
const TIMESTAMP_TEXT = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2})(?::?(\d{2}))?$/;
const NUMBER_TEXT = /^-?\d+(?:\.\d+)?$/;

/** An answer's value as both engines' clients would agree on it: times as epoch ms, integers DuckDB sends as text as numbers. */
function comparable(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const time = TIMESTAMP_TEXT.exec(value);
  if (time) return Date.parse(`${time[1]}T${time[2]}${time[3] === 'Z' ? 'Z' : `${time[3]}:${time[4] ?? '00'}`}`);
  return NUMBER_TEXT.test(value) ? Number(value) : value;
}

const comparableRows = (rows: Record<string, unknown>[]) => rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, comparable(v)])));

describe('the analyst\'s guide (docs/analytics.md)', () => {
  const text = readFileSync(GUIDE, 'utf8');
  const queries = guideQueries(text);

  it('shows each view\'s columns as the view defines them, and asks the questions with expected answers', () => {
    const wanted = renderedGuide(text);
    if (process.env.UPDATE_ANALYTICS_GUIDE === '1') writeFileSync(GUIDE, wanted);
    expect(readFileSync(GUIDE, 'utf8')).toBe(wanted);
    for (const view of VIEWS) expect(text).toContain(`<!-- columns: ${view.name} -->`);
    expect(queries.map((q) => q.question)).toEqual(Object.keys(EXPECTED));
  });

  const engines: Array<[string, () => Promise<Warehouse>]> = [
    ['duckdb', () => DuckDbWarehouse.open(':memory:')],
    ['bigquery (emulator)', async () => {
      await requireEmulator();
      return emulatorWarehouse();
    }],
  ];
  describe.each(engines)('on %s', (_name, open) => {
    let warehouse: Warehouse;
    beforeAll(async () => {
      warehouse = await open();
      await warehouse.ensureTables(TABLES);
      await load(warehouse);
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    it.each(queries.map((q) => [q.question, q.sql] as const))('%s', async (question, sql) => {
      expect(comparableRows(await warehouse.query(sql))).toEqual(EXPECTED[question]);
    });
  });
});
