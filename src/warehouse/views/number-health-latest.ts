import { COMPLIANCE_EVENTS } from '../tables.js';
import { column, newestFirst, type ViewSpec } from './view-spec.js';

const PREFIX = 'number_health.';

/** The latest health of each phone number. */
export const NUMBER_HEALTH_LATEST: ViewSpec = {
  name: 'number_health_latest',
  description: 'One row per phone number with number_health.* events: the latest one (by event_time, then receipt) as its health.',
  reads: ['compliance_events'],
  key: ['number_e164'],
  notNull: ['number_e164', 'health', 'health_event_type', 'health_at', 'first_event_at', 'event_count'],
  columns: () => [
    column('number_e164', 'STRING', 'The phone number.'),
    column('tenant_id', 'INT64', 'Callaro tenant.'),
    column('health', 'STRING', 'The latest event\'s name without "number_health.", e.g. flagged, cleared.'),
    column('health_event_type', 'STRING', 'The latest event\'s name, e.g. number_health.flagged.'),
    column('health_at', 'TIMESTAMP', 'When the latest event happened.'),
    column('reason', 'STRING', 'The latest event\'s reason field (payload.reason), if any, e.g. spam_likely.'),
    column('first_event_at', 'TIMESTAMP', 'The number\'s earliest number_health event.'),
    column('event_count', 'INT64', 'Distinct number_health event types stored for the number.'),
  ],
  sql: ({ d, ref }) => `WITH ranked AS (
  SELECT number_e164, tenant_id, event_type, event_time, payload,
    ROW_NUMBER() OVER (PARTITION BY number_e164 ORDER BY ${newestFirst(COMPLIANCE_EVENTS)}) AS newest,
    MIN(event_time) OVER (PARTITION BY number_e164) AS first_event_at,
    COUNT(*) OVER (PARTITION BY number_e164) AS event_count
  FROM ${ref('compliance_events')}
  WHERE event_type LIKE '${PREFIX}%' AND number_e164 IS NOT NULL
)
SELECT number_e164, tenant_id, SUBSTR(event_type, ${PREFIX.length + 1}) AS health, event_type AS health_event_type, event_time AS health_at,
  ${d.jsonText('payload', 'reason')} AS reason, first_event_at, event_count
FROM ranked
WHERE newest = 1`,
};
