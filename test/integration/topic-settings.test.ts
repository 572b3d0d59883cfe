import kafkajs, { type IResourceConfigEntry } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { ensureTopics } from '../../src/kafka/index.js';
import { createLogger } from '../../src/logger.js';
import type { StatusReport } from '../../src/status/index.js';
import { mainInProcess } from '../support/main-in-process.js';
import { topicEnv } from '../support/processes.js';
import { isolatedConfig, requireBroker, TEST_BROKERS, testKafka, waitFor } from '../support/pipeline-harness.js';

const { ConfigResourceTypes } = kafkajs;
const DAY_MS = 86_400_000;

describe('topics as callstream creates them (retention per kind, the compacted erasures topic)', () => {
  it('applies CALLSTREAM_RETENTION_* and cleanup.policy=compact for the erasures topic on the broker', async () => {
    await requireBroker();
    const config = isolatedConfig({ retentionEventsDays: 10, retentionRawDays: 3, retentionDeadLetterDays: -1 });
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await ensureTopics(admin, config, createLogger({ level: 'silent' }));
      const topics = [config.topicEvents, config.topicTelephony, config.topicRaw, config.topicTelephonyRaw, config.topicDeadLetter, config.topicErasures];
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms', 'cleanup.policy'] })),
      });
      const settings = Object.fromEntries(resources.map((r) => [r.resourceName, Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue]))]));
      expect(settings[config.topicEvents]).toEqual({ 'retention.ms': String(10 * DAY_MS), 'cleanup.policy': 'delete' });
      expect(settings[config.topicTelephony]['retention.ms']).toBe(String(10 * DAY_MS));
      expect(settings[config.topicRaw]['retention.ms']).toBe(String(3 * DAY_MS));
      expect(settings[config.topicTelephonyRaw]['retention.ms']).toBe(String(3 * DAY_MS));
      expect(settings[config.topicDeadLetter]['retention.ms']).toBe('-1');
      expect(settings[config.topicErasures]['cleanup.policy']).toBe('compact');
    } finally {
      await admin.disconnect();
    }
  });

  it('defaults to 30 days of events and dead letters and 14 days of audit', () => {
    const config = isolatedConfig();
    expect([config.retentionEventsDays, config.retentionRawDays, config.retentionDeadLetterDays]).toEqual([30, 14, 30]);
  });
});

/** Creates a topic as an operator (or another tool) would have before callstream's first start. */
async function preCreate(topic: string, configEntries: IResourceConfigEntry[]): Promise<void> {
  await requireBroker();
  const admin = testKafka().admin();
  await admin.connect();
  try {
    // Not waitForLeaders: kafkajs then fails at once when the broker's metadata lags the creation (UNKNOWN_TOPIC_OR_PARTITION).
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries }], waitForLeaders: false });
    await waitFor(
      () => admin.fetchTopicMetadata({ topics: [topic] }).then((m) => m.topics[0]?.partitions.every((p) => p.leader >= 0) ?? false, () => false),
      (ready) => ready,
      20_000,
      `${topic} to have a leader`,
    );
  } finally {
    await admin.disconnect();
  }
}

async function ensureFails(config: Config): Promise<Error & { code?: string }> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, config, createLogger({ level: 'silent' })).then(
      () => new Error('ensureTopics accepted the topics'),
      (err: Error) => err,
    );
  } finally {
    await admin.disconnect();
  }
}

const fixCommand = (topic: string, change: string) => `kafka-configs.sh --bootstrap-server ${TEST_BROKERS.join(',')} --alter --entity-type topics --entity-name ${topic} ${change}`;

describe('topic settings the promises rest on, checked at start and by status', () => {
  it('refuses an erasures topic created with cleanup.policy=delete: it would forget erasures before the events expire', async () => {
    const config = isolatedConfig();
    await preCreate(config.topicErasures, [{ name: 'cleanup.policy', value: 'delete' }, { name: 'retention.ms', value: String(7 * DAY_MS) }]);
    const err = await ensureFails(config);
    expect(err.code).toBe('KAFKA_TOPIC_UNSAFE');
    expect(err.message).toContain(`${config.topicErasures}: cleanup.policy=delete`);
    expect(err.message).toContain(`${config.topicEvents} keeps records for 30 days`);
    expect(err.message).toContain(fixCommand(config.topicErasures, '--add-config cleanup.policy=compact'));
  });

  it.each([
    ['events', (c: Config) => c.topicEvents],
    ['callbacks', (c: Config) => c.topicTelephony],
    ['audit', (c: Config) => c.topicRaw],
  ])('refuses a compacted %s topic: it keeps one record per key, and a replay loses the others', async (_kind, topicOf) => {
    const config = isolatedConfig();
    await preCreate(topicOf(config), [{ name: 'cleanup.policy', value: 'compact' }]);
    const err = await ensureFails(config);
    expect(err.code).toBe('KAFKA_TOPIC_UNSAFE');
    expect(err.message).toContain(`${topicOf(config)}: cleanup.policy=compact`);
    expect(err.message).toContain(fixCommand(topicOf(config), '--add-config cleanup.policy=delete'));
  });

  it('accepts an erasures topic that deletes, but only after every event, callback and audit record expired', async () => {
    const config = isolatedConfig({ retentionEventsDays: 10, retentionRawDays: 3 });
    await preCreate(config.topicErasures, [{ name: 'cleanup.policy', value: 'compact,delete' }, { name: 'retention.ms', value: String(10 * DAY_MS) }]);
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await ensureTopics(admin, config, createLogger({ level: 'silent' }));
    } finally {
      await admin.disconnect();
    }
  });

  it('`callstream status` names the unsafe setting and its fix as a problem (exit 1)', async () => {
    const config = isolatedConfig();
    await preCreate(config.topicEvents, [{ name: 'retention.ms', value: String(30 * DAY_MS) }]);
    await preCreate(config.topicErasures, [{ name: 'cleanup.policy', value: 'delete' }]);
    const env = {
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      ...topicEnv(config),
      CALLSTREAM_CONSUMER_GROUP: config.consumerGroup,
    };
    const run = await mainInProcess(['status', '--json', '--window', '0', '--url', 'http://127.0.0.1:9'], env);
    const report = JSON.parse(run.out) as StatusReport;
    expect(run.code).toBe(1);
    expect(report.problems).toContainEqual(expect.stringContaining(`topic ${config.topicErasures}: cleanup.policy=delete`));
    expect(report.problems).toContainEqual(expect.stringContaining(fixCommand(config.topicErasures, '--add-config cleanup.policy=compact')));
  });
});
