import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../../src/codec/index.js';
import { callaroRow } from '../../../src/sink/callaro-rows.js';
import { CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS } from '../../../src/warehouse/index.js';
import { sampleEventRecord } from '../../support/fixtures.js';

const codec = AvroCodec.fromDirectory(schemasDir());
const newest = JSON.parse(readFileSync(join(schemasDir(), codec.schema(SCHEMA_NAMES.callaroEvent).file), 'utf8')) as { fields: Array<{ name: string }> };
const eventFields = new Set(newest.fields.map((f) => f.name));
/** Columns the sink derives: the key (entity_id), event_type (event), event_time, where the row came from, and the numbers' last four digits (src/sink/pii.ts). */
const DERIVED = ['event_type', 'event_time', 'kafka_partition', 'kafka_offset', 'ingested_at', 'from_last4', 'to_last4', 'number_last4'];

describe('Callaro event tables follow schemas/callaro-event (newest version)', () => {
  it.each([CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS])('every column of $name is a CallaroEvent field or derived by the sink', (spec) => {
    const key = spec.keyColumns[0];
    const strays = spec.columns.map((c) => c.name).filter((name) => name !== key && !DERIVED.includes(name) && !eventFields.has(name));
    expect(strays).toEqual([]);
  });

  it('maps a record, round-tripped through Avro, to its row', () => {
    const frame = codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ occurred_at: 1_764_230_000_000 }));
    const { value } = codec.decode<Record<string, unknown>>(frame);
    const mapped = callaroRow(value, { partition: 2, offset: 41 }, 1_800_000_000_000)!;
    expect(mapped.spec).toBe(CALL_EVENTS);
    expect(mapped.row).toMatchObject({
      call_id: 'vs_12345',
      event_type: 'call.completed',
      voice_session_id: 9001,
      event_time: 1_764_230_000_000,
      kafka_partition: 2,
      kafka_offset: 41,
      ingested_at: 1_800_000_000_000,
      republished_at: null,
    });
    expect(Object.keys(mapped.row).sort()).toEqual(CALL_EVENTS.columns.map((c) => c.name).sort());
  });
});
