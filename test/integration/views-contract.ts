import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS, TABLES, TELEPHONY_CALLBACKS, type Row, type TableSpec, type Warehouse } from '../../src/warehouse/index.js';
import { DEFAULT_VIEW_SETTINGS, VIEWS, type ViewSettings, type ViewSpec } from '../../src/warehouse/views/index.js';
import type { Dialect } from '../support/dialects.js';
import { rowFor } from '../support/table-rows.js';
import { callbackRow, callRow } from './warehouse-contract.js';

/** 2026-11-20 10:00 UTC: the day most of the calls below happened. */
const DAY0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Non-default settings, so that the contract covers the configuration too. */
export const CONTRACT_VIEW_SETTINGS: ViewSettings = {
  ...DEFAULT_VIEW_SETTINGS,
  outcomeField: 'result',
  callsFields: [
    { name: 'score', type: 'INT64' },
    { name: 'sentiment', type: 'STRING' },
    { name: 'vip', type: 'BOOL' },
    { name: 'budget', type: 'FLOAT64' },
    { name: 'follow_up_at', type: 'TIMESTAMP' },
  ],
};

const json = (value: unknown) => JSON.stringify(value);

/** A row of campaign_events or compliance_events of tenant 44 at a given time. */
function eventRow(spec: TableSpec, key: Partial<Row>, eventType: string, eventTime: number, payload: unknown, extra: Partial<Row> = {}): Row {
  return rowFor(spec, { tenant_id: 44, ...key, event_type: eventType, event_time: eventTime, received_at: eventTime, payload: json(payload), request_id: `req-${eventType}-${eventTime}`, ...extra });
}

const T0 = DAY0 - 70_000;
const MISSED = DAY0 + 14.5 * HOUR;

/** The rows every view below is computed from, with older versions the version guard drops. */
async function load(warehouse: Warehouse): Promise<void> {
  const v1 = {
    call_sid: 'CA-v-1',
    event_time: DAY0,
    runtime_vars: json({ campaign_id: 'cmp-v1' }),
    extracted_data: json({ result: 'booked', score: '7', sentiment: 'positive', vip: true, budget: 1200.5, follow_up_at: '2026-11-28T09:00:00Z' }),
    tool_calls: json([{ name: 'crm.lookup', arguments: { phone: '+14155550100' } }, { name: 'calendar.book', arguments: { slot: '2026-11-28T09:00:00Z' } }, { name: 'hangup' }]),
  };
  await warehouse.upsert(CALL_EVENTS, [
    callRow('v-1', 1, { ...v1, extracted_data: json({ result: 'stale' }), received_at: DAY0 }),
    callRow('v-1', 2, { ...v1, received_at: DAY0 + 1_000 }),
    callRow('v-1', 3, { event_type: 'call.analyzed', call_sid: 'CA-v-1', event_time: DAY0 + 5_000, received_at: DAY0 + 5_000, extracted_data: json({ result: 'analyzed' }) }),
    callRow('v-2', 4, { call_sid: 'CA-v-2', event_time: MISSED, received_at: MISSED, payload: json({ campaign_id: 'cmp-v1' }), extracted_data: json({ result: 'no_answer', score: 'n/a', vip: 'maybe' }), tool_calls: '[]' }),
    callRow('v-3', 5, { tenant_id: 45, agent_id: 7, direction: 'inbound', call_sid: null, event_time: DAY0 + HOUR, received_at: DAY0 + HOUR, extracted_data: '{}', runtime_vars: null, tool_calls: null, payload: '{}' }),
    callRow('v-4', 6, { call_sid: 'CA-v-4', event_time: DAY0 + 2 * HOUR, received_at: DAY0 + 2 * HOUR, extracted_data: json({ result: 'booked' }), tool_calls: json([{ name: 'crm.lookup' }]) }),
  ]);
  const callback = (vendor: string, sid: string, status: string, at: number, fields: Record<string, unknown> = {}) =>
    callbackRow(vendor, sid, status, 0, { event_time: at, received_at: at, request_id: `req-cb-${sid}-${status}`, fields: json({ CallSid: sid, CallStatus: status, ...fields }) });
  await warehouse.upsert(TELEPHONY_CALLBACKS, [
    callback('twilio', 'CA-v-1', 'initiated', T0),
    callback('twilio', 'CA-v-1', 'ringing', T0 + 2_000),
    callback('twilio', 'CA-v-1', 'in-progress', T0 + 7_500),
    callback('twilio', 'CA-v-1', 'completed', T0 + 67_500, { CallDuration: '60' }),
    callback('acme-billing', 'CA-v-1', 'paid', T0 + 100_000),
    callback('twilio', 'CA-v-2', 'ringing', MISSED - 40_000),
    callback('twilio', 'CA-v-2', 'no-answer', MISSED - 10_000),
    callback('twilio', 'CA-v-4', 'ringing', DAY0 + 2 * HOUR - 5_000),
    callback('twilio', 'CA-orphan', 'completed', DAY0 + 3 * HOUR),
    { ...callback('acme-billing', 'BILL-1', 'paid', DAY0), call_sid: null },
  ]);
  const campaign = (id: string, type: string, at: number, payload: unknown, extra: Partial<Row> = {}) => eventRow(CAMPAIGN_EVENTS, { campaign_id: id }, type, at, payload, extra);
  await warehouse.upsert(CAMPAIGN_EVENTS, [
    campaign('cmp-v1', 'campaign.started', DAY0 - DAY, { name: 'December renewals' }),
    campaign('cmp-v1', 'campaign.paused', DAY0, { name: 'December renewals' }),
    campaign('cmp-v1', 'campaign.completed', DAY0 + DAY, { name: 'December renewals (done)' }),
    campaign('cmp-v2', 'campaign.started', DAY0, {}, { tenant_id: 45 }),
    // Two events at the same event_time: the later receipt is the latest.
    campaign('cmp-v3', 'campaign.resumed', DAY0, {}, { received_at: DAY0 + 10 }),
    campaign('cmp-v3', 'campaign.paused', DAY0, {}, { received_at: DAY0 + 20 }),
  ]);
  const compliance = (subject: string, type: string, at: number, payload: unknown, number: string | null = subject) =>
    eventRow(COMPLIANCE_EVENTS, { subject_id: subject, number_e164: number, call_id: number ? null : subject }, type, at, payload);
  await warehouse.upsert(COMPLIANCE_EVENTS, [
    compliance('+15550001', 'number_health.flagged', DAY0, { reason: 'spam_likely' }),
    compliance('+15550001', 'number_health.cleared', DAY0 + 2 * DAY, {}),
    compliance('+15550001', 'compliance.dnc_hit', DAY0 + 3 * DAY, {}),
    compliance('+15550002', 'number_health.flagged', DAY0, { reason: 'carrier_block' }),
    compliance('v-1', 'compliance.opt_out', DAY0, {}, null),
  ]);
}

