export { FAMILIES, familyOf, type Family, type CallEvent, type CampaignEvent, type ComplianceEvent } from './callaro-event.js';
export { validateCallaroEvent, type ValidEvent, type ValidationResult, type FieldProblem } from './validate.js';
