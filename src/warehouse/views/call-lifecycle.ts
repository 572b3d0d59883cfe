import { TELEPHONY_CALLBACKS } from '../tables.js';
import { secondsBetween } from './dialect.js';
import { column, newestFirst, type ViewSpec } from './view-spec.js';

/** Statuses after which a provider sends nothing more about a call (Twilio's names). */
export const TERMINAL_STATUSES = ['completed', 'busy', 'failed', 'no-answer', 'canceled'] as const;
/** Statuses that mean the callee picked up. */
const ANSWERED_STATUSES = ['in-progress', 'answered'];

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * Per call_sid, when the provider reported each status, and the durations between. The
 * final status is the latest terminal one (a billing callback after `completed` does not
 * replace it), else the latest of any.
 */
export const CALL_LIFECYCLE: ViewSpec = {
  name: 'call_lifecycle',
  description: 'One row per call_sid seen in telephony_callbacks: when each provider status arrived, the final status, and the ring and talk time between them.',
  reads: ['telephony_callbacks'],
  key: ['call_sid'],
  notNull: ['call_sid', 'callbacks', 'first_callback_at', 'final_status', 'final_status_at'],
  columns: () => [
    column('call_sid', 'STRING', 'Telephony call id; joins to calls.call_sid.'),
    column('vendor_slug', 'STRING', 'The vendor that sent the final status.'),
    column('vendor_count', 'INT64', 'How many vendors sent callbacks for the call (a billing vendor beside the carrier, say).'),
    column('callbacks', 'INT64', 'Callbacks stored for the call (one per vendor and status).'),
    column('first_callback_at', 'TIMESTAMP', 'Earliest callback.'),
    column('initiated_at', 'TIMESTAMP', 'Status initiated (the call was placed).'),
    column('ringing_at', 'TIMESTAMP', 'Status ringing.'),
    column('answered_at', 'TIMESTAMP', 'Status in-progress (or answered): the callee picked up.'),
    column('ended_at', 'TIMESTAMP', `First terminal status (${TERMINAL_STATUSES.join(', ')}).`),
    column('final_status', 'STRING', 'The latest terminal status, else the latest status.'),
    column('final_status_at', 'TIMESTAMP', 'When the final status happened.'),
    column('ring_seconds', 'FLOAT64', 'From ringing to answered, or to the end when never answered.'),
    column('talk_seconds', 'FLOAT64', 'From answered to the end; NULL when never answered.'),
    column('duration_seconds', 'INT64', 'The provider\'s own duration of the call: the CallDuration field of its completed callback (Twilio), if any.'),
  ],
  sql: ({ d, ref }) => {
    const at = (statuses: readonly string[]) => `MIN(CASE WHEN callback_status IN (${list(statuses)}) THEN event_time END)`;
    return `WITH ranked AS (
  SELECT t.*,
    ROW_NUMBER() OVER (PARTITION BY call_sid ORDER BY CASE WHEN callback_status IN (${list(TERMINAL_STATUSES)}) THEN 0 ELSE 1 END, ${newestFirst(TELEPHONY_CALLBACKS)}) AS final_rank
  FROM ${ref('telephony_callbacks')} t
  WHERE call_sid IS NOT NULL
),
per_call AS (
  SELECT call_sid,
    MAX(CASE WHEN final_rank = 1 THEN vendor_slug END) AS vendor_slug,
    COUNT(DISTINCT vendor_slug) AS vendor_count,
    COUNT(*) AS callbacks,
    MIN(event_time) AS first_callback_at,
    ${at(['initiated'])} AS initiated_at,
    ${at(['ringing'])} AS ringing_at,
    ${at(ANSWERED_STATUSES)} AS answered_at,
    ${at(TERMINAL_STATUSES)} AS ended_at,
    MAX(CASE WHEN final_rank = 1 THEN callback_status END) AS final_status,
    MAX(CASE WHEN final_rank = 1 THEN event_time END) AS final_status_at,
    MAX(CASE WHEN callback_status = 'completed' THEN ${d.safeCast(d.jsonText('fields', 'CallDuration'), 'INT64')} END) AS duration_seconds
  FROM ranked
  GROUP BY call_sid
)
SELECT call_sid, vendor_slug, vendor_count, callbacks, first_callback_at, initiated_at, ringing_at, answered_at, ended_at, final_status, final_status_at,
  ${secondsBetween(d, 'ringing_at', 'COALESCE(answered_at, ended_at)')} AS ring_seconds,
  ${secondsBetween(d, 'answered_at', 'ended_at')} AS talk_seconds,
  duration_seconds
FROM per_call`;
  },
};
