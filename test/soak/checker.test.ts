import { describe, expect, it } from 'vitest';
import { check, type ErasureObservation, type Observed } from './checker.js';
import { generateSchedule } from './generator.js';
import { callKey, type Op } from './ops.js';
import { buildModel } from './model.js';
import type { AuditRecord, StoredRow } from './observe.js';
import { isOperations, kindFor, NASTY_CLASSES, reproduceCommand, soakOptionsFromEnv } from './options.js';
import { callaroRequest, twilioParams, twilioRequest } from './payloads.js';
import type { Attempt, OpResult } from './sender.js';

/**
 * The harness checked without services: the generator is a function of its seed, and the
 * checker finds each kind of violation in a made-up history (and nothing in a clean one).
 */

const KEY = callKey('c1', 'call.completed');
const body = (version: number) => JSON.stringify({ event: 'call.completed', call_id: 'c1', extracted_data: { version } });
let nextId = 0;
const op = (label: string, version: number, key: string | null = KEY): Op => ({ id: nextId++, label, key: key ?? undefined, request: callaroRequest(body(version)), expect: { status: 202 } });
const attempt = (at: number, status: number | string, requestId?: string, code?: string): Attempt => ({ sentAt: at, answeredAt: at + 5, status, requestId, code });
const result = (o: Op, ...attempts: Attempt[]): OpResult => ({ op: o, attempts, final: attempts[attempts.length - 1] });
const audit = (requestId: string, status = 202): AuditRecord => ({ requestId, flow: 'callaro', status, errorCode: null, receivedAt: 0, truncated: false, topic: 'raw', at: '0@0' });
const row = (requestId: string, version: number, key = KEY): StoredRow => ({ table: 'call_events', key, requestId, content: body(version) });

function observed(parts: Partial<Observed>): Observed {
  return { audit: [], deadLetters: [], rows: [], lag: { ok: true, progress: [] }, auditTopics: { callaro: 'raw', telephony: 'telephony-raw' }, ...parts };
}

/** v1 and v2 acknowledged, then a late retry of v1's body that arrives last. */
function lateRetryHistory() {
  const v1 = op('v1', 1);
  const v2 = op('v2', 2);
  const retry = op('v1 late-retry', 1);
  const results = [result(v1, attempt(10, 202, 'r1')), result(v2, attempt(20, 503, 'r2a', 'RCV_BROKER_UNAVAILABLE'), attempt(30, 202, 'r2')), result(retry, attempt(40, 202, 'r3'))];
  return { results, audits: [audit('r1'), audit('r2'), audit('r3')] };
}

const invariants = (results: OpResult[], o: Observed, windows = [{ from: 15, to: 25, why: 'broker restart' }]) =>
  check(results, buildModel(results), o, windows, 0).map((v) => v.invariant);

describe('soak harness: the generator', () => {
  it('gives the same schedule for the same seed, and leaves the rest in place when a nasty class is off', () => {
    const options = { size: 'small' as const, nasty: new Set(NASTY_CLASSES), cluster: false };
    const a = generateSchedule(42, options);
    expect(JSON.stringify(generateSchedule(42, options))).toBe(JSON.stringify(a));
    expect(JSON.stringify(generateSchedule(43, options))).not.toBe(JSON.stringify(a));
    const off = generateSchedule(42, { ...options, nasty: new Set() });
    expect(off.ops.map((o) => o.label)).toEqual(a.ops.filter((o) => !o.nasty).map((o) => o.label));
    expect(off.faults.map((f) => f.action)).toEqual(a.faults.map((f) => f.action));
    expect(a.ops.some((o) => o.nasty === 'near-limit' && o.request.body.length > 600_000)).toBe(true);
  });
});

describe('soak harness: the operations kinds', () => {
  it('run only when named (a comma list rotates among them), and reproduce with their kind', () => {
    const plain = soakOptionsFromEnv({}, [1]);
    for (let seed = 0; seed < 12; seed++) expect(isOperations(kindFor(seed, plain))).toBe(false);
    const both = soakOptionsFromEnv({ SOAK_KIND: 'operations,operations-staged' }, [1]);
    expect([kindFor(4, both), kindFor(5, both)]).toEqual(['operations', 'operations-staged']);
    expect(reproduceCommand(5, both)).toContain('--kind operations-staged');
    expect(() => soakOptionsFromEnv({ SOAK_KIND: 'operations,nope' }, [1])).toThrow(/SOAK_KIND/);
  });

  it('erase a subject sent before the erase, and send more of it afterwards', () => {
    const schedule = generateSchedule(7, { size: 'small', nasty: new Set(NASTY_CLASSES), cluster: false, kind: 'operations' });
    const erases = schedule.faults.filter((f) => f.action.type === 'erase');
    expect(erases.length).toBeGreaterThan(0);
    expect(schedule.midnightLeadMs).toBeGreaterThan(0);
    for (const { at, action } of erases) {
      if (action.type !== 'erase') continue;
      const named = (o: Op) => o.request.body.includes(action.subject === 'tenant' ? `"tenant_id":${action.value}` : `"${action.value}"`);
      expect(schedule.ops.slice(0, at).some(named)).toBe(true);
      expect(schedule.ops.slice(at).some((o) => named(o) && /after-erase/.test(o.label))).toBe(true);
    }
  });
});

