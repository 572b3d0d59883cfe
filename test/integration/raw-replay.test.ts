import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_NAMES } from '../../src/codec/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callCompleted } from '../support/fixtures.js';
import { isolatedConfig, readTopic, startTestPipeline, testKafka, waitForCaughtUp } from '../support/pipeline-harness.js';
import { post } from '../e2e/scenario.js';
import { mainInProcess } from '../support/main-in-process.js';
import { topicEnv } from '../support/processes.js';
import { requireRegistry, SCHEMA_REGISTRY_URL } from '../support/schema-registry.js';

/** An audit record as an older, stricter receiver would have written it for a refused request. */
function refusedRequest(body: object, receivedAt: number, errorCode: string, status = 422) {
  return {
    request_id: randomUUID(),
    received_at: receivedAt,
    flow: 'callaro',
    method: 'POST',
    path: '/callaro/webhooks',
    remote_address: '127.0.0.1',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
    truncated: false,
    status,
    error_code: errorCode,
    event_key: null,
  };
}

// Twice: with Avro single-object frames, and with Confluent's wire format through the (real) schema registry.
for (const registry of [false, true]) {
  describe(`callstream replay-raw (${registry ? 'schema registry' : 'single-object frames'})`, () => {
    const config = isolatedConfig(registry ? { schemaRegistryUrl: SCHEMA_REGISTRY_URL } : {});
    let warehouse: DuckDbWarehouse;
    let t: Awaited<ReturnType<typeof startTestPipeline>>;

    /** Runs the CLI in-process with the test's topics, capturing what it prints. */
    async function cli(...args: string[]): Promise<{ code: number; out: string }> {
      const env = {
        KAFKA_BROKERS: config.kafkaBrokers!.join(','),
        ...topicEnv(config),
        ...(config.schemaRegistryUrl ? { CALLSTREAM_SCHEMA_REGISTRY_URL: config.schemaRegistryUrl } : {}),
        LOG_LEVEL: 'silent',
      };
      const { code, all } = await mainInProcess(args, env);
      return { code, out: all };
    }

    const version = async (callId: string) =>
      (await warehouse.query(`SELECT extracted_data->>'v' AS v, republished_at IS NOT NULL AS republished FROM call_events WHERE call_id = '${callId}'`))[0];
    const checksum = () => warehouse.query('SELECT count(*) AS n, CAST(bit_xor(hash(to_json(t))) AS VARCHAR) AS x FROM call_events t');

    beforeAll(async () => {
      if (config.schemaRegistryUrl) await requireRegistry();
      warehouse = await DuckDbWarehouse.open(':memory:');
      t = await startTestPipeline({ config, warehouse });
    });
    afterAll(async () => {
      await t?.pipeline.stop();
      await warehouse?.close();
    });

      it('re-publishes requests refused for their content that are valid now, never overwriting a newer event, and only once', async () => {
        const hourAgo = Date.now() - 3_600_000;
        // A newer version of vs_both arrives live, after its older version had been refused.
        expect((await post(t.url, callCompleted(2, { call_id: 'vs_both', extracted_data: { v: 'live-2' } }))).status).toBe(202);
        const records = [
          refusedRequest(callCompleted(1, { call_id: 'vs_old', extracted_data: { v: 'old-1' } }), hourAgo, 'RCV_SCHEMA_INVALID'),
          refusedRequest(callCompleted(1, { call_id: 'vs_both', extracted_data: { v: 'old-1' } }), hourAgo, 'RCV_SCHEMA_INVALID'),
          refusedRequest(callCompleted(3, { call_id: 'vs_denied' }), hourAgo, 'RCV_AUTH_REQUIRED', 401),
          refusedRequest({ event: 'call.completed', call_id: 'vs_still_bad', tenant_id: 'forty-four' }, hourAgo, 'RCV_SCHEMA_INVALID'),
        ];
        const producer = testKafka().producer();
        await producer.connect();
        await producer.send({ topic: config.topicRaw, messages: records.map((r) => ({ key: r.request_id, value: t.pipeline.codec.encode(SCHEMA_NAMES.rawRequest, r) })) });
        await producer.disconnect();

        const dry = await cli('replay-raw', '--dry-run');
        expect(dry.code).toBe(0);
        expect(dry.out).toMatch(/3 refused for their content/);
        expect(dry.out).toMatch(/2 would be accepted now and re-published; still refused: RCV_SCHEMA_INVALID: 1/);
        await waitForCaughtUp(config.consumerGroup, config.topicEvents);
        expect(await version('vs_old')).toBeUndefined();

        const run = await cli('replay-raw', '--yes');
        expect(run.code).toBe(0);
        expect(run.out).toMatch(/2 re-published/);
        await waitForCaughtUp(config.consumerGroup, config.topicEvents);
        expect(await version('vs_old')).toEqual({ v: 'old-1', republished: true });
        expect(await version('vs_both')).toEqual({ v: 'live-2', republished: false });
        expect(await version('vs_denied')).toBeUndefined();
        expect(await version('vs_still_bad')).toBeUndefined();

        const before = await checksum();
        expect((await cli('replay-raw', '--yes')).out).toMatch(/2 re-published/);
        await waitForCaughtUp(config.consumerGroup, config.topicEvents);
        expect(await checksum()).toEqual(before);
      });

      it('does not bring an erased call back when its refused request is re-published', async () => {
        const record = refusedRequest(callCompleted(9, { call_id: 'vs_erased', extracted_data: { v: 'refused-then-erased' } }), Date.now() - 3_600_000, 'RCV_SCHEMA_INVALID');
        const producer = testKafka().producer();
        await producer.connect();
        await producer.send({ topic: config.topicRaw, messages: [{ key: record.request_id, value: t.pipeline.codec.encode(SCHEMA_NAMES.rawRequest, record) }] });
        await producer.disconnect();
        await waitForCaughtUp(config.consumerGroup, config.topicRaw);
        const receipt = await t.pipeline.erase({ kind: 'call', value: 'vs_erased' }, { dryRun: false });
        expect(receipt.key).toBe('call:vs_erased');

        const run = await cli('replay-raw', '--yes');
        expect(run.code).toBe(0);
        expect(run.out).toMatch(/[1-9]\d* re-published/);
        await waitForCaughtUp(config.consumerGroup, config.topicEvents);
        expect(await version('vs_erased')).toBeUndefined();
        expect(await warehouse.query("SELECT count(*) AS n FROM requests WHERE entity_key = 'vs_erased'")).toEqual([{ n: '0' }]);
      });

      it("carries the audit record's trace onto the record it re-publishes, and none when it had none", async () => {
        const at = Date.now() - 5_400_000;
        const traced = refusedRequest(callCompleted(11, { call_id: 'vs_traced' }), at, 'RCV_SCHEMA_INVALID');
        const untraced = refusedRequest(callCompleted(12, { call_id: 'vs_untraced' }), at, 'RCV_SCHEMA_INVALID');
        const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
        const producer = testKafka().producer();
        await producer.connect();
        await producer.send({
          topic: config.topicRaw,
          messages: [
            { key: traced.request_id, value: t.pipeline.codec.encode(SCHEMA_NAMES.rawRequest, traced), headers: { traceparent, tracestate: 'vendor=abc' } },
            { key: untraced.request_id, value: t.pipeline.codec.encode(SCHEMA_NAMES.rawRequest, untraced) },
          ],
        });
        await producer.disconnect();
        const iso = (ms: number) => new Date(ms).toISOString();
        expect((await cli('replay-raw', '--yes', '--from', iso(at), '--to', iso(at))).out).toMatch(/2 re-published/);
        const republished = (await readTopic(config.topicEvents, t.pipeline.codec)).filter((r) => r.headers['callstream-republished'] === 'raw-replay');
        const of = (requestId: string) => republished.find((r) => r.headers['callstream-request-id'] === requestId)!;
        expect(of(traced.request_id).headers).toMatchObject({ traceparent, tracestate: 'vendor=abc' });
        expect(of(untraced.request_id).headers.traceparent).toBeUndefined();
        expect(of(untraced.request_id).headers.tracestate).toBeUndefined();
      });

      it('refuses to reconsider access-control refusals', async () => {
        const { code, out } = await cli('replay-raw', '--codes', 'RCV_AUTH_REQUIRED', '--dry-run');
        expect(code).toBe(1);
        expect(out).toMatch(/RCV_AUTH_REQUIRED cannot be replayed/);
      });
  });
}
