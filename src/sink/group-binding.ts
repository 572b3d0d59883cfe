import kafkajs, { type Admin, type GroupMember, type MemberDescription, type PartitionAssigner } from 'kafkajs';
import { CallstreamError } from '../errors.js';
import type { WarehouseIdentity } from '../warehouse/index.js';

// kafkajs is CommonJS, and Node's ESM loader does not find these exports by name.
const { AssignerProtocol, PartitionAssigners } = kafkajs;

/**
 * A consumer group belongs to one warehouse. Its committed offsets say what is written, so a
 * second sink writing elsewhere (another DuckDB file: a second checkout, another data folder)
 * must not take partitions from it: what it reads is committed for the group and never reaches
 * the first warehouse. Sinks of one warehouse (several BigQuery sinks scaled by partitions)
 * share a group as before.
 *
 * Each sink announces its warehouse's identity in its group membership (the assigner's member
 * metadata, userData), and
 * - before joining, a sink reads the members' announcements (DescribeGroups) and refuses to
 *   join when one names another warehouse: the running sinks are not even disturbed;
 * - the group's leader assigns partitions only to members announcing its own warehouse (two
 *   sinks starting at once: the first to join, which leads, keeps the group);
 * - after joining, a member checks the leader's announcement, and stops when it names another
 *   warehouse (it got no partitions).
 * A member that announces nothing (an older callstream) is not checked. The assigner keeps
 * kafkajs's round-robin name and version, so older sinks and this one share a group during a
 * rolling upgrade.
 */

const ANNOUNCEMENT_VERSION = 1;

interface Announcement {
  callstream: number;
  warehouse: string;
  description: string;
}

/**
 * The round-robin assigner, announcing the warehouse `identity()` returns (asked at each join:
 * the sink knows it once its warehouse is open) and leaving members of another warehouse
 * without partitions.
 */
export function bindingAssigner(identity: () => WarehouseIdentity): PartitionAssigner {
  return (config) => {
    const roundRobin = PartitionAssigners.roundRobin(config);
    return {
      name: roundRobin.name,
      version: roundRobin.version,
      protocol: ({ topics }) => {
        const mine = identity();
        const userData = Buffer.from(JSON.stringify({ callstream: ANNOUNCEMENT_VERSION, warehouse: mine.id, description: mine.description } satisfies Announcement));
        return { name: roundRobin.name, metadata: AssignerProtocol.MemberMetadata.encode({ version: roundRobin.version, topics, userData }) };
      },
      async assign({ members, topics }) {
        const mine = identity();
        const foreign = members.filter((m) => isForeign(m, mine));
        const bound = members.filter((m) => !foreign.includes(m));
        for (const m of foreign) config.logger.error(`a member announcing ${announcedIdentity(m.memberMetadata)?.description} gets no partitions: the group belongs to ${mine.description}`, { memberId: m.memberId });
        const assignment = await roundRobin.assign({ members: bound, topics });
        const none = AssignerProtocol.MemberAssignment.encode({ version: roundRobin.version, assignment: {}, userData: Buffer.alloc(0) });
        return [...assignment, ...foreign.map((m) => ({ memberId: m.memberId, memberAssignment: none }))];
      },
    };
  };
}

/** The warehouse a member announced in its metadata, if it announced one. */
export function announcedIdentity(memberMetadata: Buffer): WarehouseIdentity | undefined {
  try {
    const { userData } = AssignerProtocol.MemberMetadata.decode(memberMetadata)!;
    const announced = JSON.parse(userData.toString('utf8')) as Partial<Announcement>;
    if (typeof announced.warehouse !== 'string' || typeof announced.description !== 'string') return undefined;
    return { id: announced.warehouse, description: announced.description };
  } catch {
    return undefined; // no userData, or not ours: another client or an older callstream
  }
}

function isForeign(member: GroupMember, mine: WarehouseIdentity): boolean {
  const theirs = announcedIdentity(member.memberMetadata);
  return theirs !== undefined && theirs.id !== mine.id;
}

/**
 * Throws SINK_GROUP_SHARED when the group has a member writing to another warehouse: before
 * joining, any member; after joining (`leaderId`), the leader, whose warehouse the group keeps.
 */
export async function checkGroupBinding(admin: Admin, groupId: string, mine: WarehouseIdentity, leaderId?: string): Promise<void> {
  const { groups } = await admin.describeGroups([groupId]);
  const members = (groups[0]?.members ?? []).filter((m) => leaderId === undefined || m.memberId === leaderId);
  for (const member of members) {
    const theirs = announcedIdentity(member.memberMetadata);
    if (theirs && theirs.id !== mine.id) throw groupShared(groupId, member, theirs, mine);
  }
}

function groupShared(groupId: string, member: MemberDescription, theirs: WarehouseIdentity, mine: WarehouseIdentity): CallstreamError {
  return new CallstreamError(
    'SINK_GROUP_SHARED',
    `Consumer group ${groupId} belongs to ${theirs.description} (member ${member.clientId} at ${member.clientHost}); this sink writes to ${mine.description}. ` +
      'A group belongs to one warehouse: give this sink a group of its own (CALLSTREAM_CONSUMER_GROUP; a new group reads the topics from their start).',
  );
}