describe('soak harness: the checker', () => {
  it('accepts a clean history: the late retry of an older body is the newest version', () => {
    const { results, audits } = lateRetryHistory();
    expect(invariants(results, observed({ audit: audits, rows: [row('r3', 1)] }))).toEqual([]);
    // The row may come from an indeterminate request with the same body (here: none); a 503 in the window is fine.
    expect(invariants(results, observed({ audit: [...audits, audit('r2a')], rows: [row('r1', 1)] }))).toEqual([]);
  });

  it('finds a stale version, a missing row, a row of a key never acknowledged, and a doubled key', () => {
    const { results, audits } = lateRetryHistory();
    expect(invariants(results, observed({ audit: audits, rows: [row('r2', 2)] }))).toEqual(['2 newest version']);
    expect(invariants(results, observed({ audit: audits, rows: [] }))).toEqual(['2 newest version']);
    const stranger = row('rX', 1, callKey('c9', 'call.completed'));
    expect(invariants(results, observed({ audit: audits, rows: [row('r3', 1), stranger] }))).toEqual(['3 no other rows']);
    expect(invariants(results, observed({ audit: audits, rows: [row('r3', 1), row('r1', 1)] }))).toEqual(['3 no other rows']);
    // Dead-lettered with a reason stands in for the row; without the reason it does not.
    const dead = { requestId: 'r3', errorCode: 'SINK_ROW_REJECTED', reason: 'x', topic: 'dlq' };
    expect(invariants(results, observed({ audit: audits, deadLetters: [dead] }))).toEqual([]);
    expect(invariants(results, observed({ audit: audits, deadLetters: [{ ...dead, errorCode: undefined }] }))).toEqual(['2 newest version']);
  });

  it('finds a request audited twice, one not audited, and audit records nobody sent', () => {
    const { results, audits } = lateRetryHistory();
    const rows = [row('r3', 1)];
    expect(invariants(results, observed({ audit: [...audits, audit('r1')], rows }))).toEqual(['1 audit']);
    expect(invariants(results, observed({ audit: audits.slice(1), rows }))).toEqual(['1 audit']);
    expect(invariants(results, observed({ audit: [...audits, audit('nobody')], rows }))).toEqual(['1 audit']);
    expect(invariants(results, observed({ audit: [audit('r1', 400), ...audits.slice(1)], rows }))).toEqual(['1 audit']);
  });

  it('finds lag left over, a 5xx that is not 503, a 503 outside every fault window, and a wrong answer', () => {
    const { results, audits } = lateRetryHistory();
    const clean = observed({ audit: audits, rows: [row('r3', 1)] });
    expect(invariants(results, { ...clean, lag: { ok: false, progress: [] } })).toEqual(['4 lag']);
    expect(invariants(results, clean, [])).toEqual(['5 server errors']);
    const crashed = [...results, result(op('other', 1, null), attempt(50, 500, 'r5'))];
    expect(invariants(crashed, observed({ audit: [...audits, audit('r5', 500)], rows: [row('r3', 1)] }))).toEqual(['5 server errors', 'answers']);
    const nasty: Op = { ...op('nasty', 7, null), expect: { status: 422, code: 'RCV_UNSTORABLE_VALUE', path: 'extracted_data.n' }, nasty: 'bigint' };
    const accepted = [...results, result(nasty, attempt(60, 202, 'r6'))];
    expect(invariants(accepted, observed({ audit: [...audits, audit('r6')], rows: [row('r3', 1)] }))).toEqual(['answers']);
  });
});

