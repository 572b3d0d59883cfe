export { Receiver, type Readiness, type ReceiverOptions } from './server.js';
export { AccessPolicy } from './auth/index.js';
export { CALLARO_PATH, readCallaroEvent } from './callaro-route.js';
export { toEventRecord } from './event-record.js';
export { TELEPHONY_PREFIX, parseTelephonyPath } from './telephony-route.js';
export { type RouteContext } from './route-context.js';
export { auditHeaders, type RawRequestRecord } from './audit.js';
export { parseJsonObject, isJsonContentType } from './parse-json.js';
export { parseFormFields, isFormContentType } from './parse-form.js';
