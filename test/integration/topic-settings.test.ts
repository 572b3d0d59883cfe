import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/index.js';
import { createLogger } from '../../src/logger.js';
import { isolatedConfig, requireBroker, testKafka } from '../support/pipeline-harness.js';

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
