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

async function pipelineOn(overrides: Parameters<typeof isolatedConfig>[0] = {}) {
  const warehouse = new GatedWarehouse(await DuckDbWarehouse.open(':memory:'));
  const t = await startTestPipeline({ warehouse, config: isolatedConfig(overrides) });
  cleanup.push(
    () => warehouse.close(),
    () => t.pipeline.stop(),
    async () => warehouse.open(),
  );
  return { ...t, warehouse };
}

/** Stops the pipeline, failing (rather than hanging the file) if the stop does not end within `ms`. */
async function stopWithin(pipeline: { stop(): Promise<void> }, ms: number): Promise<number> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`pipeline.stop() still running after ${ms} ms`)), ms)));
  try {
    await Promise.race([pipeline.stop(), late]);
  } finally {
    clearTimeout(timer);
  }
  return Date.now() - started;
}

async function postCalls(url: string, from: number, count: number): Promise<void> {
  const sent = await sendAll(url, Array.from({ length: count }, (_, i) => callCompleted(from + i)), 8);
  expect(sent.filter((s) => s.status !== 202 && s.status !== 200)).toEqual([]);
}

describe('fault: a graceful stop while a warehouse write is in flight', () => {
  it('commits every offset whose write finished during the stop', async () => {
    const { pipeline, config, url, warehouse } = await pipelineOn();
    const { consumerGroup, topicEvents } = config;
    // Some progress first, so the group has committed offsets the stop must move on from.
    await postCalls(url, 0, 30);
    await waitFor(() => groupProgress(consumerGroup, topicEvents), (p) => p.committed === p.end && p.end >= 30, 30_000, 'the first records to be committed');

    warehouse.shut();
    await postCalls(url, 30, 60);
    await waitFor(async () => warehouse.held, (n) => n > 0, 30_000, 'a write to be held in flight');
    const before = await groupProgress(consumerGroup, topicEvents);
    expect(before.committed).toBeLessThan(before.end);

    const stopped = pipeline.stop();
    await waitFor(async () => pipeline.sink!.ready, (ready) => !ready, 10_000, 'the sink to begin stopping');
    // Long enough for the old order (consumer.stop() first) to have left the group already.
    await new Promise((r) => setTimeout(r, 1_500));
    warehouse.open();
    await stopped;

    expect(warehouse.written).toBeGreaterThanOrEqual(90);
    const after = await groupProgress(consumerGroup, topicEvents);
    expect(after.perPartition.filter((p) => p.committed !== p.end)).toEqual([]);
    expect(after.committed).toBe(after.end);
  });

  it('still ends within the shutdown grace when the warehouse stays down, committing nothing unwritten', async () => {
    const { pipeline, config, url, warehouse } = await pipelineOn({ shutdownTimeoutMs: 4_000 });
    const { consumerGroup, topicEvents } = config;
    await postCalls(url, 0, 20);
    await waitFor(() => groupProgress(consumerGroup, topicEvents), (p) => p.committed === p.end && p.end >= 20, 30_000, 'the first records to be committed');
    const committedBefore = await groupProgress(consumerGroup, topicEvents);

    warehouse.failing = true;
    await postCalls(url, 20, 40);
    await waitFor(() => groupProgress(consumerGroup, topicEvents), (p) => p.end >= committedBefore.end + 40, 10_000, 'the records to reach the topic');
    await new Promise((r) => setTimeout(r, 500)); // the sink has fetched them and its write is failing
    expect(await stopWithin(pipeline, 10_000)).toBeLessThan(4_000);

    const after = await groupProgress(consumerGroup, topicEvents);
    expect(after.perPartition).toEqual(committedBefore.perPartition.map((p) => ({ ...p, end: after.perPartition.find((a) => a.partition === p.partition)!.end })));
    expect(after.committed).toBe(committedBefore.committed);
  });

  it('still ends within the shutdown grace when a write hangs', async () => {
    const { pipeline, config, url, warehouse } = await pipelineOn({ shutdownTimeoutMs: 4_000 });
    const { consumerGroup, topicEvents } = config;
    await postCalls(url, 0, 20);
    await waitFor(() => groupProgress(consumerGroup, topicEvents), (p) => p.committed === p.end && p.end >= 20, 30_000, 'the first records to be committed');
    const committedBefore = await groupProgress(consumerGroup, topicEvents);

    warehouse.shut();
    await postCalls(url, 20, 40);
    await waitFor(async () => warehouse.held, (n) => n > 0, 30_000, 'a write to hang');
    expect(await stopWithin(pipeline, 10_000)).toBeLessThan(4_000);
    expect((await groupProgress(consumerGroup, topicEvents)).committed).toBe(committedBefore.committed);
    warehouse.open(); // the abandoned write finishes after the stop: it must commit nothing
    await new Promise((r) => setTimeout(r, 500));
    expect((await groupProgress(consumerGroup, topicEvents)).committed).toBe(committedBefore.committed);
  });
});
