import kafkajs, { type Admin, type Cluster, type Logger } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { announcedIdentity, bindingAssigner, checkGroupBinding } from '../../../src/sink/group-binding.js';

const { AssignerProtocol } = kafkajs;

const fileA = { id: 'duckdb:a', description: 'DuckDB file /a/callstream.duckdb on host-a (id a)' };
const fileB = { id: 'duckdb:b', description: 'DuckDB file /b/callstream.duckdb on host-b (id b)' };
const cluster = { findTopicPartitionMetadata: () => [0, 1, 2, 3].map((partitionId) => ({ partitionId })) } as unknown as Cluster;
const errors: string[] = [];
const logger = { error: (message: string) => errors.push(message), warn: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;

/** What a member of the group sends when it joins: a sink of `identity`, or (none) an older callstream. */
function metadataOf(identity?: typeof fileA): Buffer {
  if (!identity) return AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['t'], userData: Buffer.alloc(0) });
  return bindingAssigner(() => identity)({ cluster, groupId: 'g', logger }).protocol({ topics: ['t'] }).metadata;
}

describe('bindingAssigner', () => {
  it('keeps kafkajs round robin\'s protocol name and version (older sinks share the group in a rolling upgrade) and announces the warehouse', () => {
    const protocol = bindingAssigner(() => fileA)({ cluster, groupId: 'g', logger }).protocol({ topics: ['t'] });
    expect(protocol.name).toBe('RoundRobinAssigner');
    expect(AssignerProtocol.MemberMetadata.decode(protocol.metadata)).toMatchObject({ version: 0, topics: ['t'] });
    expect(announcedIdentity(protocol.metadata)).toEqual(fileA);
    expect(announcedIdentity(metadataOf())).toBeUndefined();
  });

  it('gives partitions only to members of the leader\'s warehouse, and to members that announce none', async () => {
    const assigner = bindingAssigner(() => fileA)({ cluster, groupId: 'g', logger });
    const members = [
      { memberId: 'm-a', memberMetadata: metadataOf(fileA) },
      { memberId: 'm-b', memberMetadata: metadataOf(fileB) },
      { memberId: 'm-old', memberMetadata: metadataOf() },
    ];
    const assignment = await assigner.assign({ members, topics: ['t'] });
    const partitions = Object.fromEntries(assignment.map((a) => [a.memberId, AssignerProtocol.MemberAssignment.decode(a.memberAssignment)?.assignment.t ?? []]));
    expect(partitions).toEqual({ 'm-a': [0, 2], 'm-old': [1, 3], 'm-b': [] });
    expect(errors.join('\n')).toContain(fileB.description);
  });
});

describe('checkGroupBinding', () => {
  const admin = (members: Array<{ memberId: string; metadata: Buffer }>) =>
    ({ describeGroups: async () => ({ groups: [{ groupId: 'g', members: members.map((m) => ({ memberId: m.memberId, clientId: 'callstream', clientHost: '/10.0.0.2', memberMetadata: m.metadata, memberAssignment: Buffer.alloc(0) })) }] }) }) as unknown as Admin;

  it('before joining, refuses a group with a member of another warehouse, naming the group and both warehouses', async () => {
    const refusal = checkGroupBinding(admin([{ memberId: 'm-a', metadata: metadataOf(fileA) }]), 'callstream-sink', fileB);
    await expect(refusal).rejects.toMatchObject({ code: 'SINK_GROUP_SHARED' });
    await expect(refusal).rejects.toThrow(/callstream-sink belongs to DuckDB file \/a\/callstream\.duckdb on host-a .*member callstream at \/10\.0\.0\.2.*this sink writes to DuckDB file \/b\/callstream\.duckdb/);
  });

  it('accepts an empty group, members of the same warehouse and members that announce none', async () => {
    await checkGroupBinding(admin([]), 'g', fileA);
    await checkGroupBinding(admin([{ memberId: 'm-a', metadata: metadataOf(fileA) }, { memberId: 'm-old', metadata: metadataOf() }]), 'g', fileA);
  });

  it('after joining, compares with the leader only: the leader\'s warehouse keeps the group', async () => {
    const group = admin([{ memberId: 'leader', metadata: metadataOf(fileA) }, { memberId: 'other', metadata: metadataOf(fileB) }]);
    await checkGroupBinding(group, 'g', fileA, 'leader');
    await expect(checkGroupBinding(group, 'g', fileB, 'leader')).rejects.toMatchObject({ code: 'SINK_GROUP_SHARED' });
  });
});
