import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckdbDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline, waitForCaughtUp } from '../support/pipeline-harness.js';
import { expectReplayChangesNothing } from './replay.js';
import { expectLifecycleJoined, expectTopicsApart, sendTelephonyScenario, writeVendorsFile, type TelephonyScenario } from './telephony-scenario.js';

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

  it('leaves the warehouse unchanged after a replay of the whole callbacks topic', async () => {
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);
    await t.pipeline.stop();
    await expectReplayChangesNothing(t.config, warehouse, duckdbDialect, [t.config.topicTelephony]);
  });
});
