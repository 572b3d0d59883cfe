import { afterAll, beforeAll, describe, it } from 'vitest';
import type { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline, waitForCaughtUp } from '../support/pipeline-harness.js';
import { expectReplayChangesNothing } from './replay.js';
import { expectAuditComplete, expectScenarioStored, sendScenario, type ScenarioResult } from './scenario.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: BigQueryWarehouse;
let scenario: ScenarioResult;

beforeAll(async () => {
  await requireEmulator();
  warehouse = emulatorWarehouse();
  t = await startTestPipeline({ warehouse, config: isolatedConfig({ flushIntervalMs: 500, warehouse: 'bigquery' }) });
});
afterAll(async () => {
  await t?.pipeline.stop();
});

describe('webhook -> Kafka -> BigQuery (official client, emulator), end to end', () => {
  it('stores exactly one newest row per key and nothing from bad input', async () => {
    scenario = await sendScenario(t.url, 200);
    await expectScenarioStored(warehouse, bigQueryDialect, scenario);
  });

  it('keeps every request in the audit topic', async () => {
    await expectAuditComplete(t.config.topicRaw, scenario);
  });

  it('leaves the tables unchanged after a replay of the whole topic (checksum query)', async () => {
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await t.pipeline.stop();
    await expectReplayChangesNothing(t.config, warehouse, bigQueryDialect);
  });
});
