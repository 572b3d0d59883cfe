import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ContractSender, deliveriesFor } from '../../support/contract-sender.js';
import { expectExactlyAcknowledged, versionedCall } from '../../support/expect-acknowledged.js';
import { startTestPipeline, testKafka, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';

let first: Awaited<ReturnType<typeof startTestPipeline>>;
let warehouse: DuckDbWarehouse;

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(':memory:');
  first = await startTestPipeline({ warehouse });
});
afterAll(async () => {
  await first?.pipeline.stop();
  await warehouse?.close();
});

async function members(groupId: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

describe('fault: a consumer-group rebalance while consuming', () => {
  it('loses nothing and doubles nothing when a second sink joins and then leaves', async () => {
    const sender = new ContractSender(first.url, { concurrency: 8 });
    const load = sender.run(deliveriesFor(400, versionedCall));
    await waitFor(async () => sender.stats.acknowledged, (n) => n >= 80, 30_000, 'load to start');

    const second = await startTestPipeline({ config: first.config, warehouse, receiver: false });
    await waitFor(() => members(first.config.consumerGroup), (n) => n === 2, 30_000, 'the second sink to join');
    await waitFor(async () => sender.stats.acknowledged, (n) => n >= 250, 60_000, 'more load while both consume');
    await second.pipeline.stop();
    await waitFor(() => members(first.config.consumerGroup), (n) => n === 1, 30_000, 'the second sink to leave');

    await load;
    await waitForCaughtUp(first.config.consumerGroup, first.config.topicEvents, 60_000);
    await expectExactlyAcknowledged(warehouse, sender);
    expect(sender.stats.duplicatesSent).toBeGreaterThan(0);
  });
});
