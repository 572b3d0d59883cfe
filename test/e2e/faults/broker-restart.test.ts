import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ContractSender, deliveriesFor } from '../../support/contract-sender.js';
import { expectExactlyAcknowledged, versionedCall } from '../../support/expect-acknowledged.js';
import { isolatedConfig, startTestPipeline, waitFor } from '../../support/pipeline-harness.js';
import { dedicatedBroker, freeBrokerPort } from '../../support/processes.js';

// A broker of this test's own: stopping it must not disturb other tests on the shared one.
let broker: ReturnType<typeof dedicatedBroker>;
let warehouse: DuckDbWarehouse;
let t: Awaited<ReturnType<typeof startTestPipeline>> | undefined;

beforeAll(async () => {
  broker = dedicatedBroker(await freeBrokerPort());
  broker.start();
  warehouse = await DuckDbWarehouse.open(':memory:');
}, 180_000);
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
  broker?.stop();
}, 120_000);

describe('fault: the broker stops and restarts while the receiver is under load', () => {
  it('answers 503 (never 2xx) during the outage; the retried deliveries land after recovery', async () => {
    const config = isolatedConfig({ kafkaBrokers: [broker.address], publishTimeoutMs: 1_000, sessionTimeoutMs: 6_000 });
    t = await startTestPipeline({ config, warehouse });
    const sender = new ContractSender(t.url, { concurrency: 8, maxAttemptMs: 120_000 });
    const load = sender.run(deliveriesFor(500, versionedCall));
    await waitFor(async () => sender.stats.acknowledged, (n) => n >= 100, 30_000, 'load to build up');

    broker.stop();
    const down = Date.now();
    await waitFor(async () => sender.answers.filter((a) => a.at > down && a.status === 503).length, (n) => n >= 10, 30_000, '503s during the outage');
    const up = Date.now();
    broker.start();

    await load;
    const duringOutage = sender.answers.filter((a) => a.at > down + 100 && a.at < up);
    expect(duringOutage.length).toBeGreaterThan(0);
    expect(duringOutage.filter((a) => typeof a.status === 'number' && a.status >= 200 && a.status < 300)).toEqual([]);
    await waitFor(
      async () => Number((await warehouse.query("SELECT count(DISTINCT call_id) AS n FROM call_events"))[0].n),
      (n) => n >= 500,
      90_000,
      'all calls in the warehouse',
    );
    await new Promise((r) => setTimeout(r, 1000));
    await expectExactlyAcknowledged(warehouse, sender);
  }, 240_000);
});
