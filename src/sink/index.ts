export { SinkConnector, type SinkDeps } from './sink-connector.js';
export { FlushCoordinator, type FlushOptions, type RejectedRow } from './flush-coordinator.js';
export { sinkStreams, type SinkStream } from './streams.js';
export { callaroRow, type CallaroEventRecord } from './callaro-rows.js';
export { telephonyRow } from './telephony-rows.js';
export { type RecordPosition } from './rows.js';
export { backoffDelay } from './backoff.js';
export { PiiPolicy, lastFour, CALLBACK_NUMBER_FIELDS } from './pii.js';
export { announcedIdentity } from './group-binding.js';
