export { collectStatus, type CollectOptions } from './collect.js';
export { formatStatus } from './format.js';
export { parseMetrics, type Sample } from './prometheus.js';
export { judge, type StatusFacts, type StatusReport, type StatusThresholds } from './report.js';
