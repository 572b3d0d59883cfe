import type { Producer } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { Publisher } from '../../../src/kafka/index.js';
import { createLogger } from '../../../src/logger.js';

const logger = createLogger({ level: 'silent' });
const message = (key: string, topic = 'events') => ({ topic, key, value: Buffer.from(key) });

function fakeProducer(behaviour: (call: number) => Promise<void> = () => Promise.resolve()) {
  const calls: Array<{ topicMessages: Array<{ topic: string; messages: unknown[] }>; acks: number }> = [];
  const producer = {
    sendBatch: vi.fn(async (batch) => {
      calls.push(batch);
      await behaviour(calls.length);
      return [];
    }),
  };
  return { producer: producer as unknown as Producer, calls };
}

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

  it('rejects every publish of a batch the broker did not acknowledge, and recovers after', async () => {
    const { producer, calls } = fakeProducer(async (n) => {
      if (n === 1) throw new Error('broker down');
    });
    const publisher = new Publisher(producer, logger, { lingerMs: 1 });
    const results = await Promise.allSettled([publisher.publish([message('a')]), publisher.publish([message('b')])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.code).toBe('KAFKA_UNAVAILABLE');
    await publisher.publish([message('c')]);
    expect(calls).toHaveLength(2);
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
    const publisher = new Publisher(producer, logger, { lingerMs: 0, maxQueuedBytes: 10 });
    void publisher.publish([message('12345')]);
    void publisher.publish([message('12345')]);
    await expect(publisher.publish([message('12345')])).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE' });
  });
});
