import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALL_EVENTS, isNewer, newestPerKey, REQUESTS, TABLES, TELEPHONY_CALLBACKS, versionOrder, type Row } from '../../../src/warehouse/index.js';

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

  it('never merges distinct keys whose columns join to the same text', () => {
    const rows = [row('a\u0000b', 'c', 1), row('a', 'b\u0000c', 2)];
    expect(newestPerKey(CALL_EVENTS, rows)).toHaveLength(2);
  });

  it('orders by receipt time, whatever the partition or offset; the same request is never newer than itself', () => {
    expect(isNewer(CALL_EVENTS, row('a', 'e', 5, { received_at: 1 }), row('a', 'e', 4, { received_at: 99 }))).toBe(false);
    expect(isNewer(CALL_EVENTS, row('a', 'e', 1, { kafka_partition: 1, received_at: 99 }), row('a', 'e', 50, { received_at: 2 }))).toBe(true);
    // A topic deleted and created again: offsets start from 0 again, receipt still orders.
    expect(isNewer(CALL_EVENTS, row('a', 'e', 0, { received_at: 500, request_id: 'r2' }), row('a', 'e', 0, { received_at: 100, request_id: 'r1' }))).toBe(true);
    expect(isNewer(CALL_EVENTS, row('a', 'e', 4, { request_id: 'r' }), row('a', 'e', 4, { request_id: 'r' }))).toBe(false);
    expect(isNewer(CALL_EVENTS, row('a', 'e', 9, { request_id: 'r', received_at: 7 }), row('a', 'e', 2, { request_id: 'r', received_at: 7 }))).toBe(false);
  });
});

describe('the requests table\'s version order: then the higher status', () => {
  // One request's two audit records (src/receiver/audited-request.ts): 202 with the event, then
  // 413 when the broker refused the event as too large. Both tie on (received_at, request_id).
  const audited = (status: number, kafka_offset: number): Row => ({ request_id: 'req-1', received_at: 1000, status, kafka_partition: 0, kafka_offset });
  const accepted = audited(202, 7);
  const refused = audited(413, 8);

  it('keeps the 413 whichever record comes first, within a batch and across batches', () => {
    expect(newestPerKey(REQUESTS, [accepted, refused])).toEqual([refused]);
    expect(newestPerKey(REQUESTS, [refused, accepted])).toEqual([refused]);
    expect(isNewer(REQUESTS, refused, accepted)).toBe(true);
    expect(isNewer(REQUESTS, accepted, refused)).toBe(false);
  });

  it('still never takes the same record, read again, for a newer version', () => {
    const again = { ...refused, kafka_partition: 3, kafka_offset: 90 };
    expect(isNewer(REQUESTS, again, refused)).toBe(false);
    expect(isNewer(REQUESTS, refused, again)).toBe(false);
    expect(newestPerKey(REQUESTS, [refused, again])).toEqual([refused]);
  });

  it('orders by receipt and request id first, as every table does', () => {
    expect(isNewer(REQUESTS, audited(202, 1), { ...refused, received_at: 999 })).toBe(true);
    expect(isNewer(REQUESTS, { ...accepted, request_id: 'req-2' }, refused)).toBe(true);
  });

  it('is for requests only: a tie of call_events on (received_at, request_id) keeps the first', () => {
    const event = (status: number): Row => ({ call_id: 'k', event_type: 'e', request_id: 'r', received_at: 1000, status, kafka_partition: 0, kafka_offset: status });
    expect(newestPerKey(CALL_EVENTS, [event(202), event(413)])[0].status).toBe(202);
    expect(newestPerKey(CALL_EVENTS, [event(413), event(202)])[0].status).toBe(413);
    expect(isNewer(CALL_EVENTS, event(413), event(202))).toBe(false);
  });
});

/** Versions of one key as the sink may see them: few receipt times (ties), a few requests seen several times at other offsets. */
const versions = fc.array(
  fc.record({ request: fc.integer({ min: 0, max: 6 }), kafka_partition: fc.nat(2), kafka_offset: fc.nat(20) }),
  { minLength: 1, maxLength: 12 },
).map((list) =>
  // One request has one receipt time, wherever (and however often) it is read; two requests share each millisecond.
  list.map((v) => ({ call_id: 'k', event_type: 'e', request_id: `r${v.request}`, received_at: Math.floor(v.request / 2), kafka_partition: v.kafka_partition, kafka_offset: v.kafka_offset }) as Row),
);

