export { traceCall, SUBJECT, type CallTrace, type TraceSource, type TraceOptions, type TracedRequest, type TracedDeadLetter, type TracedRow } from './lookup.js';
export { formatTrace, timeline, type TimelineEntry, type TraceTopics } from './format.js';
export { bigQuerySource, duckDbSource, openBigQuerySource, openDuckDbSource, type OpenSource } from './sources.js';
export { fetchBodies, formatBodies, type FetchedRecord } from './bodies.js';
