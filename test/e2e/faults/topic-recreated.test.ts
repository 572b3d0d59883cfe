import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/index.js';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { exampleCallCompleted } from '../../support/fixtures.js';
import { isolatedConfig, rewindToEarliest, startTestPipeline, testKafka, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';

/**
 * Versions survive a new topic: the events topic deleted and created again (offsets from 0),
 * then the sink pointed at a renamed topic. A newer version of a key stored before still
 * replaces it, and a replay still changes nothing. (The version guard once compared offsets
 * within a partition, so v2 at partition 4, offset 0 of the new topic was dropped as a
 * "redelivery" of v1 at partition 4, offset 0 of the old one.)
 */
let warehouse: DuckDbWarehouse;
let config: Config;

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-topic-gen-')), 'w.duckdb'));
  config = isolatedConfig({ topicPartitions: 1 });
});
afterAll(async () => {
  await warehouse?.close();
});

const version = (v: number) => JSON.stringify({ ...exampleCallCompleted(), call_id: 'topic_x', extracted_data: { version: v } });

async function deliver(url: string, v: number): Promise<void> {
  const res = await fetch(`${url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: version(v) });
  expect(res.status).toBe(202);
}

async function stored(): Promise<unknown> {
  const rows = await warehouse.query("SELECT json_extract(extracted_data, '$.version')::INT AS v, kafka_offset::INT AS kafka_offset FROM call_events WHERE call_id = 'topic_x'");
  return rows[0];
}

/** Runs a pipeline on `c`, delivers one version, waits until the sink committed it. */
async function runAndDeliver(c: Config, v: number): Promise<void> {
  const t = await startTestPipeline({ config: c, warehouse });
  try {
    await deliver(t.url, v);
    await waitForCaughtUp(c.consumerGroup, c.topicEvents);
    await waitFor(stored, (row) => (row as { v?: number } | undefined)?.v === v, 20_000, `version ${v} stored`);
  } finally {
    await t.pipeline.stop();
  }
}

describe('versions survive a new topic generation', () => {
  it('a newer version after the events topic was deleted and created again replaces the old row', async () => {
    await runAndDeliver(config, 1);
    expect(await stored()).toEqual({ v: 1, kafka_offset: 0 });

    const admin = testKafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [config.topicEvents], timeout: 30_000 });
    await waitFor(async () => (await admin.listTopics()).includes(config.topicEvents), (present) => !present, 30_000, 'the topic to be gone');
    await admin.disconnect();

    // callstream creates the topic again at start; v2 lands at partition 0, offset 0 once more.
    await runAndDeliver(config, 2);
    expect(await stored()).toEqual({ v: 2, kafka_offset: 0 });
  });

  it('a full replay of the new topic changes nothing', async () => {
    await rewindToEarliest(config.consumerGroup, config.topicEvents);
    const t = await startTestPipeline({ config, warehouse });
    try {
      await waitForCaughtUp(config.consumerGroup, config.topicEvents);
      expect(await stored()).toEqual({ v: 2, kafka_offset: 0 });
    } finally {
      await t.pipeline.stop();
    }
  });

  it('the sink pointed at a renamed topic: a newer version there replaces the row', async () => {
    const renamed = { ...config, topicEvents: `${config.topicEvents}.renamed`, consumerGroup: `${config.consumerGroup}-renamed` } as Config;
    await runAndDeliver(renamed, 3);
    expect(await stored()).toEqual({ v: 3, kafka_offset: 0 });
  });
});
