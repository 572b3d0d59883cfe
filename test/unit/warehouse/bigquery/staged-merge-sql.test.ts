import { describe, expect, it } from 'vitest';
import { daysOf, partitionFilterSql, stagedKeysStoredDaysSql, stagedMergeSql } from '../../../../src/warehouse/bigquery/staged-merge-sql.js';
import { CALL_EVENTS, REQUESTS } from '../../../../src/warehouse/index.js';

const day = (iso: string) => Math.floor(Date.parse(iso) / 86_400_000);

describe('partitionFilterSql', () => {
  it('bounds the target to the days of the staged rows, adjacent days as one range', () => {
    const days = [day('2026-11-27'), day('2026-11-28'), day('2026-12-05')];
    expect(partitionFilterSql(days)).toBe(
      "((T.event_time >= TIMESTAMP '2026-11-27 00:00:00+00' AND T.event_time < TIMESTAMP '2026-11-29 00:00:00+00')" +
        " OR (T.event_time >= TIMESTAMP '2026-12-05 00:00:00+00' AND T.event_time < TIMESTAMP '2026-12-06 00:00:00+00'))",
    );
  });

  it('falls back to one range from the first day to the last when the days are too scattered', () => {
    const scattered = Array.from({ length: 100 }, (_, i) => day('2026-01-01') + i * 2);
    expect(partitionFilterSql(scattered)).toBe(
      "(T.event_time >= TIMESTAMP '2026-01-01 00:00:00+00' AND T.event_time < TIMESTAMP '2026-07-19 00:00:00+00')",
    );
  });

  it('puts days before 1970 on their own UTC day', () => {
    expect([...daysOf([Date.parse('1969-12-31T23:00:00Z'), Date.parse('1970-01-01T01:00:00Z')])]).toEqual([-1, 0]);
  });
});

describe('stagedKeysStoredDaysSql', () => {
  it('finds the days the staged keys are stored on, reading only the key columns and event_time of the target', () => {
    expect(stagedKeysStoredDaysSql('`p.d.call_events`', '`p.d.call_events__staged`', CALL_EVENTS)).toBe(
      'SELECT DISTINCT CAST(FLOOR(UNIX_MILLIS(T.event_time) / 86400000) AS INT64) AS day FROM `p.d.call_events` T' +
        ' JOIN (SELECT DISTINCT `call_id`, `event_type` FROM `p.d.call_events__staged` WHERE stage_id IN UNNEST(@stage_ids)) S' +
        ' ON T.`call_id` = S.`call_id` AND T.`event_type` = S.`event_type`',
    );
  });
});

describe('stagedMergeSql', () => {
  it('merges only the listed appends, newest per key by the version rule, under the version guard', () => {
    const sql = stagedMergeSql('`p.d.call_events`', '`p.d.call_events__staged`', CALL_EVENTS, 'T.event_time >= X');
    expect(sql).toContain('ROW_NUMBER() OVER (PARTITION BY `call_id`, `event_type` ORDER BY received_at DESC, request_id DESC)');
    expect(sql).toContain('WHERE stage_id IN UNNEST(@stage_ids)');
    expect(sql).toContain('WHERE r.stage_rank = 1');
    expect(sql).toContain('PARSE_JSON(r.`payload`) AS `payload`');
    expect(sql).toContain('ON T.`call_id` = S.`call_id` AND T.`event_type` = S.`event_type`\n  AND T.event_time >= X');
    expect(sql).toContain('WHEN MATCHED AND (S.received_at > T.received_at OR (S.received_at = T.received_at AND S.request_id > T.request_id)) THEN UPDATE');
  });

  it('orders the requests table by its own version order, then the higher status', () => {
    const sql = stagedMergeSql('`p.d.requests`', '`p.d.requests__staged`', REQUESTS, 'T.event_time >= X');
    expect(sql).toContain('ROW_NUMBER() OVER (PARTITION BY `request_id` ORDER BY received_at DESC, request_id DESC, status DESC)');
    expect(sql).toContain(
      'WHEN MATCHED AND (S.received_at > T.received_at OR (S.received_at = T.received_at AND (S.request_id > T.request_id OR (S.request_id = T.request_id AND S.status > T.status))))',
    );
  });
});
