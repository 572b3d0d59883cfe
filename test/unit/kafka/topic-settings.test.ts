import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { topicPlan, unsafeSettings, type TopicSettings } from '../../../src/kafka/index.js';

const DAY = 86_400_000;
const topic = (name: string, role: TopicSettings['role'], replicationFactor: number, configs: TopicSettings['configs'] = {}): TopicSettings => ({ topic: name, role, replicationFactor, configs });
const settingsOf = (found: ReturnType<typeof unsafeSettings>) => found.map((u) => `${u.topic} ${u.setting}=${u.value}`);

describe('unsafeSettings', () => {
  it('refuses a replicated topic that acknowledges with one replica, or elects an out-of-sync leader', () => {
    const found = unsafeSettings(
      [
        topic('events', 'events', 3, { 'min.insync.replicas': '1' }),
        topic('raw', 'audit', 3, { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'true' }),
        topic('dlq', 'dead-letters', 2, { 'min.insync.replicas': '3' }), // Kafka caps it at 2: fine
      ],
      'b:9092',
    );
    expect(settingsOf(found)).toEqual(['events min.insync.replicas=1', 'raw unclean.leader.election.enable=true']);
    expect(found[0].fix).toBe('kafka-configs.sh --bootstrap-server b:9092 --alter --entity-type topics --entity-name events --add-config min.insync.replicas=2');
  });

  it('accepts a single replica (one broker): min.insync.replicas cannot be met there and Kafka does not require it', () => {
    expect(unsafeSettings([topic('events', 'events', 1, { 'min.insync.replicas': '2' }), topic('e', 'erasures', 1, { 'cleanup.policy': 'compact' })], 'b')).toEqual([]);
  });

  it('refuses an erasures topic that deletes before the longest-kept events, callbacks or audit records', () => {
    const kept = [topic('events', 'events', 1, { 'retention.ms': String(30 * DAY) }), topic('raw', 'audit', 1, { 'retention.ms': '-1' }), topic('dlq', 'dead-letters', 1, { 'retention.ms': '-1' })];
    const erasures = (configs: TopicSettings['configs']) => unsafeSettings([...kept, topic('erasures', 'erasures', 1, configs)], 'b');
    expect(settingsOf(erasures({ 'cleanup.policy': 'delete', 'retention.ms': String(400 * DAY) }))).toEqual(['erasures cleanup.policy=delete with retention.ms=34560000000']);
    expect(erasures({ 'cleanup.policy': 'delete', 'retention.ms': String(400 * DAY) })[0].why).toContain('while raw keeps records for ever');
    expect(erasures({ 'cleanup.policy': 'compact,delete', 'retention.ms': '-1' })).toEqual([]);
    expect(erasures({ 'cleanup.policy': 'compact' })).toEqual([]);
  });

  it('checks only the topics asked for, comparing with the others', () => {
    const all = [topic('events', 'events', 1, { 'cleanup.policy': 'compact' }), topic('erasures', 'erasures', 1, { 'cleanup.policy': 'delete', 'retention.ms': String(DAY) })];
    expect(settingsOf(unsafeSettings(all, 'b', ['erasures']))).toEqual(['erasures cleanup.policy=delete with retention.ms=86400000']);
  });
});

describe('topicPlan', () => {
  const config = loadConfig({}, {});
  const minIsr = (replicas: number) => topicPlan(config, replicas).map((t) => t.configEntries?.find((e) => e.name === 'min.insync.replicas')?.value);

  it('creates replicated topics with min.insync.replicas=2, and leaves a single replica to the broker', () => {
    expect(new Set(minIsr(3))).toEqual(new Set(['2']));
    expect(new Set(minIsr(2))).toEqual(new Set(['2']));
    expect(new Set(minIsr(1))).toEqual(new Set([undefined]));
  });
});
