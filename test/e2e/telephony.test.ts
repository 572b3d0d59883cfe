import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckdbDialect } from '../support/dialects.js';
import { isolatedConfig, readTopic, startTestPipeline, waitForCaughtUp } from '../support/pipeline-harness.js';
import { expectReplayChangesNothing } from './replay.js';
import { expectLifecycleJoined, expectTopicsApart, sendTelephonyScenario, statusCallback, twilioCallback, writeVendorsFile, type TelephonyScenario } from './telephony-scenario.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: DuckDbWarehouse;
let scenario: TelephonyScenario;

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-e2e-tel-')), 'w.duckdb'));
  t = await startTestPipeline({ warehouse, config: isolatedConfig({ telephonyVendors: writeVendorsFile() }) });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
});

describe('provider callbacks -> Kafka -> DuckDB, joined to call_events, end to end on the real broker', () => {
  it('stores one row per (vendor, call, status) that joins to call_events on call_sid in SQL', async () => {
    scenario = await sendTelephonyScenario(t.url);
    await expectLifecycleJoined(warehouse, duckdbDialect, scenario);
  });

  it('keeps the flows apart on their topics, audits every real request and publishes nothing for /sample', async () => {
    await expectTopicsApart(t.config, scenario);
  });

  it('refuses form callbacks with a NUL (two whose key columns join alike), audits them, publishes and stores nothing', async () => {
    const colliding = [statusCallback('CA-nul\u0000x', 'y', 1), statusCallback('CA-nul', 'x\u0000y', 2)];
    const sent = await Promise.all(colliding.map((params) => twilioCallback(t.url, params)));
    expect(sent.map((s) => [s.status, s.code])).toEqual([
      [400, 'RCV_NUL_CHARACTER'],
      [400, 'RCV_NUL_CHARACTER'],
    ]);
    const ids = new Set(sent.map((s) => s.requestId));
    const audit = (await readTopic(t.config.topicTelephonyRaw)).filter((r) => ids.has(String(r.value.request_id)));
    expect(audit.map((r) => [r.value.status, r.value.error_code])).toEqual([
      [400, 'RCV_NUL_CHARACTER'],
      [400, 'RCV_NUL_CHARACTER'],
    ]);
    expect((await readTopic(t.config.topicTelephony)).filter((r) => ids.has(String(r.value.request_id)))).toEqual([]);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);
    expect(await warehouse.query("SELECT * FROM telephony_callbacks WHERE provider_call_id LIKE 'CA-nul%'")).toEqual([]);
  });

  it('leaves the warehouse unchanged after a replay of the whole callbacks topic', async () => {
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);
    await t.pipeline.stop();
    await expectReplayChangesNothing(t.config, warehouse, duckdbDialect, [t.config.topicTelephony]);
  });
});
