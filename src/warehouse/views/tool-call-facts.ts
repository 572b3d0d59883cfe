import { column, type ViewSpec } from './view-spec.js';

/** One row per tool call of a completed call. */
export const TOOL_CALL_FACTS: ViewSpec = {
  name: 'tool_call_facts',
  description: 'One row per tool call the agent made in a completed call, in order, with its name and arguments.',
  reads: ['call_events'],
  key: ['call_id', 'position'],
  notNull: ['call_id', 'position', 'event_time'],
  columns: () => [
    column('call_id', 'STRING', 'The call; joins to calls.call_id.'),
    column('position', 'INT64', 'Index of the tool call in the call\'s tool_calls, from 0.'),
    column('name', 'STRING', 'The tool\'s name (tool_calls[].name).'),
    column('arguments', 'JSON', 'Its arguments as sent (tool_calls[].arguments); NULL when it had none.'),
    column('tenant_id', 'INT64', 'Callaro tenant.'),
    column('agent_id', 'INT64', 'Voice agent.'),
    column('event_time', 'TIMESTAMP', 'The call\'s event_time: the partitioning column; filter on it.'),
  ],
  sql: ({ d, ref }) => `SELECT c.call_id, tool_pos AS position, ${d.jsonText('tool_call', 'name')} AS name, ${d.elementJson('tool_call', 'arguments')} AS arguments,
  c.tenant_id, c.agent_id, c.event_time
FROM ${ref('call_events')} c
${d.unnestJsonArray('c.tool_calls', 'tool_call', 'tool_pos')}
WHERE c.event_type = 'call.completed'`,
};
