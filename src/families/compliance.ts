import { complianceEventSchema } from '../events/index.js';
import { defineFamily } from './family.js';

/** compliance.* and number_health.*: about a number (or, call-level, a call), keyed by number_e164, else call_id. */
export const COMPLIANCE_FAMILY = defineFamily({
  family: 'compliance',
  prefixes: ['compliance.', 'number_health.'],
  schema: complianceEventSchema,
  // An empty number_e164 counts as absent, as in the schema's subject check.
  key: (e) => (e.number_e164 || e.call_id) as string,
  table: 'compliance_events',
  erasure: [
    { list: 'phones', column: 'subject_id' },
    { list: 'callIds', column: 'subject_id', owner: 'tenant_id' },
    { list: 'phones', column: 'number_e164' },
    { list: 'callIds', column: 'call_id', owner: 'tenant_id' },
    { list: 'tenants', column: 'tenant_id' },
  ],
  trace: { sid: null, by: (ids) => [['call_id', ids.calls]] },
  phoneColumns: { number_e164: 'number_last4' },
});
