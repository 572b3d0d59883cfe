import { column, type ViewSpec } from './view-spec.js';

/** Calls per UTC day, tenant, agent, direction and outcome. */
export const CALL_OUTCOMES_DAILY: ViewSpec = {
  name: 'call_outcomes_daily',
  description: 'Completed calls counted per UTC day (of event_time), tenant, agent, direction and outcome.',
  reads: ['calls'],
  key: ['day', 'tenant_id', 'agent_id', 'direction', 'outcome'],
  notNull: ['day', 'calls'],
  columns: () => [
    column('day', 'DATE', 'UTC day of the calls\' event_time; filter on it (BigQuery prunes call_events\' partitions by it).'),
    column('tenant_id', 'INT64', 'Callaro tenant.'),
    column('agent_id', 'INT64', 'Voice agent.'),
    column('direction', 'STRING', 'inbound or outbound.'),
    column('outcome', 'STRING', 'calls.outcome: the extracted_data field CALLSTREAM_VIEWS_OUTCOME_FIELD names; NULL when the call has none.'),
    column('calls', 'INT64', 'Completed calls.'),
  ],
  sql: ({ d, ref }) => `SELECT ${d.utcDate('event_time')} AS day, tenant_id, agent_id, direction, outcome, COUNT(*) AS calls
FROM ${ref('calls')}
GROUP BY 1, 2, 3, 4, 5`,
};
