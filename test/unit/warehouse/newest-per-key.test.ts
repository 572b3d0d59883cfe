import { describe, expect, it } from 'vitest';
import { CALL_EVENTS, isNewer, newestPerKey, type Row } from '../../../src/warehouse/index.js';

const row = (call_id: string, event_type: string, kafka_offset: number, extra: Partial<Row> = {}): Row => ({
  call_id,
  event_type,
  kafka_partition: 0,
  kafka_offset,
  received_at: 1000 + kafka_offset,
  ...extra,
});

describe('newestPerKey', () => {
  it('keeps the highest offset per (call_id, event type), whatever the order', () => {
    const rows = [row('a', 'call.completed', 5), row('a', 'call.completed', 9), row('a', 'call.completed', 7), row('a', 'call.analyzed', 1), row('b', 'call.completed', 2)];
    const kept = newestPerKey(CALL_EVENTS, rows);
    expect(kept.map((r) => `${r.call_id}/${r.event_type}@${r.kafka_offset}`)).toEqual(['a/call.completed@9', 'a/call.analyzed@1', 'b/call.completed@2']);
  });

  it('orders by offset within a partition and by receipt time across partitions', () => {
    expect(isNewer(row('a', 'e', 5, { received_at: 1 }), row('a', 'e', 4, { received_at: 99 }))).toBe(true);
    expect(isNewer(row('a', 'e', 1, { kafka_partition: 1, received_at: 99 }), row('a', 'e', 50, { received_at: 2 }))).toBe(true);
    expect(isNewer(row('a', 'e', 4), row('a', 'e', 4))).toBe(false);
  });
});
