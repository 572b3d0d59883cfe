import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { ErasureSet, erasureRecord, parseErasure, type Erasure } from '../../../src/erasure/index.js';
import { createLogger } from '../../../src/logger.js';
import { CALL_EVENTS, COMPLIANCE_EVENTS, DEAD_LETTERS, REQUESTS, TELEPHONY_CALLBACKS, type Row } from '../../../src/warehouse/index.js';

// Counts how often a table's match is built from a scope (what the set did for every record it refused);
// a counter, not vi.fn, which would keep every scope passed.
const builds = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../../src/erasure/erasure.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/erasure/erasure.js')>();
  return { ...original, tableMatch: (...args: Parameters<typeof original.tableMatch>) => (builds.count++, original.tableMatch(...args)) };
});

const erasure = (over: Partial<Erasure>): Erasure => ({ key: 'phone:k1:aa', kind: 'phone', erasedAt: '2026-12-01T00:00:00.000Z', phones: [], callIds: [], callSids: [], tenants: [], ...over });
const call = (over: Row): Row => ({ call_id: 'vs_1', call_sid: 'CA1', from_e164: 'k1:zz', to_e164: 'k1:yy', tenant_id: 44, ...over });

describe('ErasureSet', () => {
  it('covers the rows of an erased number, call or tenant, and nothing else', () => {
    const set = new ErasureSet();
    expect(set.covers(CALL_EVENTS, call({}))).toBe(false);
    set.apply('phone:k1:aa', erasure({ phones: ['k1:aa'] }));
    set.apply('tenant:45', erasure({ key: 'tenant:45', kind: 'tenant', tenants: [45] }));
    expect(set.covers(CALL_EVENTS, call({ to_e164: 'k1:aa' }))).toBe(true);
    expect(set.covers(CALL_EVENTS, call({ call_id: 'vs_2', call_sid: 'CA2', tenant_id: 45 }))).toBe(true);
    expect(set.covers(CALL_EVENTS, call({ call_id: 'vs_3', call_sid: 'CA3' }))).toBe(false);
    expect(set.covers(TELEPHONY_CALLBACKS, { call_sid: 'CA9', provider_call_id: 'CA9', fields: JSON.stringify({ From: ['k1:aa'] }) })).toBe(true);
    expect(set.covers(TELEPHONY_CALLBACKS, { call_sid: 'CA9', provider_call_id: 'CA9', fields: 'not json' })).toBe(false);
  });

  it('learns the ids of a call it refused, so the call\'s callbacks and requests follow', () => {
    const set = new ErasureSet();
    set.apply('phone:k1:aa', erasure({ phones: ['k1:aa'] }));
    expect(set.covers(REQUESTS, { entity_key: 'vs_7', call_sid: null })).toBe(false);
    expect(set.covers(CALL_EVENTS, call({ call_id: 'vs_7', call_sid: 'CA7', from_e164: 'k1:aa' }))).toBe(true);
    expect(set.covers(REQUESTS, { entity_key: 'vs_7', call_sid: null })).toBe(true);
    expect(set.covers(TELEPHONY_CALLBACKS, { call_sid: 'CA7', provider_call_id: 'CA7', fields: '{}' })).toBe(true);
  });

  it('lifts an erasure on a tombstone', () => {
    const set = new ErasureSet();
    set.apply('call:vs_1', erasure({ key: 'call:vs_1', kind: 'call', callIds: ['vs_1'] }));
    expect(set.covers(CALL_EVENTS, call({}))).toBe(true);
    set.apply('call:vs_1', parseErasure(null));
    expect(set.size).toBe(0);
    expect(set.covers(CALL_EVENTS, call({}))).toBe(false);
  });

  it('round-trips through its topic record, keyed by subject', () => {
    const e = erasure({ phones: ['k1:aa'], callIds: ['vs_1'], tenants: [44] });
    const record = erasureRecord('callstream.erasures', e);
    expect(record.key).toBe('phone:k1:aa');
    expect(parseErasure(record.value)).toEqual(e);
  });
});

