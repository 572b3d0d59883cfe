import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_EVENTS, TABLES, TELEPHONY_CALLBACKS, type Row, type Warehouse } from '../../src/warehouse/index.js';
import { CALL_GAPS, DEFAULT_GAP_SETTINGS, DEFAULT_VIEW_SETTINGS, type ViewSettings } from '../../src/warehouse/views/index.js';
import type { Dialect } from '../support/dialects.js';
import { callbackRow, callRow } from './warehouse-contract.js';

const MINUTE = 60_000;
/** Settings of the gaps contract: the defaults (30 minutes, 4 hours, 7 days), a provider configured. */
export const GAPS_VIEW_SETTINGS: ViewSettings = { ...DEFAULT_VIEW_SETTINGS, gaps: { ...DEFAULT_GAP_SETTINGS, providerExpected: true } };

/**
 * The call_gaps view on one warehouse, over rows whose times are relative to now (the view
 * is): each kind listed once its delay is past and not before, reported calls and calls
 * older than the window never, no_provider only when a provider is configured.
 * Evidence times sit 20 s past a whole minute, so age_minutes holds for 40 s of test time.
 */
export function gapsContract(name: string, open: (views: ViewSettings) => Promise<Warehouse>, dialect: Dialect): void {
  describe(`call_gaps contract: ${name}`, () => {
    let warehouse: Warehouse;
    let now = Date.now();
    const ago = (minutes: number) => now - minutes * MINUTE - 20_000;
    const callback = (sid: string, status: string, at: number, fields: Record<string, unknown> = {}): Row =>
      callbackRow('twilio', sid, status, 0, { event_time: at, received_at: at, request_id: `req-${sid}-${status}`, fields: JSON.stringify({ CallSid: sid, CallStatus: status, ...fields }) });
    const report = (callId: string, sid: string, at: number): Row => callRow(callId, 0, { call_sid: sid, tenant_id: 44, event_time: at, received_at: at, request_id: `req-${callId}` });

    beforeAll(async () => {
      // Taken here, not when the file is collected: other suites of the file may run first for a minute.
      now = Date.now();
      warehouse = await open(GAPS_VIEW_SETTINGS);
      await warehouse.ensureTables(TABLES);
      await warehouse.upsert(TELEPHONY_CALLBACKS, [
        // Ended two hours ago, 60 s of talk, never reported: unreported.
        callback('CA-g-unrep', 'ringing', ago(122)),
        callback('CA-g-unrep', 'in-progress', ago(121)),
        callback('CA-g-unrep', 'completed', ago(120), { CallDuration: '60' }),
        // Busy three hours ago, never reported: unreported, no talk time.
        callback('CA-g-busy', 'ringing', ago(181)),
        callback('CA-g-busy', 'busy', ago(180)),
        // Ended and reported: no gap.
        callback('CA-g-reported', 'completed', ago(120)),
        // Ended five minutes ago: the report may still come.
        callback('CA-g-recent', 'completed', ago(5)),
        // Ringing for five hours: stuck. Ringing for an hour: not yet.
        callback('CA-g-stuck', 'ringing', ago(300)),
        callback('CA-g-ringing', 'ringing', ago(60)),
        // Ended ten days ago, never reported: outside the window.
        callback('CA-g-old', 'completed', ago(10 * 24 * 60)),
        // At the window's edge: ended just before it, reported just inside it. Neither side is a gap.
        callback('CA-g-edge', 'completed', ago(7 * 24 * 60 + 2)),
      ]);
      await warehouse.upsert(CALL_EVENTS, [
        report('g-reported', 'CA-g-reported', ago(119)),
        // Reported two hours ago, no callback at all: no_provider. Reported five minutes ago: not yet.
        report('g-noprov', 'CA-g-noprov', ago(120)),
        report('g-young', 'CA-g-young', ago(5)),
        report('g-edge', 'CA-g-edge', ago(7 * 24 * 60 - 2)),
      ]);
    });
    afterAll(async () => {
      await warehouse?.close();
    });

    async function gaps(): Promise<Array<Record<string, unknown>>> {
      const rows = await warehouse.query(
        `SELECT kind, call_sid, call_id, tenant_id, last_status, ${dialect.epochMs('last_status_at')} AS last_status_at, talk_seconds, ${dialect.epochMs('reported_at')} AS reported_at, ${dialect.epochMs('evidence_at')} AS evidence_at, age_minutes FROM call_gaps WHERE call_sid LIKE 'CA-g-%' ORDER BY kind, call_sid`,
      );
      const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
      return rows.map((r) => ({ ...r, tenant_id: num(r.tenant_id), last_status_at: num(r.last_status_at), talk_seconds: num(r.talk_seconds), reported_at: num(r.reported_at), evidence_at: num(r.evidence_at), age_minutes: num(r.age_minutes) }));
    }

    it('lists unreported, no_provider and stuck calls with their evidence and age, and nothing else', async () => {
      expect(await gaps()).toEqual([
        { kind: 'no_provider', call_sid: 'CA-g-noprov', call_id: 'g-noprov', tenant_id: 44, last_status: null, last_status_at: null, talk_seconds: null, reported_at: ago(120), evidence_at: ago(120), age_minutes: 120 },
        { kind: 'stuck', call_sid: 'CA-g-stuck', call_id: null, tenant_id: null, last_status: 'ringing', last_status_at: ago(300), talk_seconds: null, reported_at: null, evidence_at: ago(300), age_minutes: 300 },
        { kind: 'unreported', call_sid: 'CA-g-busy', call_id: null, tenant_id: null, last_status: 'busy', last_status_at: ago(180), talk_seconds: null, reported_at: null, evidence_at: ago(180), age_minutes: 180 },
        { kind: 'unreported', call_sid: 'CA-g-unrep', call_id: null, tenant_id: null, last_status: 'completed', last_status_at: ago(120), talk_seconds: 60, reported_at: null, evidence_at: ago(120), age_minutes: 120 },
      ]);
    });

    it('drops a call once its late report lands', async () => {
      await warehouse.upsert(CALL_EVENTS, [report('g-late', 'CA-g-unrep', ago(1))]);
      expect((await gaps()).map((g) => `${g.kind} ${g.call_sid}`)).toEqual(['no_provider CA-g-noprov', 'stuck CA-g-stuck', 'unreported CA-g-busy']);
    });

    it('lists no_provider only when a provider is configured, and follows the delays set', async () => {
      await warehouse.close();
      warehouse = await open({ ...GAPS_VIEW_SETTINGS, gaps: { ...GAPS_VIEW_SETTINGS.gaps, providerExpected: false, unreportedMinutes: 150, stuckMinutes: 30 } });
      await warehouse.ensureTables(TABLES);
      expect((await gaps()).map((g) => `${g.kind} ${g.call_sid}`)).toEqual(['stuck CA-g-ringing', 'stuck CA-g-stuck', 'unreported CA-g-busy']);
    });
  });
}
