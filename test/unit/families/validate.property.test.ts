import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateCallaroEvent } from '../../../src/families/index.js';
import {
  brokenEvent,
  callaroEvent,
  callEvent,
  campaignEvent,
  complianceEvent,
  expectedEventRecord,
  isoTimestamp,
  jsonValue,
  loneSurrogate,
  type EventObject,
} from '../../support/callaro-arbitraries.js';

/** What the receiver validates: the body text parsed again, as JSON.parse gives it. */
const asReceived = (event: EventObject) => JSON.parse(JSON.stringify(event)) as EventObject;

const RUNS = { numRuns: 300 };

describe('validateCallaroEvent (properties)', () => {
  it.each([
    ['call', callEvent],
    ['campaign', campaignEvent],
    ['compliance', complianceEvent],
  ])('accepts every valid %s event, unknown fields included, keyed by the README key rule', (family, arb) => {
    fc.assert(
      fc.property(arb, (generated) => {
        const input = asReceived(generated);
        const result = validateCallaroEvent(input);
        if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.problems)}`);
        expect(result.value.family).toBe(family);
        expect(result.value.entityId).toBe(expectedEventRecord(input, '', '', 0).entity_id);
      }),
      RUNS,
    );
  });

  it('refuses an event with one broken field, naming that field', () => {
    fc.assert(
      fc.property(brokenEvent, ({ event, breakage }) => {
        const result = validateCallaroEvent(asReceived(event));
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.problems.map((p) => p.path)).toContain(breakage.path);
        for (const problem of result.problems) {
          expect(problem.path).not.toBe('');
          expect(problem.message).not.toBe('');
        }
      }),
      RUNS,
    );
  });

  it('answers any JSON object without throwing; every refusal names a non-empty field path', () => {
    const anyObject = fc.oneof(
      fc.dictionary(fc.string(), jsonValue(), { maxKeys: 6 }),
      fc.tuple(fc.dictionary(fc.string(), jsonValue(), { maxKeys: 6 }), callaroEvent).map(([noise, event]) => ({ ...event, ...noise })),
    );
    fc.assert(
      fc.property(anyObject, (generated) => {
        const result = validateCallaroEvent(asReceived(generated));
        if (result.ok) return;
        expect(result.problems.length).toBeGreaterThan(0);
        for (const problem of result.problems) {
          expect(typeof problem.path).toBe('string');
          expect(problem.path).not.toBe('');
          expect(problem.message).not.toBe('');
        }
      }),
      RUNS,
    );
  });

  it('refuses text fields with a lone surrogate (UTF-8, and so Avro, cannot carry it), naming the field', () => {
    const field = fc.constantFrom('call_id', 'call_sid', 'direction', 'from_e164', 'to_e164');
    fc.assert(
      fc.property(callEvent, field, fc.string(), loneSurrogate, (event, name, prefix, surrogate) => {
        const result = validateCallaroEvent(asReceived({ ...event, [name]: `${prefix}${surrogate}` }));
        expect(result).toMatchObject({ ok: false, problems: expect.arrayContaining([expect.objectContaining({ path: name })]) });
      }),
      { numRuns: 100 },
    );
  });

  it('reads every accepted timestamp as the instant it names (Date.parse, extra fraction digits truncated)', () => {
    fc.assert(
      fc.property(isoTimestamp, (time) => {
        expect(validateCallaroEvent({ event: 'call.completed', call_id: 'c', occurred_at: time.text })).toMatchObject({ ok: true });
        expect(Date.parse(time.text)).toBe(time.ms);
      }),
      RUNS,
    );
  });
});
