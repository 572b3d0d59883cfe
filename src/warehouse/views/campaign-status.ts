import { CAMPAIGN_EVENTS } from '../tables.js';
import { column, newestFirst, type ViewSpec } from './view-spec.js';

/** The latest state of each campaign. */
export const CAMPAIGN_STATUS: ViewSpec = {
  name: 'campaign_status',
  description: 'One row per campaign: its latest campaign.* event (by event_time, then receipt) as its status.',
  reads: ['campaign_events'],
  key: ['campaign_id'],
  notNull: ['campaign_id', 'status', 'status_event_type', 'status_at', 'first_event_at', 'event_count'],
  columns: () => [
    column('campaign_id', 'STRING', 'Campaign id.'),
    column('tenant_id', 'INT64', 'Callaro tenant.'),
    column('status', 'STRING', 'The latest event\'s name without "campaign.", e.g. started, paused, completed.'),
    column('status_event_type', 'STRING', 'The latest event\'s name, e.g. campaign.completed.'),
    column('status_at', 'TIMESTAMP', 'When the latest event happened.'),
    column('name', 'STRING', 'The campaign\'s name as the latest event gives it (payload.name), if any.'),
    column('first_event_at', 'TIMESTAMP', 'The campaign\'s earliest event.'),
    column('event_count', 'INT64', 'Distinct event types stored for the campaign.'),
  ],
  sql: ({ d, ref }) => `WITH ranked AS (
  SELECT campaign_id, tenant_id, event_type, event_time, payload,
    ROW_NUMBER() OVER (PARTITION BY campaign_id ORDER BY ${newestFirst(CAMPAIGN_EVENTS)}) AS newest,
    MIN(event_time) OVER (PARTITION BY campaign_id) AS first_event_at,
    COUNT(*) OVER (PARTITION BY campaign_id) AS event_count
  FROM ${ref('campaign_events')}
)
SELECT campaign_id, tenant_id, SUBSTR(event_type, ${'campaign.'.length + 1}) AS status, event_type AS status_event_type, event_time AS status_at,
  ${d.jsonText('payload', 'name')} AS name, first_event_at, event_count
FROM ranked
WHERE newest = 1`,
};
