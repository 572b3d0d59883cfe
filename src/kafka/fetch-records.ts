import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

/** A record's place: what the requests and dead_letters tables point at. */
export interface RecordPlace {
  topic: string;
  partition: number;
  offset: number;
}

export interface FetchOptions {
  /** Called after each batch with the records found so far out of those asked. */
  onProgress?: (found: number, total: number) => void;
  /** Gives up on what is still missing after this long (default 30 s). */
  timeoutMs?: number;
  /** Prefix of the throwaway group's name (default callstream-trace): what ACLs for it name. */
  groupPrefix?: string;
}

const placeKey = (p: RecordPlace) => `${p.topic}\u0000${p.partition}\u0000${p.offset}`;

/**
 * Reads the records at the given places and nothing else (no scan): a throwaway consumer
 * group seeks each partition to its first wanted offset, and after each batch straight to the
 * next wanted offset. The sink's group is never touched; the
 * throwaway group commits nothing and is deleted after. A place past a topic's retention (or
 * deleted) comes back missing: the map has no entry for it.
 */
export async function fetchRecords(kafka: Kafka, places: readonly RecordPlace[], logger: Logger, options: FetchOptions = {}): Promise<Map<string, KafkaMessage>> {
  const found = new Map<string, KafkaMessage>();
  const wanted = new Map<string, bigint[]>(); // "topic\0partition" -> sorted offsets still to read
  for (const p of places) {
    const key = `${p.topic}\u0000${p.partition}`;
    const list = wanted.get(key) ?? [];
    if (!list.includes(BigInt(p.offset))) list.push(BigInt(p.offset));
    wanted.set(key, list);
  }
  for (const list of wanted.values()) list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const total = [...wanted.values()].reduce((n, l) => n + l.length, 0);
  options.onProgress?.(0, total);
  if (total === 0) return found;

  const admin = kafka.admin();
  const groupId = `${options.groupPrefix ?? 'callstream-trace'}-${randomUUID()}`;
  await admin.connect();
  try {
    const topics = [...new Set(places.map((p) => p.topic))];
    // A wanted offset already gone (retention) or not yet written is dropped now, not waited for.
    for (const topic of topics) {
      for (const e of await admin.fetchTopicOffsets(topic)) {
        const key = `${topic}\u0000${e.partition}`;
        const kept = wanted.get(key)?.filter((o) => o >= BigInt(e.low) && o < BigInt(e.high));
        if (kept && kept.length > 0) wanted.set(key, kept);
        else wanted.delete(key);
      }
    }
    if (wanted.size === 0) return found;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100, maxBytesPerPartition: 256 * 1024 });
    await consumer.connect();
    const timer = { id: undefined as NodeJS.Timeout | undefined };
    try {
      // From the end where nothing is wanted; each wanted partition is sought to its first offset once run() started.
      await consumer.subscribe({ topics, fromBeginning: false });
      await new Promise<void>((resolve, reject) => {
        timer.id = setTimeout(resolve, options.timeoutMs ?? 30_000); // what is still missing stays missing
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const key = `${batch.topic}\u0000${batch.partition}`;
              const list = wanted.get(key);
              if (!list) return;
              for (const message of batch.messages) {
                const at = BigInt(message.offset);
                const i = list.indexOf(at);
                if (i < 0) continue;
                list.splice(i, 1);
                found.set(placeKey({ topic: batch.topic, partition: batch.partition, offset: Number(at) }), message);
              }
              // Offsets the batch spans without holding (compaction, transaction markers) are not coming; those
              // before it are still to read (a batch fetched before the first seek took effect starts at the end).
              const [first, last] = [BigInt(batch.firstOffset() ?? batch.lastOffset()), BigInt(batch.lastOffset())];
              for (let i = list.length - 1; i >= 0; i--) if (list[i] >= first && list[i] <= last) list.splice(i, 1);
              if (list.length === 0) wanted.delete(key);
              else consumer.seek({ topic: batch.topic, partition: batch.partition, offset: list[0].toString() });
              options.onProgress?.(found.size, total);
              if (wanted.size === 0) resolve();
            },
          })
          .then(() => {
            for (const [key, list] of wanted) {
              const [topic, partition] = key.split('\u0000');
              consumer.seek({ topic, partition: Number(partition), offset: list[0].toString() });
            }
          })
          .catch(reject);
      });
    } finally {
      clearTimeout(timer.id);
      await consumer.disconnect();
    }
    await admin.deleteGroups([groupId]).catch((err) => logger.debug({ err, groupId }, 'could not delete the trace group'));
    return found;
  } catch (cause) {
    if (cause instanceof CallstreamError) throw cause;
    throw new CallstreamError('KAFKA_UNAVAILABLE', `Could not read the trace's records from ${[...new Set(places.map((p) => p.topic))].join(', ')}`, { cause });
  } finally {
    await admin.disconnect();
  }
}

/** The record fetched for a place, if any. */
export function recordAt(records: ReadonlyMap<string, KafkaMessage>, place: RecordPlace): KafkaMessage | undefined {
  return records.get(placeKey(place));
}