/**
 * The views every warehouse must answer alike, with the same rows: run against DuckDB and
 * BigQuery with the same inputs (CONTRACT_VIEW_SETTINGS) and the same expected rows.
 *
 * @param open opens the warehouse at one place (the same file or dataset every call) with
 *   these view settings; the suite closes one before opening the next.
 */
export function viewsContract(name: string, open: (views: ViewSettings) => Promise<Warehouse>, dialect: Dialect): void {
  describe(`views contract: ${name}`, () => {
    let warehouse: Warehouse;

    beforeAll(async () => {
      warehouse = await open(CONTRACT_VIEW_SETTINGS);
      await warehouse.ensureTables(TABLES);
      await load(warehouse);
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    /** A view's rows, each column read back in a form both engines share (times as epoch ms, JSON parsed). */
    async function read(view: ViewSpec, orderBy: string, settings = CONTRACT_VIEW_SETTINGS): Promise<Array<Record<string, unknown>>> {
      const columns = view.columns(settings);
      const select = columns.map((c) => {
        if (c.type === 'TIMESTAMP') return `${dialect.epochMs(c.name)} AS ${c.name}`;
        if (c.type === 'JSON') return `${dialect.jsonText(c.name)} AS ${c.name}`;
        if (c.type === 'DATE') return `CAST(${c.name} AS STRING) AS ${c.name}`;
        return c.name;
      });
      const rows = await warehouse.query(`SELECT ${select.join(', ')} FROM ${view.name} ORDER BY ${orderBy}`);
      return rows.map((row) =>
        Object.fromEntries(
          columns.map((c) => {
            const value = row[c.name];
            if (value === null || value === undefined) return [c.name, null];
            if (c.type === 'TIMESTAMP' || c.type === 'INT64' || c.type === 'FLOAT64') return [c.name, Number(value)];
            if (c.type === 'JSON') return [c.name, JSON.parse(String(value))];
            return [c.name, value];
          }),
        ),
      );
    }

    it.each(VIEWS.map((v) => [v.name, v] as const))('%s has the documented columns, in order', async (_name, view) => {
      // Joined to one row, so that a view with no rows here (call_gaps: its rows are relative to now) shows its columns too.
      const [first] = await warehouse.query(`SELECT v.* FROM (SELECT 1 AS one) AS o LEFT JOIN ${view.name} AS v ON TRUE`);
      expect(Object.keys(first ?? {})).toEqual(view.columns(CONTRACT_VIEW_SETTINGS).map((c) => c.name));
    });

    it('calls: one row per completed call, newest version, outcome and fields typed, provider times joined', async () => {
      const view = VIEWS.find((v) => v.name === 'calls')!;
      const common = { tenant_id: 44, agent_id: 42, direction: 'outbound', from_e164: '+14155550100', to_e164: '+919900000001' };
      const noFields = { score: null, sentiment: null, vip: null, budget: null, follow_up_at: null };
      expect(await read(view, 'call_id')).toEqual([
        {
          call_id: 'v-1', ...common, call_sid: 'CA-v-1', voice_session_id: 9002, campaign_id: 'cmp-v1', event_time: DAY0, outcome: 'booked', tool_call_count: 3,
          extracted_data: { result: 'booked', score: '7', sentiment: 'positive', vip: true, budget: 1200.5, follow_up_at: '2026-11-28T09:00:00Z' },
          provider_status: 'completed', ring_seconds: 5.5, talk_seconds: 60,
          score: 7, sentiment: 'positive', vip: true, budget: 1200.5, follow_up_at: Date.parse('2026-11-28T09:00:00Z'),
        },
        {
          call_id: 'v-2', ...common, call_sid: 'CA-v-2', voice_session_id: 9004, campaign_id: 'cmp-v1', event_time: MISSED, outcome: 'no_answer', tool_call_count: 0,
          extracted_data: { result: 'no_answer', score: 'n/a', vip: 'maybe' }, provider_status: 'no-answer', ring_seconds: 30, talk_seconds: null, ...noFields,
        },
        {
          call_id: 'v-3', ...common, tenant_id: 45, agent_id: 7, direction: 'inbound', call_sid: null, voice_session_id: 9005, campaign_id: null, event_time: DAY0 + HOUR,
          outcome: null, tool_call_count: 0, extracted_data: {}, provider_status: null, ring_seconds: null, talk_seconds: null, ...noFields,
        },
        {
          call_id: 'v-4', ...common, call_sid: 'CA-v-4', voice_session_id: 9006, campaign_id: null, event_time: DAY0 + 2 * HOUR, outcome: 'booked', tool_call_count: 1,
          extracted_data: { result: 'booked' }, provider_status: 'ringing', ring_seconds: null, talk_seconds: null, ...noFields,
        },
      ]);
    });

    it('call_outcomes_daily: completed calls per UTC day, tenant, agent, direction and outcome', async () => {
      const view = VIEWS.find((v) => v.name === 'call_outcomes_daily')!;
      expect(await read(view, 'day, tenant_id, outcome')).toEqual([
        { day: '2026-11-20', tenant_id: 44, agent_id: 42, direction: 'outbound', outcome: 'booked', calls: 2 },
        { day: '2026-11-20', tenant_id: 45, agent_id: 7, direction: 'inbound', outcome: null, calls: 1 },
        { day: '2026-11-21', tenant_id: 44, agent_id: 42, direction: 'outbound', outcome: 'no_answer', calls: 1 },
      ]);
    });

    it('tool_call_facts: one row per tool call of a completed call, in order', async () => {
      const view = VIEWS.find((v) => v.name === 'tool_call_facts')!;
      const v1 = { tenant_id: 44, agent_id: 42, event_time: DAY0 };
      expect(await read(view, 'call_id, position')).toEqual([
        { call_id: 'v-1', position: 0, name: 'crm.lookup', arguments: { phone: '+14155550100' }, ...v1 },
        { call_id: 'v-1', position: 1, name: 'calendar.book', arguments: { slot: '2026-11-28T09:00:00Z' }, ...v1 },
        { call_id: 'v-1', position: 2, name: 'hangup', arguments: null, ...v1 },
        { call_id: 'v-4', position: 0, name: 'crm.lookup', arguments: null, tenant_id: 44, agent_id: 42, event_time: DAY0 + 2 * HOUR },
      ]);
    });

    it('call_lifecycle: per call_sid, each status\'s time, the final status and the durations', async () => {
      const view = VIEWS.find((v) => v.name === 'call_lifecycle')!;
      const none = { initiated_at: null, ringing_at: null, answered_at: null, ended_at: null, ring_seconds: null, talk_seconds: null, duration_seconds: null };
      expect(await read(view, 'call_sid')).toEqual([
        { ...none, call_sid: 'CA-orphan', vendor_slug: 'twilio', vendor_count: 1, callbacks: 1, first_callback_at: DAY0 + 3 * HOUR, ended_at: DAY0 + 3 * HOUR, final_status: 'completed', final_status_at: DAY0 + 3 * HOUR },
        {
          call_sid: 'CA-v-1', vendor_slug: 'twilio', vendor_count: 2, callbacks: 5, first_callback_at: T0, initiated_at: T0, ringing_at: T0 + 2_000, answered_at: T0 + 7_500,
          ended_at: T0 + 67_500, final_status: 'completed', final_status_at: T0 + 67_500, ring_seconds: 5.5, talk_seconds: 60, duration_seconds: 60,
        },
        { ...none, call_sid: 'CA-v-2', vendor_slug: 'twilio', vendor_count: 1, callbacks: 2, first_callback_at: MISSED - 40_000, ringing_at: MISSED - 40_000, ended_at: MISSED - 10_000, final_status: 'no-answer', final_status_at: MISSED - 10_000, ring_seconds: 30 },
        { ...none, call_sid: 'CA-v-4', vendor_slug: 'twilio', vendor_count: 1, callbacks: 1, first_callback_at: DAY0 + 2 * HOUR - 5_000, ringing_at: DAY0 + 2 * HOUR - 5_000, final_status: 'ringing', final_status_at: DAY0 + 2 * HOUR - 5_000 },
      ]);
    });

    it('campaign_status: the latest event per campaign, a tie in event time broken by receipt', async () => {
      const view = VIEWS.find((v) => v.name === 'campaign_status')!;
      expect(await read(view, 'campaign_id')).toEqual([
        { campaign_id: 'cmp-v1', tenant_id: 44, status: 'completed', status_event_type: 'campaign.completed', status_at: DAY0 + DAY, name: 'December renewals (done)', first_event_at: DAY0 - DAY, event_count: 3 },
        { campaign_id: 'cmp-v2', tenant_id: 45, status: 'started', status_event_type: 'campaign.started', status_at: DAY0, name: null, first_event_at: DAY0, event_count: 1 },
        { campaign_id: 'cmp-v3', tenant_id: 44, status: 'paused', status_event_type: 'campaign.paused', status_at: DAY0, name: null, first_event_at: DAY0, event_count: 2 },
      ]);
    });

    it('number_health_latest: the latest number_health event per number, other compliance events left out', async () => {
      const view = VIEWS.find((v) => v.name === 'number_health_latest')!;
      expect(await read(view, 'number_e164')).toEqual([
        { number_e164: '+15550001', tenant_id: 44, health: 'cleared', health_event_type: 'number_health.cleared', health_at: DAY0 + 2 * DAY, reason: null, first_event_at: DAY0, event_count: 2 },
        { number_e164: '+15550002', tenant_id: 44, health: 'flagged', health_event_type: 'number_health.flagged', health_at: DAY0, reason: 'carrier_block', first_event_at: DAY0, event_count: 1 },
      ]);
    });

    it('follows the tables: a newer version of a call changes the views at once', async () => {
      await warehouse.upsert(CALL_EVENTS, [callRow('v-4', 7, { call_sid: 'CA-v-4', event_time: DAY0 + 2 * HOUR, received_at: DAY0 + 3 * HOUR, extracted_data: json({ result: 'callback' }), tool_calls: '[]' })]);
      const [v4] = await warehouse.query("SELECT outcome, tool_call_count FROM calls WHERE call_id = 'v-4'");
      expect({ outcome: v4.outcome, tool_call_count: Number(v4.tool_call_count) }).toEqual({ outcome: 'callback', tool_call_count: 0 });
      expect(await warehouse.query("SELECT name FROM tool_call_facts WHERE call_id = 'v-4'")).toEqual([]);
    });

    it('replaces the views when their settings change, and creating them again changes nothing', async () => {
      await warehouse.close();
      warehouse = await open({ ...DEFAULT_VIEW_SETTINGS, outcomeField: 'sentiment', callsFields: [{ name: 'result', type: 'STRING' }] });
      await warehouse.ensureTables(TABLES);
      await warehouse.ensureTables(TABLES);
      const [first] = await warehouse.query('SELECT * FROM calls');
      expect(Object.keys(first).slice(-2)).toEqual(['talk_seconds', 'result']);
      const rows = await warehouse.query("SELECT call_id, outcome, result FROM calls WHERE call_id IN ('v-1', 'v-2') ORDER BY call_id");
      expect(rows).toEqual([
        { call_id: 'v-1', outcome: 'positive', result: 'booked' },
        { call_id: 'v-2', outcome: null, result: 'no_answer' },
      ]);
    });
  });
}
