export { FAMILIES, MAX_JSON_DEPTH, commonFields, integerId, jsonArray, jsonObject, shortText, stringId, type Family } from './callaro-event.js';
export type { FieldProblem } from './field-problem.js';
export { isStorableTime, MAX_STORABLE_TIME_MS, MIN_STORABLE_TIME_MS } from './storable-time.js';
