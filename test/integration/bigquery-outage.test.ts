import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';
import { BQ_EMULATOR, emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { callCompleted } from '../support/fixtures.js';
import { groupProgress, isolatedConfig, startTestPipeline, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';
import { sendAll } from '../e2e/scenario.js';

const proxy = new FaultProxy(BQ_EMULATOR.endpoint);
let sinkSide: BigQueryWarehouse; // through the proxy
let direct: BigQueryWarehouse; // straight to the emulator, to look
let t: Awaited<ReturnType<typeof startTestPipeline>>;

beforeAll(async () => {
  await requireEmulator();
  const endpoint = await proxy.start();
  sinkSide = emulatorWarehouse({ apiEndpoint: endpoint });
  direct = emulatorWarehouse({ dataset: sinkSide.settings.dataset });
  t = await startTestPipeline({ warehouse: sinkSide, config: isolatedConfig({ flushIntervalMs: 200 }) });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await proxy.stop();
});

const countRows = async () => Number((await direct.query(`SELECT COUNT(*) AS n FROM ${bigQueryDialect.table(direct, 'call_events')}`))[0].n);

describe('BigQuery down or refusing for a while', () => {
  it('commits no offset for unwritten records, then lands every record exactly once', async () => {
    const { consumerGroup, topicEvents } = t.config;
    proxy.mode = 'http500';
    const first = await sendAll(t.url, Array.from({ length: 60 }, (_, n) => callCompleted(n)));
    expect(first.every((s) => s.status === 202)).toBe(true);
    await waitFor(async () => proxy.refused, (n) => n >= 2, 20_000, 'the sink to hit the failing endpoint');

    proxy.mode = 'http429';
    const refusedBefore = proxy.refused;
    await waitFor(async () => proxy.refused, (n) => n > refusedBefore, 20_000, 'a 429');
    proxy.mode = 'down';
    const second = await sendAll(t.url, Array.from({ length: 40 }, (_, n) => callCompleted(n + 50))); // 10 overlap: redeliveries
    expect(second.every((s) => s.status === 202)).toBe(true);
    const refusedDown = proxy.refused;
    await waitFor(async () => proxy.refused, (n) => n > refusedDown, 30_000, 'a dropped connection');

    // Nothing was written, so nothing may be committed.
    expect(await countRows()).toBe(0);
    const progress = await groupProgress(consumerGroup, topicEvents);
    expect(progress.end).toBe(100);
    expect(progress.committed).toBe(0);

    proxy.mode = 'pass';
    await waitForCaughtUp(consumerGroup, topicEvents, 90_000);
    const rows = await direct.query(`SELECT call_id, COUNT(*) AS n FROM ${bigQueryDialect.table(direct, 'call_events')} GROUP BY call_id`);
    expect(rows).toHaveLength(90);
    expect(rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
  });
});
