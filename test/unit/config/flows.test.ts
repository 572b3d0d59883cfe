import { describe, expect, it } from 'vitest';
import { FLOWS, flowTopic, flowTopics, loadConfig, OPTIONS } from '../../../src/config/index.js';
import { topicPlan } from '../../../src/kafka/index.js';
import { registrySubjects } from '../../../src/pipeline/schema-registry.js';

/** The flows' topics are declared once (src/config/flows.ts); everything that lists topics reads them from there. */
describe('flows and their topics', () => {
  const config = loadConfig({ CALLSTREAM_TOPIC_EVENTS: 'a.events', CALLSTREAM_TOPIC_TELEPHONY_RAW: 't.raw' });

  it('every per-flow topic setting belongs to exactly one flow and role (only the erasures topic is shared)', () => {
    const placed = FLOWS.flatMap((flow) => (['events', 'raw', 'deadLetter'] as const).map((role) => flowTopic(config, flow, role).setting));
    const topicSettings = Object.values(OPTIONS)
      .map((o) => o.env)
      .filter((env) => /^CALLSTREAM_TOPIC_/.test(env) && !/_(PARTITIONS|REPLICATION)$/.test(env) && env !== 'CALLSTREAM_TOPIC_ERASURES');
    expect(new Set(placed).size).toBe(placed.length);
    expect([...placed].sort()).toEqual([...topicSettings].sort());
  });

  it('topic creation and the registry subjects follow the flows table', () => {
    expect(flowTopic(config, 'callaro', 'events')).toEqual({ flow: 'callaro', role: 'events', topic: 'a.events', setting: 'CALLSTREAM_TOPIC_EVENTS' });
    expect(flowTopics(config, 'raw').map((t) => t.topic)).toEqual([config.topicRaw, 't.raw']);
    const planned = topicPlan(config).map((t) => t.topic);
    for (const flow of FLOWS) for (const role of ['events', 'raw', 'deadLetter'] as const) expect(planned).toContain(flowTopic(config, flow, role).topic);
    expect(registrySubjects(config).map((s) => s.subject)).toEqual(['a.events-value', `${config.topicRaw}-value`, `${config.topicTelephony}-value`, 't.raw-value']);
  });
});