describe('soak harness: the checker after erasures (operations kinds)', () => {
  const CALL = (n: number, tenant: number, version: number) =>
    JSON.stringify({ event: 'call.completed', call_id: `c${n}`, call_sid: `CA${n}`, tenant_id: tenant, from_e164: '+14155550100', to_e164: `+9199000000${n}`, extracted_data: { version } });
  const callOp = (n: number, tenant: number, version: number): Op => ({ id: nextId++, label: `c${n} v${version}`, key: callKey(`c${n}`, 'call.completed'), request: callaroRequest(CALL(n, tenant, version)), expect: { status: 202 } });
  const callRow = (requestId: string, n: number, tenant: number, version: number): StoredRow => ({ table: 'call_events', key: callKey(`c${n}`, 'call.completed'), requestId, content: CALL(n, tenant, version) });
  const callbackKey = 'telephony_callbacks/twilio/CA1/completed';
  const callbackBody = twilioRequest(twilioParams('CA1', 'completed', 1));
  const callbackOp: Op = { id: nextId++, label: 'twilio c1 completed', key: callbackKey, request: callbackBody, expect: { status: 202 } };
  const erasure = { key: 'phone:+91990000001', phones: ['+91990000001'], callIds: ['c1'], callSids: ['CA1'], tenants: [], callTenants: [44] };
  const run = { at: 1, subject: 'phone' as const, value: '+91990000001', run: 1 as const, key: erasure.key, matched: { callIds: ['c1'], callSids: ['CA1'] }, total: 2 };

  /** c1 (erased by its number; a redelivery after the erasure) and c2 (not erased), c1's callback. */
  function history() {
    const ops = [callOp(1, 44, 1), callOp(2, 44, 1), callbackOp, callOp(1, 44, 1)];
    const results = ops.map((o, i) => result(o, attempt(10 * (i + 1), 202, `e${i}`)));
    const audits = results.map((r) => (r.op === callbackOp ? { ...audit(r.attempts[0].requestId!), flow: 'telephony', topic: 'telephony-raw' } : audit(r.attempts[0].requestId!)));
    return { results, audits };
  }
  const erased = (parts: Partial<ErasureObservation> = {}): ErasureObservation => ({ inForce: [erasure], leftovers: [], runs: [run], findings: [], ...parts });

  it('accepts the erased call gone, its callback gone, the other call stored', () => {
    const { results, audits } = history();
    expect(invariants(results, observed({ audit: audits, rows: [callRow('e1', 2, 44, 1)], erasures: erased() }))).toEqual([]);
  });

  it('fails when a row an erasure covers is left in a table (the stored row, or the warehouse\'s count)', () => {
    const { results, audits } = history();
    // The redelivery after the erasure written again:
    expect(invariants(results, observed({ audit: audits, rows: [callRow('e1', 2, 44, 1), callRow('e3', 1, 44, 1)], erasures: erased() }))).toEqual(['6 erasure']);
    // The call's callback (covered through its sid) left:
    const callback: StoredRow = { table: 'telephony_callbacks', key: callbackKey, requestId: 'e2', content: callbackBody.body };
    expect(invariants(results, observed({ audit: audits, rows: [callRow('e1', 2, 44, 1), callback], erasures: erased() }))).toEqual(['6 erasure']);
    // A requests row the warehouse still counts:
    expect(invariants(results, observed({ audit: audits, rows: [callRow('e1', 2, 44, 1)], erasures: erased({ leftovers: [{ erasure: erasure.key, table: 'requests', rows: 1 }] }) }))).toEqual(['6 erasure']);
  });

  it('keeps holding the rows no erasure covers to their newest version, and the same call id in another tenant is another call', () => {
    const { results, audits } = history();
    expect(invariants(results, observed({ audit: audits, rows: [], erasures: erased() }))).toEqual(['2 newest version']);
    const other = [...results, result(callOp(1, 45, 2), attempt(50, 202, 'e9'))];
    // c1 in tenant 45 is not the erased call (its ids are bound to tenant 44) and must be stored, newest version:
    const rows = [callRow('e1', 2, 44, 1)];
    const bound = { ...erasure, phones: [] };
    expect(invariants(other, observed({ audit: [...audits, audit('e9')], rows, erasures: erased({ inForce: [bound], runs: [] }) }))).toEqual(['2 newest version']);
    expect(invariants(other, observed({ audit: [...audits, audit('e9')], rows: [...rows, callRow('e9', 1, 45, 2)], erasures: erased({ inForce: [bound], runs: [] }) }))).toEqual([]);
  });

  it('fails when an erasure run is not in force, does not name its subject, or a rerun covers less; and on an operator\'s finding', () => {
    const { results, audits } = history();
    const rows = [callRow('e1', 2, 44, 1)];
    expect(invariants(results, observed({ audit: audits, rows, erasures: erased({ runs: [{ ...run, key: 'phone:+1999' }] }) }))).toEqual(['6 erasure']);
    expect(invariants(results, observed({ audit: audits, rows, erasures: erased({ inForce: [{ ...erasure, phones: [] }] }) }))).toEqual(['6 erasure']);
    const rerun = { ...run, run: 2 as const, matched: { callIds: [], callSids: [] } };
    expect(invariants(results, observed({ audit: audits, rows, erasures: erased({ runs: [run, rerun] }) }))).toEqual(['6 erasure']);
    expect(invariants(results, observed({ audit: audits, rows, erasures: erased({ findings: [{ message: 'second sink was not refused', ops: [] }] }) }))).toEqual(['operations']);
  });
});
