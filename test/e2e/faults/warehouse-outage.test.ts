import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ContractSender, deliveriesFor } from '../../support/contract-sender.js';
import { FlakyWarehouse } from '../../support/flaky-warehouse.js';
import { expectExactlyAcknowledged, versionedCall } from '../../support/expect-acknowledged.js';
import { groupProgress, startTestPipeline, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';

let t: Awaited<ReturnType<typeof startTestPipeline>>;
let warehouse: FlakyWarehouse;

beforeAll(async () => {
  warehouse = new FlakyWarehouse(await DuckDbWarehouse.open(':memory:'));
  t = await startTestPipeline({ warehouse });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
});

describe('fault: the warehouse write fails for a while', () => {
  it('commits nothing during the outage, backs off, then catches up with every acknowledged event exactly once', async () => {
    const { consumerGroup, topicEvents } = t.config;
    warehouse.failing = true;
    const sender = new ContractSender(t.url, { concurrency: 8 });
    await sender.run(deliveriesFor(150, versionedCall));
    await waitFor(async () => warehouse.failedWrites, (n) => n >= 3, 30_000, 'retried writes');
    const during = await groupProgress(consumerGroup, topicEvents);
    expect(during.end).toBeGreaterThan(150);
    expect(during.committed).toBe(0);
    expect(await warehouse.query('SELECT count(*) AS n FROM call_events')).toEqual([{ n: '0' }]);

    warehouse.failing = false;
    await waitForCaughtUp(consumerGroup, topicEvents, 60_000);
    await expectExactlyAcknowledged(warehouse, sender);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(Number(/^callstream_sink_write_retries_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
  });
});
