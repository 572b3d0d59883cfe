import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logger.js';

/**
 * Reading a time range of topics (audit, dead-letter) from the side, as `redrive` and
 * `replay-raw` do: the offsets in range per partition, then one pass over them.
 */

export interface Range {
  topic: string;
  partition: number;
  start: bigint;
  end: bigint;
}

/** Per topic and partition, the offsets to read: from `from` (or the start) to the end as it is now. */
export async function rangesOf(admin: Admin, topics: string[], from?: Date): Promise<Map<string, Range>> {
  const ranges = new Map<string, Range>();
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const starts = from ? await admin.fetchTopicOffsetsByTimestamp(topic, from.getTime()) : ends.map((e) => ({ partition: e.partition, offset: e.low }));
    for (const e of ends) {
      const start = BigInt(starts.find((s) => s.partition === e.partition)?.offset ?? e.low);
      const low = BigInt(e.low);
      const first = start < low ? low : start;
      if (first < BigInt(e.high)) ranges.set(`${topic}:${e.partition}`, { topic, partition: e.partition, start: first, end: BigInt(e.high) });
    }
  }
  return ranges;
}

/**
 * Reads every range once with a throwaway consumer group (`<prefix>-<uuid>`, deleted after),
 * handing each batch's messages in range to `each`: the sink's group is never touched.
 */
export async function scan(
  kafka: Kafka,
  admin: Admin,
  ranges: Map<string, Range>,
  each: (topic: string, messages: KafkaMessage[], partition: number) => void | Promise<void>,
  group: { prefix: string; logger?: Logger } = { prefix: 'callstream-redrive' },
): Promise<void> {
  if (ranges.size === 0) return;
  const groupId = `${group.prefix}-${randomUUID()}`;
  const topics = [...new Set([...ranges.values()].map((r) => r.topic))];
  for (const topic of topics) {
    const partitions = [...ranges.values()].filter((r) => r.topic === topic).map((r) => ({ partition: r.partition, offset: r.start.toString() }));
    await admin.setOffsets({ groupId, topic, partitions });
  }
  const remaining = new Set(ranges.keys());
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
            const range = ranges.get(`${batch.topic}:${batch.partition}`);
            if (!range || !remaining.has(`${batch.topic}:${batch.partition}`)) return;
            const messages = batch.messages.filter((m) => BigInt(m.offset) < range.end);
            await each(batch.topic, messages, batch.partition);
            for (const m of messages) resolveOffset(m.offset);
            await heartbeat();
            if (BigInt(batch.lastOffset()) + 1n >= range.end) remaining.delete(`${batch.topic}:${batch.partition}`);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  await admin.deleteGroups([groupId]).catch((err) => group.logger?.warn({ err, groupId }, 'could not delete the throwaway group'));
}
