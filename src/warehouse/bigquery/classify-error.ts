import { CallstreamError } from '../../errors.js';

/** BigQuery error reasons worth a retry (https://cloud.google.com/bigquery/docs/error-messages). */
const TRANSIENT_REASONS = new Set(['rateLimitExceeded', 'jobRateLimitExceeded', 'backendError', 'internalError', 'jobBackendError', 'jobInternalError', 'quotaExceeded']);
const TRANSIENT_MESSAGES = [/could not serialize access/i, /concurrent update/i, /too many dml statements/i, /socket hang up/i, /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN/];

interface ApiErrorLike {
  code?: number | string;
  message?: string;
  errors?: Array<{ reason?: string; message?: string }>;
  response?: { status?: number };
}

/** Reasons that point at the data of the request (the sink then looks for the rows at fault). */
const INVALID_REASONS = new Set(['invalid', 'invalidQuery']);
/**
 * 400s that are the table's or the project's, whatever the rows: a limit on bytes billed, a
 * required partition filter, a column or table that is gone. Retried (an operator fixes them),
 * never bisected into dead letters.
 */
const TABLE_REASONS = new Set(['bytesBilledLimitExceeded', 'billingTierLimitExceeded', 'notFound', 'accessDenied', 'responseTooLarge']);
const TABLE_MESSAGES = [/filter over column/i, /partition elimination/i, /bytes billed/i, /Unrecognized name/i, /not found/i, /does not have a schema/i];
/**
 * The MERGE needed more than its slots' memory ("Resources exceeded during query execution"):
 * SINK_WAREHOUSE_EXHAUSTED of memory, so the sink writes the batch in smaller pieces.
 */
const EXHAUSTED_REASON = 'resourcesExceeded';
const EXHAUSTED_MESSAGE = /resources exceeded/i;

/**
 * Maps a client error to callstream's codes, by the error's reason and message, never by
 * how many rows failed. Invalid requests (HTTP 400, reason invalid or invalidQuery) about
 * the data become SINK_ROW_REJECTED, which the sink narrows down to the rows at fault;
 * 400s about the table (TABLE_REASONS, TABLE_MESSAGES) wait like an outage; resourcesExceeded is
 * SINK_WAREHOUSE_EXHAUSTED (memory), written again in smaller pieces. Everything else is SINK_WAREHOUSE_UNAVAILABLE and retried: rate limits, 5xx,
 * backend errors, serialization conflicts between concurrent DML, an endpoint that is
 * down, and also 401/403/404 (credentials, permissions, a dropped dataset), which need
 * an operator, not a dead-letter topic.
 */
export function classifyBigQueryError(err: unknown, what: string): CallstreamError {
  if (err instanceof CallstreamError) return err;
  const e = (err ?? {}) as ApiErrorLike;
  const status = typeof e.code === 'number' ? e.code : e.response?.status;
  const reasons = (e.errors ?? []).map((x) => x.reason ?? '');
  const text = [e.message ?? String(err), ...(e.errors ?? []).map((x) => x.message ?? '')].join(' | ');
  if (reasons.includes(EXHAUSTED_REASON) || EXHAUSTED_MESSAGE.test(text)) {
    return new CallstreamError('SINK_WAREHOUSE_EXHAUSTED', `${what}: ${text.slice(0, 1000)}`, { cause: err, details: { resource: 'memory' } });
  }
  const transient =
    status === 429 ||
    (typeof status === 'number' && status >= 500) ||
    reasons.some((r) => TRANSIENT_REASONS.has(r)) ||
    TRANSIENT_MESSAGES.some((re) => re.test(text)) ||
    (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code));
  const tableFault = reasons.some((r) => TABLE_REASONS.has(r)) || TABLE_MESSAGES.some((re) => re.test(text));
  const invalid = !transient && !tableFault && (status === 400 || reasons.some((r) => INVALID_REASONS.has(r)));
  return new CallstreamError(invalid ? 'SINK_ROW_REJECTED' : 'SINK_WAREHOUSE_UNAVAILABLE', `${what}: ${text.slice(0, 1000)}`, { cause: err });
}