describe('the version order (properties)', () => {
  it('is a strict total order on requests: irreflexive, asymmetric, transitive', () => {
    fc.assert(
      fc.property(versions, (rows) => {
        for (const a of rows) {
          expect(isNewer(CALL_EVENTS, a, a)).toBe(false);
          for (const b of rows) {
            if (a.request_id === b.request_id) expect(isNewer(CALL_EVENTS, a, b) || isNewer(CALL_EVENTS, b, a)).toBe(false);
            else expect(isNewer(CALL_EVENTS, a, b)).toBe(!isNewer(CALL_EVENTS, b, a));
            for (const c of rows) if (isNewer(CALL_EVENTS, a, b) && isNewer(CALL_EVENTS, b, c)) expect(isNewer(CALL_EVENTS, a, c)).toBe(true);
          }
        }
      }),
    );
  });

  it('makes the kept version independent of the order rows arrive in, and of splitting them into batches', () => {
    fc.assert(
      fc.property(versions, fc.infiniteStream(fc.nat()), fc.nat(11), (rows, shuffleSeeds, cut) => {
        const order = [...rows].map((r) => [r, shuffleSeeds.next().value] as const).sort((a, b) => a[1] - b[1]).map(([r]) => r);
        const kept = (list: Row[]) => newestPerKey(CALL_EVENTS, list)[0].request_id;
        // Writing in two batches: the second batch's newest replaces the first's only when newer (the MERGE guard).
        const first = newestPerKey(CALL_EVENTS, order.slice(0, cut + 1))[0];
        const rest = order.slice(cut + 1);
        const second = rest.length ? newestPerKey(CALL_EVENTS, rest)[0] : undefined;
        const merged = second && isNewer(CALL_EVENTS, second, first) ? second : first;
        expect(kept(order)).toBe(kept(rows));
        expect(merged.request_id).toBe(kept(rows));
      }),
    );
  });
});

/**
 * Key columns from few characters, NUL and the separators a join might use among them, so
 * that distinct tuples often join to the same text (each tuple is drawn with its columns
 * joined by NUL and split again at the last two NULs).
 */
const keyPart = fc.string({ unit: fc.constantFrom('a', '\u0000', ',', '"'), maxLength: 3 });
const keyTuples = fc.array(fc.tuple(keyPart, keyPart, keyPart), { maxLength: 30 }).map((keys) => [
  ...keys,
  ...keys.map(([a, b, c]) => {
    const joined = [a, b, c].join('\u0000');
    const [x = '', y = '', ...rest] = joined.split('\u0000').reverse();
    return [rest.reverse().join('\u0000'), y, x] as [string, string, string];
  }),
]);

describe('newestPerKey (properties)', () => {
  it('keeps exactly one row per distinct key tuple, whatever the text of the key columns', () => {
    fc.assert(
      fc.property(keyTuples, (keys) => {
        const rows = keys.map(([vendor, call, status], i): Row => ({ vendor_slug: vendor, provider_call_id: call, callback_status: status, request_id: `r${i}`, received_at: i, kafka_partition: 0, kafka_offset: i }));
        const kept = newestPerKey(TELEPHONY_CALLBACKS, rows);
        const tuple = (r: Row) => JSON.stringify(TELEPHONY_CALLBACKS.keyColumns.map((c) => r[c]));
        const lastIndex = new Map(keys.map((k, i) => [JSON.stringify(k), i]));
        expect(kept).toHaveLength(lastIndex.size);
        // Each kept row is its key's newest version (the last with its tuple here).
        for (const r of kept) expect(r.received_at).toBe(lastIndex.get(tuple(r)));
      }),
    );
  });
});

describe('the version order of every table', () => {
  // A NULL compares as text in isNewer but as "not newer" in SQL: no version column may be nullable.
  it('names only required columns of the table', () => {
    for (const spec of TABLES) {
      for (const name of versionOrder(spec)) expect(spec.columns.find((c) => c.name === name)?.required, `${spec.name}.${name}`).toBe(true);
    }
  });
});