describe('ErasureSet at scale', () => {
  const tenant44 = erasure({ key: 'tenant:44', kind: 'tenant', tenants: [44] });
  const callOf44 = (i: number) => call({ call_id: `e44_${i}`, call_sid: `CAe44_${i}`, tenant_id: 44 });
  const callbackOf = (sid: string): Row => ({ call_sid: sid, provider_call_id: sid, fields: '{}' });

  it('keeps the calls it learns bounded: 12,000 calls of an erased tenant leave at most the limit, the oldest evicted and counted', () => {
    const evictions: number[] = [];
    const set = new ErasureSet({ learnedLimit: 1_000, onEvict: (n) => evictions.push(n) });
    set.apply('tenant:44', tenant44);
    for (let i = 0; i < 12_000; i++) {
      expect(set.covers(CALL_EVENTS, callOf44(i))).toBe(true);
      expect(set.covers(REQUESTS, { entity_key: `e44_${i}`, call_sid: `CAe44_${i}` })).toBe(true);
      if (i === 1_000) expect(set.stats().learnedCalls).toBe(1_000);
    }
    const stats = set.stats();
    expect(stats).toMatchObject({ erasures: 1, learnedCalls: 1_000, evicted: 11_000 });
    // Each learned call indexes its id and its call sid, the tenant erasure its tenant: nothing grows with the calls refused.
    expect(stats.indexedValues).toBe(1 + 2 * 1_000);
    expect(evictions.reduce((a, b) => a + b, 0)).toBe(11_000);
    // The newest calls' callbacks are still refused; the oldest's are not (the documented cost of the bound).
    expect(set.covers(TELEPHONY_CALLBACKS, callbackOf('CAe44_11999'))).toBe(true);
    expect(set.covers(TELEPHONY_CALLBACKS, callbackOf('CAe44_11000'))).toBe(true);
    expect(set.covers(TELEPHONY_CALLBACKS, callbackOf('CAe44_0'))).toBe(false);
  });

  it('keeps a call it meets again among the kept ones (least recently refused goes first)', () => {
    const set = new ErasureSet({ learnedLimit: 2 });
    set.apply('tenant:44', tenant44);
    set.covers(CALL_EVENTS, callOf44(1));
    set.covers(CALL_EVENTS, callOf44(2));
    set.covers(CALL_EVENTS, callOf44(1)); // a redelivery: call 1 is the most recent now
    set.covers(CALL_EVENTS, callOf44(3));
    expect(set.covers(TELEPHONY_CALLBACKS, callbackOf('CAe44_1'))).toBe(true);
    expect(set.covers(TELEPHONY_CALLBACKS, callbackOf('CAe44_2'))).toBe(false);
    expect(set.covers(TELEPHONY_CALLBACKS, callbackOf('CAe44_3'))).toBe(true);
  });

  it('builds no match per record: 12,000 refused calls and 12,000 written ones, no table match built after the erasure is applied', () => {
    const set = new ErasureSet();
    set.apply('tenant:44', tenant44);
    set.apply('phone:k1:aa', erasure({ phones: ['k1:aa'], callIds: ['vs_a'], callSids: ['CAa'] }));
    const built = builds.count;
    for (let i = 0; i < 12_000; i++) {
      expect(set.covers(CALL_EVENTS, callOf44(i))).toBe(true);
      expect(set.covers(CALL_EVENTS, call({ call_id: `o_${i}`, call_sid: `CAo_${i}`, tenant_id: 46 }))).toBe(false);
      expect(set.covers(TELEPHONY_CALLBACKS, { call_sid: `CAo_${i}`, provider_call_id: `CAo_${i}`, fields: '{"From":"k1:bb"}' })).toBe(false);
      expect(builds.count - built, `tables matches built after ${i + 1} calls`).toBe(0);
    }
    expect(set.stats().learnedCalls).toBe(12_000);
  });
});

