import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/index.js';
import { FLOWS, flowTopic, type Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { fetchRecords, fetchTopicOffsetsWhenReady, type RecordPlace } from '../kafka/index.js';

/** The topics whose records carry the receiver's receipt times: each flow's events and audit topic. */
export function receiptTopics(config: Config): string[] {
  return FLOWS.flatMap((flow) => [flowTopic(config, flow, 'events').topic, flowTopic(config, flow, 'raw').topic]);
}

/**
 * The newest receipt time already on the receiver's topics, so that a receiver starting on a
 * clock that is behind (a restart, a rolling deploy onto another host) stamps above it: the
 * last record of each partition, its received_at and its Kafka timestamp (taken when it was
 * produced, after its receipt: it also covers a request whose body took long to arrive and was
 * published after a later one). Reads only those records (a seek each, no scan); 0 when the
 * topics are empty. A record no schema reads counts by its Kafka timestamp alone. Reading
 * them takes read access to the topics and a throwaway group `callstream-receipt-<uuid>`.
 */
export async function newestReceiptTime(kafka: Kafka, admin: Admin, codec: AvroCodec, topics: readonly string[], logger: Logger): Promise<number> {
  const places: RecordPlace[] = [];
  for (const topic of topics) {
    for (const p of await fetchTopicOffsetsWhenReady(admin, topic)) {
      if (BigInt(p.high) > BigInt(p.low)) places.push({ topic, partition: p.partition, offset: Number(BigInt(p.high) - 1n) });
    }
  }
  if (places.length === 0) return 0;
  const records = [...(await fetchRecords(kafka, places, logger, { timeoutMs: 10_000, groupPrefix: 'callstream-receipt' })).values()];
  await codec.prefetch(records.map((r) => r.value)).catch(() => undefined);
  return Math.max(0, ...records.map((r) => receiptTimeOf(codec, r)));
}

function receiptTimeOf(codec: AvroCodec, record: KafkaMessage): number {
  const produced = Number(record.timestamp);
  try {
    const receivedAt = codec.decode<{ received_at?: unknown }>(record.value!).value.received_at;
    return typeof receivedAt === 'number' ? Math.max(receivedAt, produced) : produced;
  } catch {
    return produced;
  }
}

