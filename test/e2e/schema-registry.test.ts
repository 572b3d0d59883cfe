import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_NAMES } from '../../src/codec/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckdbDialect } from '../support/dialects.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { sampleEventRecord } from '../support/fixtures.js';
import { groupProgress, isolatedConfig, readTopic, startTestPipeline, TEST_BROKERS, testKafka, waitFor } from '../support/pipeline-harness.js';
import { readWithConfluentClient, requireRegistry, SCHEMA_REGISTRY_URL } from '../support/schema-registry.js';
import { expectAuditComplete, expectScenarioStored, sendScenario } from './scenario.js';

// The whole pipeline with CALLSTREAM_SCHEMA_REGISTRY_URL set, through a proxy that can
// make the (real) registry fail on demand.
type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: DuckDbWarehouse;
let proxy: FaultProxy;

beforeAll(async () => {
  await requireRegistry();
  const registry = new URL(SCHEMA_REGISTRY_URL);
  proxy = new FaultProxy(registry.origin);
  const proxied = (await proxy.start()) + registry.pathname;
  warehouse = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-sr-')), 'w.duckdb'));
  t = await startTestPipeline({ warehouse, config: isolatedConfig({ schemaRegistryUrl: proxied }) });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
  await proxy?.stop();
});

async function latestId(subject: string): Promise<number> {
  const res = await fetch(`${SCHEMA_REGISTRY_URL}/subjects/${encodeURIComponent(subject)}/versions/latest`);
  expect(res.status).toBe(200);
  return (await res.json()).id;
}

describe('webhook -> Kafka (Confluent wire format, real registry) -> DuckDB', () => {
  it('stores the scenario exactly as with single-object frames, and audits every request', async () => {
    const scenario = await sendScenario(t.url);
    await expectScenarioStored(warehouse, duckdbDialect, scenario);
    await expectAuditComplete(t.config.topicRaw, scenario, t.pipeline.codec);
  });

  it('writes 0x00 and the id registered under <topic>-value on the events and audit topics', async () => {
    const frames = async (topic: string) => {
      const kafka = testKafka();
      const consumer = kafka.consumer({ groupId: `frames-${Date.now()}` });
      const seen: Buffer[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!) });
      await waitFor(async () => seen.length, (n) => n >= 5, 20_000, `records on ${topic}`);
      await consumer.disconnect();
      return seen;
    };
    for (const topic of [t.config.topicEvents, t.config.topicRaw]) {
      const id = await latestId(`${topic}-value`);
      for (const frame of await frames(topic)) {
        expect(frame[0]).toBe(0);
        expect(frame.readUInt32BE(1)).toBe(id);
      }
    }
    expect((await readTopic(t.config.topicEvents, t.pipeline.codec)).length).toBeGreaterThan(0);
  });

  it('is read by Confluent\'s own deserializer (confluent-kafka, Python) to the same values callstream reads', async () => {
    const ours = await readTopic(t.config.topicEvents, t.pipeline.codec);
    const theirs = await readWithConfluentClient(TEST_BROKERS.join(','), t.config.topicEvents, ours.length);
    const at = (r: { partition: number; offset: number }) => `${r.partition}/${r.offset}`;
    expect(theirs.map(at).sort()).toEqual(ours.map(at).sort());
    const byPosition = new Map(ours.map((r) => [at(r), r]));
    for (const record of theirs) {
      expect(record.key).toBe(byPosition.get(at(record))!.key);
      expect(record.value).toEqual(byPosition.get(at(record))!.value);
    }
    expect(theirs.length).toBeGreaterThan(300);
  });

  it('registers nothing from a sink-only process (read access to the registry is enough)', async () => {
    const config = isolatedConfig({ schemaRegistryUrl: SCHEMA_REGISTRY_URL });
    const sinkOnly = await startTestPipeline({ config, receiver: false });
    try {
      const res = await fetch(`${SCHEMA_REGISTRY_URL}/subjects/${encodeURIComponent(`${config.topicEvents}-value`)}/versions`);
      expect(res.status).toBe(404);
    } finally {
      await sinkOnly.pipeline.stop();
    }
    expect(await latestId(`${t.config.topicEvents}-value`)).toEqual(expect.any(Number)); // the receiver's process did register
  });

  it('waits while the registry refuses the sink or is down, for a schema id it has not seen (no dead letter, no commit), then writes the row', async () => {
    // A newer producer registers a compatible schema with one more field and writes with it.
    const subject = `${t.config.topicEvents}-value`;
    const local = JSON.parse(t.pipeline.codec.schema(SCHEMA_NAMES.callaroEvent).json);
    const newer = { ...local, fields: [...local.fields, { name: 'sentiment', type: ['null', 'string'], default: null }] };
    const register = await fetch(`${SCHEMA_REGISTRY_URL}/subjects/${encodeURIComponent(subject)}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(newer) }),
    });
    expect(register.status).toBe(200);
    const newerId: number = (await register.json()).id;
    const record = sampleEventRecord({ request_id: 'sr-newer-1', entity_id: 'vs_sr_newer', call_id: 'vs_sr_newer', received_at: Date.now(), sentiment: 'positive' });
    const value = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), avro.Type.forSchema(newer).toBuffer(record)]);
    value.writeUInt32BE(newerId, 1);

    // First the registry refuses the sink's credentials (401), then it fails (500): neither
    // is the record's fault, so the sink waits instead of dead-lettering.
    proxy.mode = 'http401';
    const refusedBefore = proxy.refused;
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: t.config.topicEvents, messages: [{ key: 'vs_sr_newer', value }] });
    await producer.disconnect();

    await waitFor(async () => proxy.refused - refusedBefore, (n) => n >= 2, 20_000, 'the sink asking the registry (and retrying) on 401');
    proxy.mode = 'http500';
    await waitFor(async () => proxy.refused - refusedBefore, (n) => n >= 4, 30_000, 'the sink asking the registry (and retrying) on 500');
    const stored = () => warehouse.query(`SELECT call_id, request_id FROM call_events WHERE call_id = 'vs_sr_newer'`);
    expect(await stored()).toEqual([]);
    const progress = await groupProgress(t.config.consumerGroup, t.config.topicEvents);
    expect(progress.committed).toBeLessThan(progress.end);

    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(Number(/^callstream_sink_schema_registry_waits_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

    proxy.mode = 'pass';
    await waitFor(stored, (rows) => rows.length === 1, 60_000, 'the row after the registry came back');
    expect(await stored()).toEqual([{ call_id: 'vs_sr_newer', request_id: 'sr-newer-1' }]);
    const dlq = await readTopic(t.config.topicDeadLetter, t.pipeline.codec);
    expect(dlq).toEqual([]);
  });
});
