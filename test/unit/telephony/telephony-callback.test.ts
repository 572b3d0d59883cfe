import { describe, expect, it } from 'vitest';
import type { CallbackFieldNames } from '../../../src/config/index.js';
import { fieldAt, normalizeCallback, parseProviderTime } from '../../../src/telephony/index.js';

const twilio: CallbackFieldNames = { callId: 'CallSid', callSid: 'CallSid', status: ['CallStatus'], time: 'Timestamp' };
const generic: CallbackFieldNames = { callId: 'call_sid', callSid: 'call_sid', status: ['status', 'event'], time: 'timestamp' };

describe('normalizeCallback', () => {
  it('reads a Twilio status callback: CallSid, CallStatus and the RFC 2822 Timestamp', () => {
    const result = normalizeCallback({ CallSid: 'CA42', CallStatus: 'completed', Timestamp: 'Fri, 27 Nov 2026 12:00:05 +0000', CallDuration: '31' }, twilio);
    expect(result).toEqual({ ok: true, value: { providerCallId: 'CA42', callbackStatus: 'completed', callSid: 'CA42', occurredAt: Date.UTC(2026, 10, 27, 12, 0, 5) } });
  });

  it('takes the first status field present and numbers as ids', () => {
    expect(normalizeCallback({ call_sid: 1234, event: 'billing.charged' }, generic)).toMatchObject({ ok: true, value: { providerCallId: '1234', callbackStatus: 'billing.charged', occurredAt: null } });
    expect(normalizeCallback({ call_sid: 'CA1', status: 'paid', event: 'ignored' }, generic)).toMatchObject({ value: { callbackStatus: 'paid' } });
  });

  it('follows dotted paths into nested JSON and a separate call_sid field', () => {
    const names: CallbackFieldNames = { callId: 'data.call.id', callSid: 'data.call.telephony_sid', status: ['data.event'], time: 'data.occurred_at' };
    const fields = { data: { event: 'call.hangup', occurred_at: '2026-11-27T12:00:00Z', call: { id: 'relay-7', telephony_sid: 'CA7' } } };
    expect(normalizeCallback(fields, names)).toEqual({
      ok: true,
      value: { providerCallId: 'relay-7', callbackStatus: 'call.hangup', callSid: 'CA7', occurredAt: Date.UTC(2026, 10, 27, 12) },
    });
    expect(normalizeCallback({ data: { event: 'x', call: { id: 'r' } } }, names)).toMatchObject({ value: { callSid: null } });
  });

  it('lists every missing field the vendor\'s configuration names', () => {
    expect(normalizeCallback({ CallStatus: '' }, twilio)).toEqual({
      ok: false,
      problems: [
        { path: 'CallSid', message: expect.stringMatching(/provider call id/) },
        { path: 'CallStatus', message: expect.stringMatching(/callback status/) },
      ],
    });
    expect(normalizeCallback({ call_sid: 'x'.repeat(257), status: 'ok' }, generic)).toMatchObject({ ok: false, problems: [{ path: 'call_sid' }] });
    expect(normalizeCallback({ call_sid: { nested: true }, status: ['a'] }, generic)).toMatchObject({ ok: false, problems: [{ path: 'call_sid' }, { path: 'status | event' }] });
  });

  it('never finds a field on the prototype', () => {
    expect(fieldAt({}, 'constructor')).toBeUndefined();
    expect(fieldAt({ a: {} }, 'a.toString')).toBeUndefined();
  });
});

describe('parseProviderTime', () => {
  it.each([
    ['2026-11-27T12:00:00Z', Date.UTC(2026, 10, 27, 12)],
    ['Fri, 27 Nov 2026 12:00:00 +0000', Date.UTC(2026, 10, 27, 12)],
    [1795780800, 1795780800_000],
    ['1795780800', 1795780800_000],
    [1795780800_123, 1795780800_123],
    ['yesterday-ish', null],
    [null, null],
    [-5, null],
    // Past what a warehouse TIMESTAMP holds (9999-12-31): left out, the receipt time stands in.
    ['99999999999999999', null],
    [253_402_300_800_000, null],
    ['+275760-09-13T00:00:00Z', null],
  ])('%s -> %s', (value, expected) => {
    expect(parseProviderTime(value)).toBe(expected);
  });
});
