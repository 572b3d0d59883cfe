import { afterAll, beforeAll, describe, it } from 'vitest';
import type { StagedBigQueryWarehouse } from '../../src/warehouse/bigquery/staged-warehouse.js';
import { requireStorageWrite, stagedWarehouse } from '../support/bigquery-staged-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline, waitForCaughtUp } from '../support/pipeline-harness.js';
import { expectReplayChangesNothing } from './replay.js';
import { expectAuditComplete, expectScenarioStored, sendScenario, type ScenarioResult } from './scenario.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: StagedBigQueryWarehouse;
let scenario: ScenarioResult;

beforeAll(async () => {
  await requireStorageWrite();
  warehouse = stagedWarehouse({ mergeIntervalMs: 500 });
  t = await startTestPipeline({ warehouse, config: isolatedConfig({ flushIntervalMs: 500, warehouse: 'bigquery' }) });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
});

describe('webhook -> Kafka -> BigQuery staged mode (Storage Write API + MERGE, emulator), end to end', () => {
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
