import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../../src/codec/index.js';
import { isCallstreamError } from '../../../src/errors.js';
import { sampleEventRecord } from '../../support/fixtures.js';

const codec = AvroCodec.fromDirectory(schemasDir());

describe('AvroCodec', () => {
  it('round-trips a CallaroEvent through a single-object frame', () => {
    const record = sampleEventRecord();
    const frame = codec.encode(SCHEMA_NAMES.callaroEvent, record);
    expect(frame.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(frame.subarray(2, 10).toString('hex')).toBe(codec.schema(SCHEMA_NAMES.callaroEvent).fingerprint);
    expect(codec.decode(frame).value).toEqual(record);
  });

  it('encodes longs exactly over the whole safe-integer range, as standard Avro zigzag varints (found by fuzzing)', () => {
    // avsc's own long wrote -(2^52)-1 as +2^52 and refused ±(2^53-1) (a 500 for an accepted event).
    const zigzagVarint = (n: number) => {
      let z = n < 0 ? -2n * BigInt(n) - 1n : 2n * BigInt(n);
      const bytes: number[] = [];
      do {
        bytes.push(Number(z & 0x7fn) | (z > 0x7fn ? 0x80 : 0));
        z >>= 7n;
      } while (z > 0n);
      return Buffer.from(bytes);
    };
    for (const n of [0, -1, 1, -(2 ** 52), -(2 ** 52) - 1, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, -62_167_219_200_000]) {
      const record = sampleEventRecord({ request_id: 'r', received_at: n, tenant_id: n });
      const frame = codec.encode(SCHEMA_NAMES.callaroEvent, record);
      const decoded = codec.decode<Record<string, unknown>>(frame).value;
      expect([decoded.received_at, decoded.tenant_id]).toEqual([n, n]);
      // The body starts with request_id (length, bytes), then received_at: the bytes any Avro reader expects.
      const start = Buffer.concat([zigzagVarint(1), Buffer.from('r'), zigzagVarint(n)]);
      expect(frame.subarray(10, 10 + start.length)).toEqual(start);
    }
    expect(() => codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ tenant_id: 2 ** 53 }))).toThrow(expect.objectContaining({ code: 'CODEC_ENCODE_FAILED' }));
  });

  it('refuses a value that does not fit the schema, with a stable code', () => {
    expect(() => codec.encode(SCHEMA_NAMES.callaroEvent, { event: 'call.completed' })).toThrow(
      expect.objectContaining({ code: 'CODEC_ENCODE_FAILED' }),
    );
  });

  it('refuses frames that are not single-object encoded or name an unknown schema', () => {
    expect(() => codec.decode(Buffer.from('{"json":true}'))).toThrow(expect.objectContaining({ code: 'CODEC_BAD_FRAME' }));
    const frame = codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord());
    frame[5] ^= 0xff;
    expect(() => codec.decode(frame)).toThrow(expect.objectContaining({ code: 'CODEC_UNKNOWN_SCHEMA' }));
  });

  it('decodes records written with v1 after the schema gained a field in v2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callstream-schemas-'));
    const v1 = JSON.parse(readFileSync(join(schemasDir(), 'callaro-event.v1.avsc'), 'utf8'));
    writeFileSync(join(dir, 'callaro-event.v1.avsc'), JSON.stringify(v1));
    const oldCodec = AvroCodec.fromDirectory(dir);
    const oldFrame = oldCodec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord());

    const v2 = { ...v1, fields: [...v1.fields, { name: 'sentiment', type: ['null', 'string'], default: null }] };
    writeFileSync(join(dir, 'callaro-event.v2.avsc'), JSON.stringify(v2));
    const newCodec = AvroCodec.fromDirectory(dir);
    const decoded = newCodec.decode<Record<string, unknown>>(oldFrame);
    expect(decoded.schema.version).toBe(1);
    expect(decoded.value.sentiment).toBeNull();
    expect(decoded.value.call_id).toBe('vs_12345');
    // New records are written with v2.
    const newFrame = newCodec.encode(SCHEMA_NAMES.callaroEvent, { ...sampleEventRecord(), sentiment: 'positive' });
    expect(newCodec.decode(newFrame).schema.version).toBe(2);
  });

  it('names schema files it cannot version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callstream-schemas-'));
    writeFileSync(join(dir, 'unversioned.avsc'), '"string"');
    let error: unknown;
    try {
      AvroCodec.fromDirectory(dir);
    } catch (err) {
      error = err;
    }
    expect(isCallstreamError(error, 'CFG_INVALID')).toBe(true);
    expect(String((error as Error).message)).toContain('unversioned.avsc');
  });
});
