export { FAMILIES, familyOf, type Family, type CallEvent, type CampaignEvent, type ComplianceEvent } from './callaro-event.js';
export { validateCallaroEvent, type ValidEvent, type ValidationResult, type FieldProblem } from './validate.js';
export { isStorableTime, MAX_STORABLE_TIME_MS, MIN_STORABLE_TIME_MS } from './storable-time.js';
