import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckDbPath } from '../../../src/config/index.js';
import { ContractSender, deliveriesFor } from '../../support/contract-sender.js';
import { duckdbDialect } from '../../support/dialects.js';
import { expectExactlyAcknowledged, versionedCall } from '../../support/expect-acknowledged.js';
import { groupProgress, isolatedConfig, startTestPipeline, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';
import { envFor, freePort, spawnCallstream, stopProcess, type Spawned } from '../../support/processes.js';
import { expectReplayChangesNothing } from '../replay.js';

// A short session: a killed sink's partitions go to its successor after 6 s, not 30.
const config = isolatedConfig({ flushIntervalMs: 50, sessionTimeoutMs: 6_000 });
let receiver: Awaited<ReturnType<typeof startTestPipeline>>;
let sink: Spawned | undefined;

beforeAll(async () => {
  receiver = await startTestPipeline({ config, sink: false });
});
afterAll(async () => {
  if (sink) await stopProcess(sink, 'SIGKILL');
  await receiver?.pipeline.stop();
});

describe('fault: the sink is killed with SIGKILL mid-batch, several times', () => {
  it('loses nothing and doubles nothing; a full replay afterwards changes nothing', async () => {
    const port = await freePort();
    const env = envFor(config);
    sink = await spawnCallstream('sink', env, port);
    const sender = new ContractSender(receiver.url, { concurrency: 8 });

    let kills = 0;
    for (let round = 0; round < 3; round++) {
      // Kill while records are flowing: the sink has written some of this round's records and is on the rest.
      const before = await groupProgress(config.consumerGroup, config.topicEvents);
      const load = sender.run(deliveriesFor(300, versionedCall, round * 300));
      await waitFor(() => groupProgress(config.consumerGroup, config.topicEvents), (p) => p.committed > before.committed, 30_000, 'the sink to make progress');
      await stopProcess(sink, 'SIGKILL');
      kills++;
      await load;
      sink = await spawnCallstream('sink', env, port);
    }
    await sender.run(deliveriesFor(100, versionedCall, 900));
    await waitForCaughtUp(config.consumerGroup, config.topicEvents, 90_000);
    await stopProcess(sink, 'SIGTERM');
    sink = undefined;
    expect(kills).toBe(3);

    // The sink process owned the DuckDB file; now that it is gone the test may open it.
    const warehouse = await DuckDbWarehouse.open(duckDbPath(config));
    try {
      await expectExactlyAcknowledged(warehouse, sender);
      await expectReplayChangesNothing(config, warehouse, duckdbDialect);
    } finally {
      await warehouse.close();
    }
  }, 240_000);
});