describe('ErasureSet: an erasure reaches its subject and nothing else', () => {
  it('binds a call id learned from an erased tenant\'s call to that tenant: another tenant\'s call with the same id is written', () => {
    const set = new ErasureSet();
    set.apply('tenant:44', erasure({ key: 'tenant:44', kind: 'tenant', tenants: [44] }));
    expect(set.covers(CALL_EVENTS, call({ call_id: 'V1', call_sid: null, tenant_id: 44 }))).toBe(true);
    expect(set.covers(CALL_EVENTS, call({ call_id: 'V1', call_sid: null, tenant_id: 45 }))).toBe(false);
    expect(set.covers(COMPLIANCE_EVENTS, { subject_id: 'V1', call_id: 'V1', number_e164: null, tenant_id: 45 })).toBe(false);
    // Rows that name no tenant cannot be told apart: the id covers them (requests and dead letters hold ids and status only).
    expect(set.covers(REQUESTS, { entity_key: 'V1', call_sid: null })).toBe(true);
    expect(set.covers(CALL_EVENTS, call({ call_id: 'V1', call_sid: null, tenant_id: null }))).toBe(true);
  });

  it('binds the ids learned through an erased number to the tenant of the call they came from', () => {
    const set = new ErasureSet();
    set.apply('phone:k1:aa', erasure({ phones: ['k1:aa'] }));
    expect(set.covers(CALL_EVENTS, call({ call_id: 'V1', call_sid: 'CAV1', from_e164: 'k1:aa', tenant_id: 44 }))).toBe(true);
    expect(set.covers(CALL_EVENTS, call({ call_id: 'V1', call_sid: 'CAV9', from_e164: 'k1:cc', tenant_id: 45 }))).toBe(false);
    expect(set.covers(TELEPHONY_CALLBACKS, { call_sid: 'CAV1', provider_call_id: 'CAV1', fields: '{}' })).toBe(true);
    expect(set.covers(TELEPHONY_CALLBACKS, { call_sid: 'CAV9', provider_call_id: 'CAV9', fields: '{}' })).toBe(false);
  });

  it('binds the call ids an erasure resolved to the tenants of those calls; a call id erasure covers its id in every tenant', () => {
    const set = new ErasureSet();
    set.apply('tenant:44', erasure({ key: 'tenant:44', kind: 'tenant', tenants: [44], callIds: ['e44_1'], callSids: ['CAe44_1'], callTenants: [44] }));
    expect(set.covers(CALL_EVENTS, call({ call_id: 'e44_1', call_sid: 'CAx', tenant_id: 45 }))).toBe(false);
    expect(set.covers(CALL_EVENTS, call({ call_id: 'e45_1', call_sid: 'CAe44_1', tenant_id: 45 }))).toBe(false);
    expect(set.covers(DEAD_LETTERS, { entity_key: 'e44_1' })).toBe(true);
    set.apply('call:e44_1', erasure({ key: 'call:e44_1', kind: 'call', callIds: ['e44_1'] }));
    expect(set.covers(CALL_EVENTS, call({ call_id: 'e44_1', call_sid: 'CAx', tenant_id: 45 }))).toBe(true);
  });

  it('lifts the calls it learned through an erasure with the erasure (a tombstone)', () => {
    const set = new ErasureSet();
    set.apply('tenant:44', erasure({ key: 'tenant:44', kind: 'tenant', tenants: [44] }));
    expect(set.covers(CALL_EVENTS, call({ call_id: 'V1', call_sid: 'CAV1', tenant_id: 44 }))).toBe(true);
    set.apply('tenant:44', null);
    expect(set.covers(TELEPHONY_CALLBACKS, { call_sid: 'CAV1', provider_call_id: 'CAV1', fields: '{}' })).toBe(false);
    expect(set.stats()).toMatchObject({ erasures: 0, learnedCalls: 0, indexedValues: 0 });
  });
});

describe('the logger', () => {
  it('never prints the hash key', () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    createLogger({ level: 'info', destination }).info({ config: { piiHashKey: 'secret-key-0123456789abcdef0123456789' } }, 'config');
    expect(lines.join('')).not.toContain('secret-key');
  });
});
