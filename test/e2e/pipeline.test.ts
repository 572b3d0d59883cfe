import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckdbDialect } from '../support/dialects.js';
import { readTopic, startTestPipeline, waitForCaughtUp } from '../support/pipeline-harness.js';
import { expectReplayChangesNothing } from './replay.js';
import { expectAuditComplete, expectScenarioStored, sendScenario, type ScenarioResult } from './scenario.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: DuckDbWarehouse;
let scenario: ScenarioResult;

beforeAll(async () => {
  // The warehouse outlives the pipeline, so the replay test can restart the sink on it.
  warehouse = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-e2e-')), 'w.duckdb'));
  t = await startTestPipeline({ warehouse });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
});

describe('webhook -> Kafka -> DuckDB, end to end on the real broker', () => {
  it('stores exactly one newest row per key and nothing from bad input', async () => {
    scenario = await sendScenario(t.url);
    await expectScenarioStored(warehouse, duckdbDialect, scenario);
  });

  it('keeps every request in the audit topic with the status it got', async () => {
    await expectAuditComplete(t.config.topicRaw, scenario);
  });

  it('keys the events topic by call_id: all versions of one call share a partition', async () => {
    const events = await readTopic(t.config.topicEvents);
    expect(new Set(events.filter((e) => e.key === 'vs_1000').map((e) => e.partition)).size).toBe(1);
    expect(events.filter((e) => e.key === 'vs_1000')).toHaveLength(2);
  });

  it('reports ready only with receiver, producer and sink connected', async () => {
    const res = await fetch(`${t.url}/readyz`);
    expect(res.status).toBe(200);
    expect((await res.json()).components).toEqual({ receiver: true, producer: true, sink: true });
  });

  it('leaves the warehouse unchanged after a replay of the whole topic', async () => {
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await t.pipeline.stop();
    await expectReplayChangesNothing(t.config, warehouse, duckdbDialect);
  });
});
