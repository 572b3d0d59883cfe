import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { exampleCallCompleted } from '../support/fixtures.js';
import { isolatedConfig, readTopic, startTestPipeline, waitForCaughtUp } from '../support/pipeline-harness.js';

/**
 * received_at orders versions. Within a process the receiver never stamps lower than its last
 * stamp; a restart onto a clock that is behind (a rolling deploy onto another host, a clock
 * stepped back while the process was down) used to start from the wall clock again, so a newer
 * version got an older time than the one before it and lost.
 */
const HOUR = 3_600_000;
let warehouse: DuckDbWarehouse;
let config: Config;

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(':memory:');
  config = isolatedConfig({ topicPartitions: 1 });
});
afterAll(async () => {
  await warehouse?.close();
});

const version = (v: number) => JSON.stringify({ ...exampleCallCompleted(), call_id: 'clock_x', extracted_data: { version: v } });

async function deliverWith(now: (() => number) | undefined, v: number): Promise<void> {
  const t = await startTestPipeline({ config, warehouse, now });
  try {
    const res = await fetch(`${t.url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: version(v) });
    expect(res.status).toBe(202);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
  } finally {
    await t.pipeline.stop();
  }
}

describe('receipt times across a restart', () => {
  it('a receiver started with its clock an hour behind stamps a newer version above the last one on the topic', async () => {
    await deliverWith(undefined, 1);
    await deliverWith(() => Date.now() - HOUR, 2);

    const [first, second] = (await readTopic(config.topicEvents)).map((r) => r.value);
    expect(second.received_at).toBeGreaterThan(first.received_at as number);
    expect(await warehouse.query("SELECT json_extract(extracted_data, '$.version')::INT AS v FROM call_events WHERE call_id = 'clock_x'")).toEqual([{ v: 2 }]);
  });
});
