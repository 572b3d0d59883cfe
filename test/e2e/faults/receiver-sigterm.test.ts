import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ContractSender, deliveriesFor } from '../../support/contract-sender.js';
import { expectExactlyAcknowledged, versionedCall } from '../../support/expect-acknowledged.js';
import { isolatedConfig, startTestPipeline, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';
import { envFor, freePort, spawnCallstream, stopProcess, type Spawned } from '../../support/processes.js';

const config = isolatedConfig();
let warehouse: DuckDbWarehouse;
let sink: Awaited<ReturnType<typeof startTestPipeline>>;
let receiver: Spawned | undefined;

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(':memory:');
  sink = await startTestPipeline({ config, warehouse, receiver: false });
});
afterAll(async () => {
  if (receiver) await stopProcess(receiver, 'SIGKILL');
  await sink?.pipeline.stop();
  await warehouse?.close();
});

describe('fault: the receiver is stopped with SIGTERM under load', () => {
  it('completes or refuses in-flight requests, never acknowledges and drops one', async () => {
    const port = await freePort();
    const env = envFor(config);
    receiver = await spawnCallstream('receiver', env, port);
    const sender = new ContractSender(receiver.url, { concurrency: 16 });
    const load = sender.run(deliveriesFor(600, versionedCall));

    await waitFor(async () => sender.stats.acknowledged, (n) => n >= 150, 30_000, 'load to build up');
    const code = await stopProcess(receiver, 'SIGTERM');
    expect(code).toBe(0); // a graceful exit, not a crash
    // The sender retries what was refused or cut off; a new receiver on the same port takes them.
    receiver = await spawnCallstream('receiver', env, port);
    await load;
    await stopProcess(receiver, 'SIGTERM');
    receiver = undefined;

    await waitForCaughtUp(config.consumerGroup, config.topicEvents, 60_000);
    await expectExactlyAcknowledged(warehouse, sender);
    const refusedOrCut = Object.entries(sender.stats.statuses).filter(([status]) => !status.startsWith('2'));
    expect(refusedOrCut.length).toBeGreaterThan(0); // the stop did hit requests in flight
  });
});
