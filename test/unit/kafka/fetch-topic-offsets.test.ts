import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { fetchTopicOffsetsWhenReady } from '../../../src/kafka/index.js';

/** An admin whose fetchTopicOffsets throws the given errors first, then answers. */
function admin(errors: Array<{ type?: string; message: string; originalError?: { type: string } }>) {
  let calls = 0;
  let metadata = 0;
  const fake = {
    fetchTopicOffsets: async () => {
      const error = errors[calls++];
      if (error) throw Object.assign(new Error(error.message), error);
      return [{ partition: 0, offset: '5', high: '5', low: '0' }];
    },
    fetchTopicMetadata: async () => {
      metadata++;
      return { topics: [] };
    },
  };
  return { admin: fake as unknown as Admin, calls: () => calls, metadata: () => metadata };
}

describe('fetchTopicOffsetsWhenReady', () => {
  it('asks again while a topic just created has no leader, refreshing the metadata', async () => {
    const a = admin([{ type: 'NOT_LEADER_FOR_PARTITION', message: 'not the leader' }, { type: 'LEADER_NOT_AVAILABLE', message: 'no leader' }]);
    expect(await fetchTopicOffsetsWhenReady(a.admin, 't')).toEqual([{ partition: 0, offset: '5', high: '5', low: '0' }]);
    expect(a.calls()).toBe(3);
    expect(a.metadata()).toBe(2);
  });

  it('looks inside kafkajs\'s retries-exceeded error for the type (a broker just started: "does not host this topic-partition")', async () => {
    const a = admin([{ message: 'retries exceeded', originalError: { type: 'UNKNOWN_TOPIC_OR_PARTITION' } }]);
    expect(await fetchTopicOffsetsWhenReady(a.admin, 't')).toHaveLength(1);
    expect(a.calls()).toBe(2);
  });

  it('fails at once on any other error', async () => {
    const a = admin([{ type: 'TOPIC_AUTHORIZATION_FAILED', message: 'denied' }]);
    await expect(fetchTopicOffsetsWhenReady(a.admin, 't')).rejects.toThrow('denied');
    expect(a.calls()).toBe(1);
  });
});
