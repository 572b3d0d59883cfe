import { z } from 'zod';
import { commonFields, stringId } from '../events/index.js';
import { defineFamily } from './family.js';

/** A campaign.* event. */
const campaignEventSchema = z.looseObject({
  ...commonFields,
  event: z.string().regex(/^campaign\.[a-z0-9_.]+$/, 'expected "campaign.<name>"'),
  campaign_id: stringId,
});

/** campaign.*: a campaign's lifecycle, keyed by campaign_id; its rows hold no phone or call, only its tenant. */
export const CAMPAIGN_FAMILY = defineFamily({
  family: 'campaign',
  prefixes: ['campaign.'],
  schema: campaignEventSchema,
  key: (e) => e.campaign_id,
  table: 'campaign_events',
  erasure: [{ list: 'tenants', column: 'tenant_id' }],
  trace: null, // keyed by campaign, no call in its rows
  phoneColumns: {},
});
