import { describe, expect, it } from 'vitest';
import { check, type Observed } from './checker.js';
import { generateSchedule } from './generator.js';
import { callKey, type Op } from './ops.js';
import { buildModel } from './model.js';
import type { AuditRecord, StoredRow } from './observe.js';
import { NASTY_CLASSES } from './options.js';
import { callaroRequest } from './payloads.js';
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
