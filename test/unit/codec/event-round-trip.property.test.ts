import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../../src/codec/index.js';
import { validateCallaroEvent } from '../../../src/families/index.js';
import { toEventRecord } from '../../../src/receiver/event-record.js';
import { callaroEvent, expectedEventRecord, loneSurrogate, type EventObject } from '../../support/callaro-arbitraries.js';

const codec = AvroCodec.fromDirectory(schemasDir());

const receipt = fc.record({ requestId: fc.uuid(), receivedAt: fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') }) });

/** Sometimes puts a lone surrogate into a text field: accepted or not, nothing may be stored altered. */
const maybeHostile = fc.tuple(callaroEvent, fc.option(fc.tuple(fc.constantFrom('call_id', 'call_sid', 'direction', 'number_e164', 'campaign_id'), loneSurrogate))).map(
  ([event, hostile]): EventObject => (hostile && typeof event[hostile[0]] === 'string' ? { ...event, [hostile[0]]: `${event[hostile[0]]}${hostile[1]}` } : event),
);

describe('CallaroEvent records (properties)', () => {
  it('every accepted event encodes and decodes to the record the contract expects, payload text kept exactly', () => {
    fc.assert(
      fc.property(maybeHostile, receipt, (event, { requestId, receivedAt }) => {
        const payload = JSON.stringify(event);
        const input = JSON.parse(payload) as EventObject;
        const result = validateCallaroEvent(input);
        fc.pre(result.ok);
        if (!result.ok) return;
        const record = toEventRecord(result.value, payload, requestId, receivedAt);
        const frame = codec.encode(SCHEMA_NAMES.callaroEvent, record);
        const decoded = codec.decode<Record<string, unknown>>(frame).value;
        expect(decoded).toEqual(expectedEventRecord(input, payload, requestId, receivedAt));
        expect(decoded.payload).toBe(payload);
        expect(decoded.entity_id).toBe(result.value.entityId);
      }),
      { numRuns: 300 },
    );
  });
});
