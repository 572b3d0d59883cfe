import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { AvroCodec, schemasDir } from '../../src/codec/index.js';
import { loadConfig, type Config, type OptionKey } from '../../src/config/index.js';
import { isPortOpen, LOCAL_BROKER } from '../../src/kafka/index.js';
import { createLogger } from '../../src/logger.js';
import { Pipeline } from '../../src/pipeline/index.js';
import type { Warehouse } from '../../src/warehouse/index.js';

/** The broker the integration tests use: KAFKA_BROKERS, else the local one scripts/kafka.sh starts. */
export const TEST_BROKERS = (process.env.KAFKA_BROKERS ?? LOCAL_BROKER).split(',');

/**
 * Fails (never skips) when no broker answers: CI starts one in .ci/run, and a developer
 * runs `scripts/kafka.sh start` first.
 */
export async function requireBroker(): Promise<void> {
  const [host, port] = TEST_BROKERS[0].split(':');
  if (!(await isPortOpen(host, Number(port), 2000))) {
    throw new Error(`No Kafka broker at ${TEST_BROKERS[0]}: start one with \`scripts/kafka.sh start\` (.ci/run does this in CI).`);
  }
}

/** A config with topics and a consumer group of its own, so test files never see each other's records. */
export function isolatedConfig(overrides: Partial<Record<OptionKey, unknown>> = {}): Config {
  const id = randomUUID().slice(0, 8);
  return loadConfig(
    {},
    {
      kafkaBrokers: TEST_BROKERS,
      port: 0,
      dataDir: mkdtempSync(join(tmpdir(), 'callstream-test-')),
      topicEvents: `test.${id}.events`,
      topicRaw: `test.${id}.raw`,
      topicDeadLetter: `test.${id}.dlq`,
      topicTelephony: `test.${id}.telephony`,
      topicTelephonyRaw: `test.${id}.telephony-raw`,
      topicTelephonyDeadLetter: `test.${id}.telephony-dlq`,
      topicErasures: `test.${id}.erasures`,
      topicPartitions: 3,
      topicReplicationFactor: 1,
      consumerGroup: `test-${id}`,
      flushIntervalMs: 50,
      logLevel: process.env.TEST_LOG_LEVEL ?? 'warn',
      ...overrides,
    },
  );
}

export async function startTestPipeline(options: { config?: Config; warehouse?: Warehouse; receiver?: boolean; sink?: boolean; querySocket?: boolean; now?: () => number } = {}) {
  await requireBroker();
  const config = options.config ?? isolatedConfig();
  const pipeline = new Pipeline({
    config,
    logger: createLogger({ level: config.logLevel }),
    manageBroker: false,
    warehouse: options.warehouse,
    receiver: options.receiver,
    sink: options.sink,
    querySocket: options.querySocket ?? false,
    now: options.now,
  });
  await pipeline.start();
  const address = pipeline.receiver?.server.address();
  const url = address && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : '';
  return { pipeline, config, url };
}

export async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await probe();
  }
  return last;
}

export function testKafka(brokers: string[] = TEST_BROKERS): Kafka {
  return new Kafka({ clientId: 'callstream-test', brokers, logLevel: logLevel.NOTHING });
}

/** Reads every record of a topic up to its current end and decodes it (registry frames too, with a codec that has the registry). */
export async function readTopic(topic: string, codec = AvroCodec.fromDirectory(schemasDir()), brokers: string[] = TEST_BROKERS) {
  const kafka = testKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  const records: Array<{ partition: number; offset: number; key: string; value: Record<string, unknown>; headers: Record<string, string> }> = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 30_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        await codec.prefetch([message.value]);
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)]));
        records.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? '', value: codec.decode<Record<string, unknown>>(message.value!).value, headers });
        if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) remaining.delete(partition);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return records;
}

/** Reads a dead-letter topic until `count` records (matching `which`) arrived, then stops reading. */
export async function readDeadLetters(topic: string, count: number, which: (m: { key: string }) => boolean = () => true) {
  const consumer = testKafka().consumer({ groupId: `dlq-reader-${Date.now()}` });
  const messages: Array<{ key: string; value: string; headers: Record<string, string> }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        messages.push({ key: String(message.key), value: String(message.value), headers });
      },
    });
    await waitFor(async () => messages.filter(which).length, (n) => n >= count, 20_000, `${count} dead letter(s) on ${topic}`);
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** Committed offsets of a group against the topic's end offsets. */
export async function groupProgress(
  groupId: string,
  topic: string,
  brokers: string[] = TEST_BROKERS,
): Promise<{ committed: number; end: number; perPartition: Array<{ partition: number; committed: number; end: number }> }> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const perPartition = ends.map((e) => {
      const c = offsets?.partitions.find((p) => p.partition === e.partition);
      return { partition: e.partition, committed: Math.max(0, Number(c?.offset ?? -1)), end: Number(e.high) };
    });
    return {
      committed: perPartition.reduce((n, p) => n + p.committed, 0),
      end: perPartition.reduce((n, p) => n + p.end, 0),
      perPartition,
    };
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the group has committed everything in the topic. */
export async function waitForCaughtUp(groupId: string, topic: string, timeoutMs = 60_000, brokers: string[] = TEST_BROKERS): Promise<void> {
  await waitFor(() => groupProgress(groupId, topic, brokers), (p) => p.committed === p.end && p.end > 0, timeoutMs, `${groupId} to commit all of ${topic}`);
}

/** Rewinds a group (with no active members) to the earliest offsets: a full replay. */
export async function rewindToEarliest(groupId: string, topic: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.resetOffsets({ groupId, topic, earliest: true });
  } finally {
    await admin.disconnect();
  }
}
