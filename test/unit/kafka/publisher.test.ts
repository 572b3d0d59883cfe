import { Partitioners, type Producer } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { Publisher } from '../../../src/kafka/index.js';
import { createLogger } from '../../../src/logger.js';

const logger = createLogger({ level: 'silent' });
const message = (key: string, topic = 'events') => ({ topic, key, value: Buffer.from(key) });

type Call = { topicMessages: Array<{ topic: string; messages: Array<{ key: string }> }>; acks: number };

/** A producer handle whose sendBatch does `behaviour`; counts the replacements the publisher asks for. */
function fakeProducer(behaviour: (call: number, batch: Call) => Promise<void> = () => Promise.resolve()) {
  const calls: Call[] = [];
  const handle = {
    replacements: 0,
    producer: {
      sendBatch: vi.fn(async (batch: Call) => {
        calls.push(batch);
        await behaviour(calls.length, batch);
        return [];
      }),
    } as unknown as Producer,
    async replace() {
      handle.replacements++;
    },
  };
  return { producer: handle, calls };
}

/** The partition kafkajs's default partitioner gives a key (murmur2, as the Java client). */
const kafkajsPartition = (key: string, count: number) =>
  Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata: Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] })), message: { key, value: null } });

const keysOf = (call: Call) => call.topicMessages.flatMap((t) => t.messages.map((m) => m.key)).sort();

describe('Publisher', () => {
  it('gathers concurrent publishes into one acks=all produce request, grouped by topic', async () => {
    const { producer, calls } = fakeProducer();
    const publisher = new Publisher(producer, logger, { lingerMs: 5 });
    await Promise.all([publisher.publish([message('a'), message('a', 'raw')]), publisher.publish([message('b')]), publisher.publish([message('c')])]);
    expect(calls).toHaveLength(1);
    expect(calls[0].acks).toBe(-1);
    const sizes = Object.fromEntries(calls[0].topicMessages.map((t) => [t.topic, t.messages.length]));
    expect(sizes).toEqual({ events: 3, raw: 1 });
  });

  it('rejects every publish of a batch the broker did not acknowledge, and recovers after with a fresh producer', async () => {
    let down = true;
    const { producer, calls } = fakeProducer(async () => {
      if (down) throw new Error('broker down');
    });
    const publisher = new Publisher(producer, logger, { lingerMs: 1 });
    const results = await Promise.allSettled([publisher.publish([message('a')]), publisher.publish([message('b')])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.code).toBe('KAFKA_UNAVAILABLE');
    down = false;
    await publisher.publish([message('c')]);
    expect(calls.map(keysOf)).toEqual([['a', 'b'], ['a'], ['b'], ['c']]); // the shared request, then each alone
    expect(producer.replacements).toBe(3); // never a producer reused after a failed request
  });

  it('one request that sinks a shared produce request is refused alone; the others are stored and acknowledged', async () => {
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { type: 'MESSAGE_TOO_LARGE', retriable: false });
    const { producer, calls } = fakeProducer(async (_n, batch) => {
      if (keysOf(batch).includes('huge')) throw tooLarge;
    });
    const publisher = new Publisher(producer, logger, { lingerMs: 5 });
    const results = await Promise.allSettled([publisher.publish([message('a')]), publisher.publish([message('huge')]), publisher.publish([message('b')])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.code).toBe('KAFKA_RECORD_TOO_LARGE');
    expect(calls.map(keysOf)).toEqual([['a', 'b', 'huge'], ['a'], ['huge'], ['b']]);
    expect(producer.replacements).toBe(2);
  });

  it('refuses a record over its topic\'s max.message.bytes before producing anything', async () => {
    const { producer, calls } = fakeProducer();
    const publisher = new Publisher(producer, logger, { lingerMs: 0, recordLimits: new Map([['events', 1_000]]) });
    const big = { topic: 'events', key: 'k', value: Buffer.alloc(2_000) };
    await expect(publisher.publish([message('audit', 'raw'), big])).rejects.toMatchObject({ code: 'KAFKA_RECORD_TOO_LARGE' });
    expect(calls).toHaveLength(0);
    expect(publisher.fits(big)).toBe(false);
    expect(publisher.fits({ ...big, value: Buffer.alloc(500) })).toBe(true);
  });

  it('places records as kafkajs would and re-sends the records of a partition the acknowledgement left out (kafkajs #1303)', async () => {
    const answered: Array<Array<{ topic: string; partition: number }>> = [];
    let first = true;
    const { producer, calls } = fakeProducer();
    (producer.producer as unknown as { sendBatch: (b: Call) => Promise<unknown> }).sendBatch = async (batch: Call) => {
      calls.push(batch);
      const partitions = batch.topicMessages.flatMap((t) => t.messages.map((m) => ({ topic: t.topic, partition: (m as unknown as { partition: number }).partition })));
      answered.push(partitions);
      // The first acknowledgement leaves out the partition of "b" (its leader moved meanwhile).
      const bPartition = partitions[batch.topicMessages[0].messages.findIndex((m) => m.key === 'b')];
      const kept = first && bPartition ? partitions.filter((p) => p.partition !== bPartition.partition) : partitions;
      first = false;
      return kept.map((p) => ({ topicName: p.topic, partition: p.partition, errorCode: 0 }));
    };
    const publisher = new Publisher(producer, logger, { lingerMs: 5, partitions: new Map([['events', 50]]) });
    // Keys that murmur2 puts on different partitions of 50.
    const results = await Promise.allSettled(['a', 'b'].map((k) => publisher.publish([message(k)])));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const partitionOf = (key: string) => answered[0][calls[0].topicMessages[0].messages.findIndex((m) => m.key === key)].partition;
    expect(partitionOf('a')).not.toBe(partitionOf('b'));
    expect(partitionOf('a')).toBe(kafkajsPartition('a', 50));
    // Only the left-out partition's records again, with the same producer: kafkajs rolled its
    // sequence numbers back, so a broker that had appended them drops the repeat as a duplicate.
    expect(calls.map(keysOf)).toEqual([['a', 'b'], ['b']]);
    expect(producer.replacements).toBe(0);
  });

  it('keeps each topic\'s bytes in one produce request under that topic\'s limit', async () => {
    const { producer, calls } = fakeProducer();
    const publisher = new Publisher(producer, logger, { lingerMs: 5, recordLimits: new Map([['events', 1_000]]) });
    const record = (key: string) => ({ topic: 'events', key, value: Buffer.alloc(400) });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => publisher.publish([record(k)])));
    expect(calls.map(keysOf)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('sends one batch at a time; what arrives meanwhile goes in the next', async () => {
    let release!: () => void;
    const { producer, calls } = fakeProducer((n) => (n === 1 ? new Promise((r) => (release = r)) : Promise.resolve()));
    const publisher = new Publisher(producer, logger, { lingerMs: 0 });
    const first = publisher.publish([message('a')]);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    const second = publisher.publish([message('b')]);
    const third = publisher.publish([message('c')]);
    expect(calls).toHaveLength(1);
    release();
    await Promise.all([first, second, third]);
    expect(calls).toHaveLength(2);
    expect(calls[1].topicMessages[0].messages).toHaveLength(2);
  });

  it('fails fast when too much waits for the broker (bounded memory)', async () => {
    const { producer } = fakeProducer(() => new Promise(() => undefined));
    const publisher = new Publisher(producer, logger, { lingerMs: 0, maxQueuedBytes: 60 }); // a record of 5-byte key and value takes 42 bytes
    void publisher.publish([message('12345')]);
    void publisher.publish([message('12345')]);
    await expect(publisher.publish([message('12345')])).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE' });
  });
});
