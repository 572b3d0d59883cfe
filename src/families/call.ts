import { callEventSchema } from '../events/index.js';
import { defineFamily } from './family.js';

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
