import { expect } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { TABLES, type Warehouse } from '../../src/warehouse/index.js';
import type { Dialect } from '../support/dialects.js';
import { groupProgress, rewindToEarliest, startTestPipeline, waitFor } from '../support/pipeline-harness.js';

/** Checksums of every table, order-independent. */
export async function checksums(warehouse: Warehouse, dialect: Dialect): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const t of TABLES) out[t.name] = (await warehouse.query(dialect.checksum(warehouse, t.name)))[0];
  return out;
}

/**
 * Rewinds the sink's group to the earliest offsets of the given topics (by default the
 * events topic) and lets a fresh sink re-consume them whole: the tables must come out
 * byte-for-byte the same.
 */
export async function expectReplayChangesNothing(config: Config, warehouse: Warehouse, dialect: Dialect, topics: string[] = [config.topicEvents]): Promise<void> {
  const before = await checksums(warehouse, dialect);
  for (const topic of topics) {
    await rewindToEarliest(config.consumerGroup, topic);
    expect((await groupProgress(config.consumerGroup, topic)).committed).toBe(0);
  }
  const replay = await startTestPipeline({ config, warehouse, receiver: false });
  try {
    for (const topic of topics) {
      await waitFor(() => groupProgress(config.consumerGroup, topic), (p) => p.committed === p.end, 90_000, `the replay of ${topic} to finish`);
    }
  } finally {
    await replay.pipeline.stop();
  }
  expect(await checksums(warehouse, dialect)).toEqual(before);
}
