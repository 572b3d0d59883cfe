import { checkViewSettings, type ViewSettings } from '../../config/view-settings.js';
import { column, type ViewColumn, type ViewSpec } from './view-spec.js';

/** The columns `calls` has whatever the settings; the flattened fields follow them. */
const CANONICAL: ViewColumn[] = [
  column('call_id', 'STRING', 'Callaro call id: one row per call.'),
  column('tenant_id', 'INT64', 'Callaro tenant.'),
  column('agent_id', 'INT64', 'Voice agent.'),
  column('direction', 'STRING', 'inbound or outbound.'),
  column('from_e164', 'STRING', 'Caller number.'),
  column('to_e164', 'STRING', 'Called number.'),
  column('call_sid', 'STRING', 'Telephony provider call id; joins to call_lifecycle and telephony_callbacks.'),
  column('voice_session_id', 'INT64', 'Callaro voice session.'),
  column('campaign_id', 'STRING', 'The campaign the call belongs to: the event\'s campaign_id field, else runtime_vars.campaign_id (Callaro\'s payload has no documented one).'),
  column('event_time', 'TIMESTAMP', 'When the call completed (occurred_at, else receipt): the partitioning column of call_events; filter on it.'),
  column('outcome', 'STRING', 'The extracted_data field CALLSTREAM_VIEWS_OUTCOME_FIELD names (default: outcome), as text.'),
  column('tool_call_count', 'INT64', 'Tool calls the agent made (0 when none).'),
  column('extracted_data', 'JSON', 'Everything the agent extracted.'),
  column('provider_status', 'STRING', 'The provider\'s final status (call_lifecycle.final_status); NULL when no callback arrived.'),
  column('ring_seconds', 'FLOAT64', 'Ring time from the provider\'s callbacks (call_lifecycle).'),
  column('talk_seconds', 'FLOAT64', 'Talk time from the provider\'s callbacks (call_lifecycle).'),
];

/** Column names a flattened field may not take. */
export const CALLS_CANONICAL_COLUMNS: readonly string[] = CANONICAL.map((c) => c.name);

/** The flattened fields' columns, from the settings (CALLSTREAM_VIEWS_CALLS_FIELDS). */
function fieldColumns(settings: ViewSettings): ViewColumn[] {
  return checkViewSettings(settings, CALLS_CANONICAL_COLUMNS).callsFields.map((f) => column(f.name, f.type, `extracted_data.${f.name} as ${f.type} (CALLSTREAM_VIEWS_CALLS_FIELDS); NULL when missing or not convertible.`));
}

/**
 * One row per call, from its call.completed event, with the provider's view of it where
 * callbacks exist. Other call.* events of the call (call.analyzed, ...) do not add rows.
 */
export const CALLS: ViewSpec = {
  name: 'calls',
  description: 'One row per call (its call.completed event): canonical columns, the outcome, the tool call count, the configured extracted_data fields as typed columns, and the provider\'s final status, ring time and talk time where callbacks exist.',
  reads: ['call_events', 'call_lifecycle'],
  key: ['call_id'],
  notNull: ['call_id', 'event_time', 'tool_call_count'],
  columns: (settings) => [...CANONICAL, ...fieldColumns(settings)],
  sql: ({ d, settings, ref }) => {
    const { callsFields } = checkViewSettings(settings, CALLS_CANONICAL_COLUMNS);
    const fields = callsFields.map((f) => `,\n  ${d.safeCast(d.jsonText('c.extracted_data', f.name), f.type)} AS ${d.quote(f.name)}`);
    return `SELECT c.call_id, c.tenant_id, c.agent_id, c.direction, c.from_e164, c.to_e164, c.call_sid, c.voice_session_id,
  COALESCE(${d.jsonText('c.payload', 'campaign_id')}, ${d.jsonText('c.runtime_vars', 'campaign_id')}) AS campaign_id,
  c.event_time,
  ${d.jsonText('c.extracted_data', settings.outcomeField)} AS outcome,
  COALESCE(${d.jsonArrayLength('c.tool_calls')}, 0) AS tool_call_count,
  c.extracted_data,
  l.final_status AS provider_status,
  l.ring_seconds,
  l.talk_seconds${fields.join('')}
FROM ${ref('call_events')} c
LEFT JOIN ${ref('call_lifecycle')} l ON l.call_sid = c.call_sid
WHERE c.event_type = 'call.completed'`;
  },
};
