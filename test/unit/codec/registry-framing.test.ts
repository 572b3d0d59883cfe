import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SCHEMA_NAMES, schemasDir, type SchemaRegistryClient } from '../../../src/codec/index.js';
import { CallstreamError } from '../../../src/errors.js';
import { sampleEventRecord } from '../../support/fixtures.js';

/** An in-memory registry with the client's surface: ids by schema text, like Confluent's. */
class FakeRegistry {
  readonly schemas = new Map<number, string>();
  readonly subjects = new Map<string, number[]>();
  down = false;
  refuseCredentials = false;
  fetches = 0;

  async register(subject: string, schema: string): Promise<number> {
    this.check();
    const id = this.idOf(schema) ?? this.add(schema);
    this.subjects.set(subject, [...(this.subjects.get(subject) ?? []), id]);
    return id;
  }

  async lookup(subject: string, schema: string): Promise<number> {
    this.check();
    const id = this.idOf(schema);
    if (id === undefined || !this.subjects.get(subject)?.includes(id)) throw new CallstreamError('CODEC_REGISTRY_REFUSED', `Schema not found under ${subject}`);
    return id;
  }

  async schemaById(id: number): Promise<string> {
    this.check();
    this.fetches++;
    if (this.refuseCredentials) throw new CallstreamError('CODEC_REGISTRY_REFUSED', 'Unauthorized', { details: { status: 401 } });
    const schema = this.schemas.get(id);
    if (schema === undefined) throw new CallstreamError('CODEC_REGISTRY_REFUSED', `Schema ${id} not found`, { details: { status: 404 } });
    return schema;
  }

  add(schema: string): number {
    const id = this.schemas.size + 101;
    this.schemas.set(id, schema);
    return id;
  }

  private idOf(schema: string): number | undefined {
    return [...this.schemas].find(([, s]) => s === schema)?.[0];
  }

  private check(): void {
    if (this.down) throw new CallstreamError('CODEC_REGISTRY_UNAVAILABLE', 'injected: registry down');
  }
}

const SUBJECTS = [{ subject: 'events-value', schemaName: SCHEMA_NAMES.callaroEvent }];
const asClient = (r: FakeRegistry) => r as unknown as SchemaRegistryClient;

async function registryCodec(registry: FakeRegistry, options = {}): Promise<AvroCodec> {
  const codec = AvroCodec.fromDirectory(schemasDir());
  await codec.useRegistry(asClient(registry), SUBJECTS, options);
  return codec;
}

