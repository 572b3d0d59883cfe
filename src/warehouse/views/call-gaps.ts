import { CALL_EVENTS, TELEPHONY_CALLBACKS } from '../tables.js';
import { TERMINAL_STATUSES } from './call-lifecycle.js';
import { secondsBetween } from './dialect.js';
import { column, newestFirst, type ViewSpec } from './view-spec.js';

/** Statuses that mean the callee picked up. */
const ANSWERED_STATUSES = ['in-progress', 'answered'];

/** The kinds of gap, in the order the view lists them. */
export const GAP_KINDS = ['unreported', 'no_provider', 'stuck'] as const;
export type GapKind = (typeof GAP_KINDS)[number];

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * The calls whose two sides disagree: what the carrier reported (telephony_callbacks) and what
 * Callaro reported (call_events' call.completed), joined on call_sid. Only the last
 * CALLSTREAM_GAPS_WINDOW_DAYS of event time are read (BigQuery prunes the other partitions),
 * so the cost does not grow with history. Erased calls are deleted from both tables and never
 * listed.
 */
export const CALL_GAPS: ViewSpec = {
  name: 'call_gaps',
  description:
    'One row per suspect call in the last CALLSTREAM_GAPS_WINDOW_DAYS days: unreported (the provider says it ended, no call.completed came), no_provider (a call.completed, no callback from any vendor; only with CALLSTREAM_TELEPHONY_VENDORS set), stuck (the last provider status is not terminal after CALLSTREAM_GAPS_STUCK_HOURS).',
  reads: ['telephony_callbacks', 'call_events'],
  key: ['kind', 'call_sid'],
  notNull: ['kind', 'call_sid', 'evidence_at', 'age_minutes'],
  columns: () => [
    column('kind', 'STRING', `${GAP_KINDS.join(', ')}.`),
    column('call_sid', 'STRING', 'Telephony call id: `callstream trace <call_sid>` tells its story.'),
    column('call_id', 'STRING', 'Callaro call id, where a call.completed names it (no_provider).'),
    column('tenant_id', 'INT64', 'Callaro tenant, where known (no_provider).'),
    column('vendor_slug', 'STRING', 'The vendor of the last provider status.'),
    column('last_status', 'STRING', 'The provider\'s last status: the latest terminal one, else the latest.'),
    column('last_status_at', 'TIMESTAMP', 'When it happened.'),
    column('talk_seconds', 'FLOAT64', 'Talk time: the provider\'s CallDuration where it gives one, else from answered to ended; NULL when never answered.'),
    column('reported_at', 'TIMESTAMP', 'When the call.completed says the call completed (no_provider).'),
    column('evidence_at', 'TIMESTAMP', 'What the gap is counted from: the end of the call (unreported), its last status (stuck), the report (no_provider).'),
    column('age_minutes', 'INT64', 'Whole minutes since evidence_at, when the query ran.'),
  ],
  sql: ({ d, ref, settings }) => {
    const { unreportedMinutes, stuckMinutes, windowDays, providerExpected } = settings.gaps;
    const now = d.now();
    const since = d.minutesBefore(now, windowDays * 24 * 60);
    // Both sides are read a day further back than the window lists: a report may come after the
    // provider's last callback and a callback before the report, so a call at the window's edge is
    // judged with both its sides, not listed for want of the one just outside.
    const readSince = d.minutesBefore(now, (windowDays + 1) * 24 * 60);
    const lateBefore = d.minutesBefore(now, unreportedMinutes);
    const ageMinutes = (at: string) => d.safeCast(`FLOOR(${secondsBetween(d, at, now)} / 60)`, 'INT64');
    const at = (statuses: readonly string[]) => `MIN(CASE WHEN callback_status IN (${list(statuses)}) THEN event_time END)`;
    const noProvider = providerExpected
      ? `
UNION ALL
SELECT 'no_provider' AS kind, r.call_sid, r.call_id, r.tenant_id, ${d.cast('NULL', 'STRING')} AS vendor_slug, ${d.cast('NULL', 'STRING')} AS last_status, ${d.cast('NULL', 'TIMESTAMP')} AS last_status_at,
  ${d.cast('NULL', 'FLOAT64')} AS talk_seconds, r.event_time AS reported_at, r.event_time AS evidence_at, ${ageMinutes('r.event_time')} AS age_minutes
FROM reports r
LEFT JOIN per_call p ON p.call_sid = r.call_sid
WHERE r.newest = 1 AND p.call_sid IS NULL AND r.event_time >= ${since} AND r.event_time < ${lateBefore}`
      : '';
    return `WITH ranked AS (
  SELECT call_sid, vendor_slug, callback_status, event_time, fields,
    ROW_NUMBER() OVER (PARTITION BY call_sid ORDER BY CASE WHEN callback_status IN (${list(TERMINAL_STATUSES)}) THEN 0 ELSE 1 END, ${newestFirst(TELEPHONY_CALLBACKS)}) AS final_rank
  FROM ${ref('telephony_callbacks')}
  WHERE call_sid IS NOT NULL AND event_time >= ${readSince}
),
per_call AS (
  SELECT call_sid,
    MAX(CASE WHEN final_rank = 1 THEN vendor_slug END) AS vendor_slug,
    MAX(CASE WHEN final_rank = 1 THEN callback_status END) AS last_status,
    MAX(CASE WHEN final_rank = 1 THEN event_time END) AS last_status_at,
    ${at(ANSWERED_STATUSES)} AS answered_at,
    ${at(TERMINAL_STATUSES)} AS ended_at,
    MAX(CASE WHEN callback_status = 'completed' THEN ${d.safeCast(d.jsonText('fields', 'CallDuration'), 'FLOAT64')} END) AS duration_seconds
  FROM ranked
  GROUP BY call_sid
),
reports AS (
  SELECT call_sid, call_id, tenant_id, event_time,
    ROW_NUMBER() OVER (PARTITION BY call_sid ORDER BY ${newestFirst(CALL_EVENTS)}) AS newest
  FROM ${ref('call_events')}
  WHERE event_type = 'call.completed' AND call_sid IS NOT NULL AND event_time >= ${readSince}
)
SELECT 'unreported' AS kind, p.call_sid, ${d.cast('NULL', 'STRING')} AS call_id, ${d.cast('NULL', 'INT64')} AS tenant_id, p.vendor_slug, p.last_status, p.last_status_at,
  COALESCE(p.duration_seconds, ${secondsBetween(d, 'p.answered_at', 'p.ended_at')}) AS talk_seconds, ${d.cast('NULL', 'TIMESTAMP')} AS reported_at, p.ended_at AS evidence_at, ${ageMinutes('p.ended_at')} AS age_minutes
FROM per_call p
LEFT JOIN reports r ON r.call_sid = p.call_sid
WHERE r.call_sid IS NULL AND p.last_status IN (${list(TERMINAL_STATUSES)}) AND p.ended_at >= ${since} AND p.ended_at < ${lateBefore}${noProvider}
UNION ALL
SELECT 'stuck' AS kind, p.call_sid, ${d.cast('NULL', 'STRING')} AS call_id, ${d.cast('NULL', 'INT64')} AS tenant_id, p.vendor_slug, p.last_status, p.last_status_at,
  ${d.cast('NULL', 'FLOAT64')} AS talk_seconds, ${d.cast('NULL', 'TIMESTAMP')} AS reported_at, p.last_status_at AS evidence_at, ${ageMinutes('p.last_status_at')} AS age_minutes
FROM per_call p
WHERE p.last_status NOT IN (${list(TERMINAL_STATUSES)}) AND p.last_status_at >= ${since} AND p.last_status_at < ${d.minutesBefore(now, stuckMinutes)}`;
  },
};
