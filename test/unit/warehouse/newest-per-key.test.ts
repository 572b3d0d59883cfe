import { describe, expect, it } from 'vitest';
import { CALL_EVENTS, isNewer, newestPerKey, TELEPHONY_CALLBACKS, type Row } from '../../../src/warehouse/index.js';

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

  it('keys telephony callbacks by all three key columns', () => {
    const callback = (vendor: string, status: string, kafka_offset: number): Row => ({ vendor_slug: vendor, provider_call_id: 'CA1', callback_status: status, kafka_partition: 0, kafka_offset, received_at: kafka_offset });
    const rows = [callback('twilio', 'ringing', 1), callback('twilio', 'completed', 2), callback('twilio', 'completed', 5), callback('acme', 'completed', 3), callback('twilio', 'ringing', 0)];
    const kept = newestPerKey(TELEPHONY_CALLBACKS, rows);
    expect(kept.map((r) => `${r.vendor_slug}/${r.callback_status}@${r.kafka_offset}`)).toEqual(['twilio/ringing@1', 'twilio/completed@5', 'acme/completed@3']);
  });

  it('orders by offset within a partition and by receipt time across partitions', () => {
    expect(isNewer(row('a', 'e', 5, { received_at: 1 }), row('a', 'e', 4, { received_at: 99 }))).toBe(true);
    expect(isNewer(row('a', 'e', 1, { kafka_partition: 1, received_at: 99 }), row('a', 'e', 50, { received_at: 2 }))).toBe(true);
    expect(isNewer(row('a', 'e', 4), row('a', 'e', 4))).toBe(false);
  });
});
