import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErasureSet, erasureRecord, parseErasure, type Erasure } from '../../../src/erasure/index.js';
import { createLogger } from '../../../src/logger.js';
import { CALL_EVENTS, REQUESTS, TELEPHONY_CALLBACKS, type Row } from '../../../src/warehouse/index.js';

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

describe('the logger', () => {
  it('never prints the hash key', () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    createLogger({ level: 'info', destination }).info({ config: { piiHashKey: 'secret-key-0123456789abcdef0123456789' } }, 'config');
    expect(lines.join('')).not.toContain('secret-key');
  });
});
