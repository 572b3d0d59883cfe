export { FAMILIES, callEventSchema, campaignEventSchema, complianceEventSchema, type Family, type CallEvent, type CampaignEvent, type ComplianceEvent } from './callaro-event.js';
export type { FieldProblem } from './field-problem.js';
export { isStorableTime, MAX_STORABLE_TIME_MS, MIN_STORABLE_TIME_MS } from './storable-time.js';
