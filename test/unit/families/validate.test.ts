import { describe, expect, it } from 'vitest';
import { familyOf, validateCallaroEvent } from '../../../src/families/index.js';
import { MAX_JSON_DEPTH } from '../../../src/events/index.js';
import { exampleCallCompleted } from '../../support/fixtures.js';

describe('validateCallaroEvent', () => {
  it('accepts the canonical call.completed payload and keys it by call_id', () => {
    const result = validateCallaroEvent(exampleCallCompleted());
    expect(result).toMatchObject({ ok: true, value: { family: 'call', entityId: 'vs_12345' } });
  });

  it('keeps fields the sender adds later', () => {
    const result = validateCallaroEvent({ ...exampleCallCompleted(), sentiment: 'positive', recording: { url: 'x' } });
    expect(result.ok && (result.value.event as Record<string, unknown>).sentiment).toBe('positive');
  });

  it('accepts a new event name inside a known family', () => {
    expect(validateCallaroEvent({ event: 'call.transferred', call_id: 'c1' })).toMatchObject({ ok: true, value: { entityId: 'c1' } });
  });

  it('keys campaign events by campaign_id and compliance events by number, else call', () => {
    expect(validateCallaroEvent({ event: 'campaign.paused', campaign_id: 77 })).toMatchObject({ ok: true, value: { family: 'campaign', entityId: '77' } });
    expect(validateCallaroEvent({ event: 'number_health.flagged', number_e164: '+14155550100' })).toMatchObject({
      ok: true,
      value: { family: 'compliance', entityId: '+14155550100' },
    });
    expect(validateCallaroEvent({ event: 'compliance.consent_missing', call_id: 'c9' })).toMatchObject({ ok: true, value: { entityId: 'c9' } });
  });

  it.each(['0000-12-31T23:59:59Z', '9999-12-31T23:59:59-01:00'])('refuses occurred_at %s, outside what a warehouse TIMESTAMP holds', (occurred_at) => {
    expect(validateCallaroEvent({ event: 'call.completed', call_id: 'c1', occurred_at })).toMatchObject({ ok: false, problems: [{ path: 'occurred_at' }] });
  });

  it('accepts occurred_at at both ends of the range', () => {
    for (const occurred_at of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']) expect(validateCallaroEvent({ event: 'call.completed', call_id: 'c1', occurred_at }).ok).toBe(true);
  });

  it('lists each failing field path', () => {
    const result = validateCallaroEvent({ event: 'call.completed', tenant_id: 'forty-four', tool_calls: {} });
    expect(result.ok).toBe(false);
    const paths = !result.ok ? result.problems.map((p) => p.path).sort() : [];
    expect(paths).toEqual(['call_id', 'tenant_id', 'tool_calls']);
  });

  it('refuses an unknown family and a missing event name', () => {
    expect(validateCallaroEvent({ event: 'billing.charged' })).toMatchObject({ ok: false, problems: [{ path: 'event' }] });
    expect(validateCallaroEvent({ call_id: 'x' })).toMatchObject({ ok: false, problems: [{ path: 'event' }] });
  });

  it('names every family\'s event names when refusing an unknown one (the message read from the descriptors)', () => {
    expect(validateCallaroEvent({ event: 'billing.charged' })).toEqual({
      ok: false,
      problems: [{ path: 'event', message: 'unknown event family "billing.charged"; expected call.*, campaign.*, compliance.* or number_health.*' }],
    });
    expect(validateCallaroEvent({ event: 7 })).toEqual({ ok: false, problems: [{ path: 'event', message: 'expected a string event name, e.g. "call.completed"' }] });
  });

  it('finds the family by the prefixes of its descriptor, number_health.* being compliance\'s', () => {
    expect(['call.x', 'campaign.x', 'compliance.x', 'number_health.x', 'calls.x', 'call', 7].map(familyOf)).toEqual(['call', 'campaign', 'compliance', 'compliance', undefined, undefined, undefined]);
  });

  it('refuses integers that JSON cannot carry exactly instead of storing them wrong', () => {
    const result = validateCallaroEvent({ ...exampleCallCompleted(), voice_session_id: 2 ** 53 + 2 });
    expect(result).toMatchObject({ ok: false, problems: [{ path: 'voice_session_id' }] });
    expect(validateCallaroEvent({ ...exampleCallCompleted(), voice_session_id: '9001' })).toMatchObject({ ok: true });
  });

  it('keys a compliance event with an empty number_e164 by its call_id (found by fuzzing: it was keyed by "")', () => {
    expect(validateCallaroEvent({ event: 'compliance.dnc_hit', number_e164: '', call_id: 'c9' })).toMatchObject({ ok: true, value: { entityId: 'c9' } });
  });

  it('refuses text with a lone surrogate, which Avro (UTF-8) would store as U+FFFD (found by fuzzing)', () => {
    const input = JSON.parse('{"event":"call.completed","call_id":"vs_\\ud800","direction":"in\\udc00"}');
    const result = validateCallaroEvent(input);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => p.path).sort()).toEqual(['call_id', 'direction']);
    expect(validateCallaroEvent({ event: 'call.completed', call_id: 'vs_\u{1F600}' })).toMatchObject({ ok: true }); // a pair is fine
  });

  it('keeps a "__proto__" key of a JSON column (found by fuzzing: zod\'s record copy dropped it)', () => {
    const input = JSON.parse('{"event":"call.completed","call_id":"c","extracted_data":{"__proto__":{"x":1},"y":2}}');
    const result = validateCallaroEvent(input);
    expect(result.ok && JSON.stringify((result.value.event as Record<string, unknown>).extracted_data)).toBe('{"__proto__":{"x":1},"y":2}');
  });

  it(`refuses JSON columns nested deeper than ${MAX_JSON_DEPTH} levels, naming the field (JSON.stringify overflowed on deeper ones: a 503)`, () => {
    const nested = (levels: number, wrap: (v: unknown) => unknown) => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = wrap(v);
      return v;
    };
    for (const [field, wrap] of [
      ['extracted_data', (v: unknown) => ({ a: v })],
      ['runtime_vars', (v: unknown) => ({ a: v })],
      ['tool_calls', (v: unknown) => [v]],
    ] as const) {
      expect(validateCallaroEvent({ event: 'call.completed', call_id: 'c', [field]: nested(MAX_JSON_DEPTH, wrap) })).toMatchObject({ ok: true });
      expect(validateCallaroEvent({ event: 'call.completed', call_id: 'c', [field]: nested(MAX_JSON_DEPTH + 1, wrap) })).toMatchObject({
        ok: false,
        problems: [{ path: field }],
      });
    }
  });

  it('requires a subject for compliance events', () => {
    expect(validateCallaroEvent({ event: 'compliance.dnc_hit' })).toMatchObject({ ok: false, problems: [{ path: 'number_e164' }] });
  });
});
