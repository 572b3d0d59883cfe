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
 * Maps a client error to callstream's codes. Invalid requests (HTTP 400, reason invalid
 * or invalidQuery) become SINK_ROW_REJECTED, which the sink narrows down to the rows at
 * fault. Everything else is SINK_WAREHOUSE_UNAVAILABLE and retried: rate limits, 5xx,
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
  const transient =
    status === 429 ||
    (typeof status === 'number' && status >= 500) ||
    reasons.some((r) => TRANSIENT_REASONS.has(r)) ||
    TRANSIENT_MESSAGES.some((re) => re.test(text)) ||
    (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code));
  const invalid = !transient && (status === 400 || reasons.some((r) => INVALID_REASONS.has(r)));
  return new CallstreamError(invalid ? 'SINK_ROW_REJECTED' : 'SINK_WAREHOUSE_UNAVAILABLE', `${what}: ${text.slice(0, 1000)}`, { cause: err });
}
