import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../../src/codec/index.js';
import { telephonyRow } from '../../../src/sink/index.js';
import { TELEPHONY_CALLBACKS } from '../../../src/warehouse/index.js';
import { sampleCallbackRecord } from '../../support/fixtures.js';

const codec = AvroCodec.fromDirectory(schemasDir());

const record = sampleCallbackRecord();

describe('telephonyRow', () => {
  it('maps a TelephonyCallback, round-tripped through its Avro schema, to a telephony_callbacks row', () => {
    const { value, schema } = codec.decode<Record<string, unknown>>(codec.encode(SCHEMA_NAMES.telephonyCallback, record));
    expect(schema.name).toBe(SCHEMA_NAMES.telephonyCallback);
    const { spec, row } = telephonyRow(value, { partition: 2, offset: 17 }, 1_764_230_500_000);
    expect(spec).toBe(TELEPHONY_CALLBACKS);
    expect(row).toEqual({
      vendor_slug: 'twilio',
      provider_call_id: 'CA1',
      callback_status: 'completed',
      call_sid: 'CA1',
      content_type: 'application/x-www-form-urlencoded',
      fields: '{"CallSid":"CA1","CallStatus":"completed"}',
      raw_body: 'CallSid=CA1&CallStatus=completed',
      occurred_at: null,
      event_time: 1_764_230_400_000,
      request_id: record.request_id,
      received_at: 1_764_230_400_000,
      kafka_partition: 2,
      kafka_offset: 17,
      ingested_at: 1_764_230_500_000,
    });
  });

  it('uses the provider\'s event time when there is one', () => {
    expect(telephonyRow({ ...record, occurred_at: 5 }, { partition: 0, offset: 0 }).row.event_time).toBe(5);
  });

  it('derives the table from the schema: every column is a field of TelephonyCallback or a sink-derived one', () => {
    const schema = JSON.parse(readFileSync(join(schemasDir(), 'telephony-callback.v1.avsc'), 'utf8')) as { fields: Array<{ name: string }> };
    const fields = new Set(schema.fields.map((f) => f.name));
    const derived = ['event_time', 'kafka_partition', 'kafka_offset', 'ingested_at'];
    expect(TELEPHONY_CALLBACKS.columns.map((c) => c.name).filter((name) => !fields.has(name) && !derived.includes(name))).toEqual([]);
    expect(TELEPHONY_CALLBACKS.keyColumns.every((k) => fields.has(k))).toBe(true);
  });
});
