export { SinkConnector, type SinkDeps } from './sink-connector.js';
export { FlushCoordinator, type FlushOptions, type RejectedRow } from './flush-coordinator.js';
export { toRow, type CallaroEventRecord, type RecordPosition } from './rows.js';
export { backoffDelay } from './backoff.js';