describe('AvroCodec with a schema registry (Confluent wire format)', () => {
  it('writes 0x00, the big-endian schema id and the plain Avro body', async () => {
    const registry = new FakeRegistry();
    const codec = await registryCodec(registry);
    const record = sampleEventRecord();
    const frame = codec.encode(SCHEMA_NAMES.callaroEvent, record);
    const id = registry.subjects.get('events-value')![0];
    expect(frame[0]).toBe(0);
    expect(frame.readUInt32BE(1)).toBe(id);
    expect(frame.subarray(5)).toEqual(codec.schema(SCHEMA_NAMES.callaroEvent).type.toBuffer(record));
    expect(codec.decode(frame).value).toEqual(record);
  });

  it('registers the schema as written in its file, and only looks it up when auto-registration is off', async () => {
    const registry = new FakeRegistry();
    await expect(registryCodec(registry, { autoRegister: false })).rejects.toMatchObject({ code: 'CODEC_REGISTRY_REFUSED' });
    await registryCodec(registry);
    const registered = JSON.parse(registry.schemas.values().next().value!);
    expect(registered.name).toBe('CallaroEvent');
    expect(registered.fields.some((f: { name: string }) => f.name === 'republished_at')).toBe(true);
    const codec = await registryCodec(registry, { autoRegister: false });
    expect(codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord()).readUInt32BE(1)).toBe(registry.subjects.get('events-value')![0]);
  });

  it('reads registry frames written by another process once prefetch() fetched their schema, and still reads single-object frames', async () => {
    const registry = new FakeRegistry();
    const writer = await registryCodec(registry);
    const reader = AvroCodec.fromDirectory(schemasDir());
    const plain = AvroCodec.fromDirectory(schemasDir()).encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ request_id: 'plain' }));
    const framed = writer.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ request_id: 'framed' }));
    expect(() => reader.decode(framed)).toThrow(expect.objectContaining({ code: 'CODEC_UNKNOWN_SCHEMA', message: expect.stringMatching(/no schema registry is configured/) }));
    await reader.useRegistry(asClient(registry), []);
    await reader.prefetch([framed, plain, null, framed]);
    expect(registry.fetches).toBe(1);
    expect(reader.decode(framed).value).toMatchObject({ request_id: 'framed' });
    expect(reader.decode(plain).value).toMatchObject({ request_id: 'plain' });
    await reader.prefetch([framed]);
    expect(registry.fetches).toBe(1); // ids are immutable: fetched once
  });

  it('resolves a newer writer schema it has no file for into the newest local version', async () => {
    const registry = new FakeRegistry();
    const codec = await registryCodec(registry);
    const local = JSON.parse(codec.schema(SCHEMA_NAMES.callaroEvent).json);
    const newer = { ...local, fields: [...local.fields, { name: 'sentiment', type: ['null', 'string'], default: null }] };
    const newerType = avro.Type.forSchema(newer);
    const id = registry.add(JSON.stringify(newer));
    const record = { ...sampleEventRecord({ request_id: 'newer' }), sentiment: 'positive' };
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), newerType.toBuffer(record)]);
    frame.writeUInt32BE(id, 1);
    await codec.prefetch([frame]);
    const { value, schema } = codec.decode<Record<string, unknown>>(frame);
    expect(value).toEqual(sampleEventRecord({ request_id: 'newer' }));
    expect(schema).toMatchObject({ name: SCHEMA_NAMES.callaroEvent, file: `schema registry id ${id}` });
  });

  it('turns an unknown id, a foreign record or an unreadable schema into CODEC_UNKNOWN_SCHEMA (a dead letter), and a down registry into CODEC_REGISTRY_UNAVAILABLE (a retry)', async () => {
    const registry = new FakeRegistry();
    const codec = await registryCodec(registry);
    const frameWith = (id: number) => Buffer.from([0, 0, 0, 0, id, 2, 0x61]);
    const foreign = registry.add(JSON.stringify({ type: 'record', name: 'Order', namespace: 'shop', fields: [{ name: 'id', type: 'string' }] }));
    const local = JSON.parse(codec.schema(SCHEMA_NAMES.callaroEvent).json);
    const retyped = registry.add(JSON.stringify({ ...local, fields: local.fields.map((f: { name: string }) => (f.name === 'request_id' ? { name: 'request_id', type: 'int' } : f)) }));
    registry.down = true;
    await expect(codec.prefetch([frameWith(99)])).rejects.toMatchObject({ code: 'CODEC_REGISTRY_UNAVAILABLE' });
    registry.down = false;
    registry.refuseCredentials = true; // a 401: not the record's fault, so not a dead letter
    await expect(codec.prefetch([frameWith(99)])).rejects.toMatchObject({ code: 'CODEC_REGISTRY_REFUSED' });
    registry.refuseCredentials = false;
    await codec.prefetch([frameWith(99), frameWith(foreign), frameWith(retyped)]);
    expect(() => codec.decode(frameWith(99))).toThrow(expect.objectContaining({ code: 'CODEC_UNKNOWN_SCHEMA', message: expect.stringMatching(/Schema id 99/) }));
    expect(() => codec.decode(frameWith(foreign))).toThrow(expect.objectContaining({ code: 'CODEC_UNKNOWN_SCHEMA', message: expect.stringMatching(/shop.Order/) }));
    expect(() => codec.decode(frameWith(retyped))).toThrow(expect.objectContaining({ code: 'CODEC_UNKNOWN_SCHEMA', message: expect.stringMatching(/cannot be read/) }));
  });
});
