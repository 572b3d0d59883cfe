import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AvroCodec, SCHEMA_NAMES, SchemaRegistryClient, schemasDir } from '../../src/codec/index.js';
import { sampleEventRecord } from '../support/fixtures.js';
import { requireRegistry, SCHEMA_REGISTRY_URL } from '../support/schema-registry.js';

// The real client against a real Confluent-compatible registry (Apicurio's ccompat API).
const client = () => new SchemaRegistryClient({ url: SCHEMA_REGISTRY_URL });
const subject = () => `test.${randomUUID().slice(0, 8)}.events-value`;
const localSchema = () => JSON.parse(AvroCodec.fromDirectory(schemasDir()).schema(SCHEMA_NAMES.callaroEvent).json);

describe('SchemaRegistryClient against the registry', () => {
  it('registers a schema once (same id again, and under another subject), looks it up and reads it back by id', async () => {
    await requireRegistry();
    const codec = AvroCodec.fromDirectory(schemasDir());
    const json = codec.schema(SCHEMA_NAMES.callaroEvent).json;
    const [a, b] = [subject(), subject()];
    const id = await client().register(a, json);
    expect(await client().register(a, json)).toBe(id);
    expect(await client().register(b, json)).toBe(id);
    expect(await client().lookup(a, json)).toBe(id);
    const back = JSON.parse(await client().schemaById(id));
    expect(back.name).toBe('CallaroEvent');
    expect(back.fields.map((f: { name: string }) => f.name)).toEqual(localSchema().fields.map((f: { name: string }) => f.name));
  });

  it('reports refusals with the registry\'s answer: an unknown id, a schema not under the subject, an incompatible change', async () => {
    await requireRegistry();
    await expect(client().schemaById(987_654_321)).rejects.toMatchObject({ code: 'CODEC_REGISTRY_REFUSED', details: { status: 404 } });
    const s = subject();
    const local = localSchema();
    await expect(client().lookup(s, JSON.stringify(local))).rejects.toMatchObject({ code: 'CODEC_REGISTRY_REFUSED', details: { status: 404 } });
    await client().register(s, JSON.stringify(local));
    // A new field without a default breaks BACKWARD compatibility (the registry's global rule, as Confluent's default).
    const breaking = { ...local, fields: [...local.fields, { name: 'must_have', type: 'string' }] };
    await expect(client().register(s, JSON.stringify(breaking))).rejects.toMatchObject({ code: 'CODEC_REGISTRY_REFUSED', details: { status: 409 } });
    const compatible = { ...local, fields: [...local.fields, { name: 'may_have', type: ['null', 'string'], default: null }] };
    expect(await client().register(s, JSON.stringify(compatible))).toEqual(expect.any(Number));
  });

  it('says the registry is unavailable (retriable) when nothing answers', async () => {
    const down = new SchemaRegistryClient({ url: 'http://127.0.0.1:9', timeoutMs: 1_000 });
    await expect(down.schemaById(1)).rejects.toMatchObject({ code: 'CODEC_REGISTRY_UNAVAILABLE', retriable: true });
  });
});

describe('AvroCodec through the registry', () => {
  it('a reader with no schema files in common reads what a writer registered: the id in the frame is all it needs', async () => {
    await requireRegistry();
    const s = subject();
    const writer = AvroCodec.fromDirectory(schemasDir());
    await writer.useRegistry(client(), [{ subject: s, schemaName: SCHEMA_NAMES.callaroEvent }]);
    const record = sampleEventRecord({ request_id: `r-${randomUUID()}` });
    const frame = writer.encode(SCHEMA_NAMES.callaroEvent, record);
    expect(frame[0]).toBe(0);

    // A newer producer adds an optional field (BACKWARD-compatible) and writes with it.
    const local = localSchema();
    const newer = { ...local, fields: [...local.fields, { name: 'sentiment', type: ['null', 'string'], default: null }] };
    const newerId = await client().register(s, JSON.stringify(newer));
    const avro = (await import('avsc')).default;
    const newerFrame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), avro.Type.forSchema(newer).toBuffer({ ...record, sentiment: 'positive' })]);
    newerFrame.writeUInt32BE(newerId, 1);

    const reader = AvroCodec.fromDirectory(schemasDir());
    await reader.useRegistry(client(), []);
    await reader.prefetch([frame, newerFrame]);
    expect(reader.decode(frame).value).toEqual(record);
    expect(reader.decode(newerFrame).value).toEqual(record); // read as the newest local version: the extra field is dropped
  });
});
