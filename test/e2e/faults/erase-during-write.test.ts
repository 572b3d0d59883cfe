import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callCompleted } from '../../support/fixtures.js';
import { groupProgress, isolatedConfig, startTestPipeline, waitFor } from '../../support/pipeline-harness.js';
import { sendAll } from '../scenario.js';
import { GatedWarehouse } from './gated-warehouse.js';

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

describe('fault: an erasure while the sink writes the erased call', () => {
  it('deletes after the writes in flight, so a row checked before the erasure does not land after its DELETE', async () => {
    const warehouse = new GatedWarehouse(await DuckDbWarehouse.open(':memory:'));
    const { pipeline, config, url } = await startTestPipeline({ warehouse, config: isolatedConfig() });
    cleanup.push(
      () => warehouse.close(),
      () => pipeline.stop(),
      async () => warehouse.open(),
    );
    const sent = await sendAll(url, [callCompleted(1), callCompleted(2)]);
    expect(sent.map((s) => s.status)).toEqual([202, 202]);
    await waitFor(() => groupProgress(config.consumerGroup, config.topicEvents), (p) => p.committed === p.end && p.end >= 2, 30_000, 'the first calls to be committed');

    // The sink takes vs_7 in (checked against the erasures: none yet) and its write is held.
    warehouse.shut();
    expect((await sendAll(url, [callCompleted(7)])).map((s) => s.status)).toEqual([202]);
    await waitFor(async () => warehouse.held, (n) => n > 0, 30_000, 'the write of vs_7 to be held');

    let done = false;
    const erasing = pipeline.erase({ kind: 'call', value: 'vs_7' }, { dryRun: false }).finally(() => (done = true));
    await new Promise((r) => setTimeout(r, 1_000));
    // The erasure is recorded, then waits for the write in flight before it deletes.
    expect(done).toBe(false);
    warehouse.open();
    await erasing;

    expect(await warehouse.query("SELECT count(*) AS n FROM call_events WHERE call_id = 'vs_7'")).toEqual([{ n: '0' }]);
    expect(await warehouse.query("SELECT count(*) AS n FROM requests WHERE entity_key = 'vs_7'")).toEqual([{ n: '0' }]);
    expect(await warehouse.query("SELECT call_id FROM call_events ORDER BY call_id")).toEqual([{ call_id: 'vs_1' }, { call_id: 'vs_2' }]);
  });
});
