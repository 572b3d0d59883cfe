import { AssignerProtocol } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callCompleted } from '../../support/fixtures.js';
import { groupProgress, startTestPipeline, testKafka, waitFor } from '../../support/pipeline-harness.js';
import { sendAll } from '../scenario.js';
import { GatedWarehouse } from './gated-warehouse.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let inner: DuckDbWarehouse;
let gated: GatedWarehouse;
let first: Started;
let second: Started | undefined;

beforeAll(async () => {
  inner = await DuckDbWarehouse.open(':memory:');
  gated = new GatedWarehouse(inner);
  first = await startTestPipeline({ warehouse: gated });
});
afterAll(async () => {
  gated?.open();
  await second?.pipeline.stop();
  await first?.pipeline.stop();
  await inner?.close();
});

/** The partitions of `topic` the group has given the member whose client id is `clientId`, once the group is stable. */
async function partitionsOf(groupId: string, clientId: string, topic: string): Promise<number[] | undefined> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    if (group?.state !== 'Stable') return undefined;
    const member = group.members.find((m) => m.clientId === clientId);
    if (!member) return undefined;
    return AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[topic] ?? [];
  } finally {
    await admin.disconnect();
  }
}

async function postCalls(url: string, from: number, count: number): Promise<void> {
  const sent = await sendAll(url, Array.from({ length: count }, (_, i) => callCompleted(from + i)), 8);
  expect(sent.filter((s) => s.status !== 202 && s.status !== 200)).toEqual([]);
}

describe('fault: a rebalance takes a partition while its write is in flight', () => {
  it('never lets the late commit of the old owner move the new owner’s offset back', async () => {
    const { consumerGroup, topicEvents } = first.config;
    const progress = () => groupProgress(consumerGroup, topicEvents);
    await postCalls(first.url, 0, 30);
    await waitFor(progress, (p) => p.committed === p.end && p.end >= 30, 30_000, 'the first sink to commit the first records');

    // The first sink's write of the next records hangs: it has fetched them, nothing is committed.
    gated.shut();
    await postCalls(first.url, 30, 30);
    await waitFor(async () => gated.held, (n) => n > 0, 30_000, 'the first sink’s write to be held');
    await new Promise((r) => setTimeout(r, 1_000)); // it has fetched everything there is

    // A second sink (its own, ungated handle on the same tables) joins and takes some partitions.
    const clientId = `${first.config.kafkaClientId}-second`;
    second = await startTestPipeline({ config: { ...first.config, kafkaClientId: clientId }, warehouse: inner, receiver: false });
    const taken = await waitFor(() => partitionsOf(consumerGroup, clientId, topicEvents), (p) => p !== undefined && p.length > 0, 30_000, 'the second sink to be assigned partitions');
    const kept = (await progress()).perPartition.map((p) => p.partition).filter((p) => !taken!.includes(p));

    // More records: the new owner writes and commits its partitions past what the first sink holds.
    await postCalls(first.url, 60, 60);
    const ownedByNew = (p: Awaited<ReturnType<typeof progress>>) => p.perPartition.filter((x) => taken!.includes(x.partition));
    await waitFor(progress, (p) => ownedByNew(p).every((x) => x.committed === x.end), 30_000, 'the second sink to commit its partitions');
    const before = await progress();

    // The old owner's write now finishes; it must not commit the partitions it lost.
    gated.open();
    await waitFor(progress, (p) => p.perPartition.filter((x) => kept.includes(x.partition)).every((x) => x.committed === x.end), 30_000, 'the first sink to commit the partitions it kept');
    await new Promise((r) => setTimeout(r, 1_500)); // time for any late commit to land
    const after = await progress();

    const movedBack = after.perPartition.filter((x) => x.committed < before.perPartition.find((b) => b.partition === x.partition)!.committed);
    expect({ taken, movedBack }).toEqual({ taken, movedBack: [] });
    expect(after.committed).toBe(after.end);
  });
});
