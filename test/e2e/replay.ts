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
 * Rewinds the sink's group to the earliest offsets and lets a fresh sink re-consume the
 * whole topic: the tables must come out byte-for-byte the same.
 */
export async function expectReplayChangesNothing(config: Config, warehouse: Warehouse, dialect: Dialect): Promise<void> {
  const before = await checksums(warehouse, dialect);
  await rewindToEarliest(config.consumerGroup, config.topicEvents);
  expect((await groupProgress(config.consumerGroup, config.topicEvents)).committed).toBe(0);
  const replay = await startTestPipeline({ config, warehouse, receiver: false });
  try {
    await waitFor(() => groupProgress(config.consumerGroup, config.topicEvents), (p) => p.committed === p.end, 90_000, 'the replay to finish');
  } finally {
    await replay.pipeline.stop();
  }
  expect(await checksums(warehouse, dialect)).toEqual(before);
}
