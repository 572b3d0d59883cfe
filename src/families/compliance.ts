import { z } from 'zod';
import { commonFields, shortText, stringId } from '../events/index.js';
import { defineFamily } from './family.js';

/** A compliance.* or number_health.* event: about a number, or (call-level) a call. */
const complianceEventSchema = z
  .looseObject({
    ...commonFields,
    event: z.string().regex(/^(compliance|number_health)\.[a-z0-9_.]+$/, 'expected "compliance.<name>" or "number_health.<name>"'),
    number_e164: shortText.nullish(),
    call_id: stringId.nullish(),
  })
  .refine((e) => Boolean(e.number_e164 || e.call_id), {
    message: 'expected number_e164 (or call_id for a call-level compliance event)',
    path: ['number_e164'],
  });

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
