import { z } from 'zod';
import { commonFields, integerId, jsonArray, jsonObject, shortText, stringId } from '../events/index.js';
import { defineFamily } from './family.js';

/** A call.* event: what callstream relies on (docs/data.md); other fields pass through into payload. */
const callEventSchema = z.looseObject({
  ...commonFields,
  event: z.string().regex(/^call\.[a-z0-9_.]+$/, 'expected "call.<name>"'),
  call_id: stringId,
  voice_session_id: integerId.nullish(),
  call_sid: shortText.nullish(),
  agent_id: integerId.nullish(),
  direction: shortText.nullish(),
  from_e164: shortText.nullish(),
  to_e164: shortText.nullish(),
  extracted_data: jsonObject.nullish(),
  runtime_vars: jsonObject.nullish(),
  tool_calls: jsonArray.nullish(),
});

/** call.*: one call's lifecycle, keyed by call_id. */
export const CALL_FAMILY = defineFamily({
  family: 'call',
  prefixes: ['call.'],
  schema: callEventSchema,
  key: (e) => e.call_id,
  table: 'call_events',
  erasure: [
    { list: 'callIds', column: 'call_id', owner: 'tenant_id' },
    { list: 'phones', column: 'from_e164' },
    { list: 'phones', column: 'to_e164' },
    { list: 'callSids', column: 'call_sid', owner: 'tenant_id' },
    { list: 'tenants', column: 'tenant_id' },
  ],
  trace: { sid: 'call_sid', by: (ids) => [['call_id', ids.calls], ['call_sid', ids.sids]] },
  phoneColumns: { from_e164: 'from_last4', to_e164: 'to_last4' },
});
