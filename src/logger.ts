import { context, trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths pino replaces with "[redacted]": credentials never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'sasl.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'headers["x-callaro-signature"]',
  'headers["x-twilio-signature"]',
  'headers["webhook-signature"]',
  'credentials',
  '*.credentials',
  'private_key',
  '*.private_key',
  'piiHashKey',
  '*.piiHashKey',
];

/**
 * Creates the process logger: pino JSON on stdout (or the given destination). The level comes
 * from the caller (the CLI passes config.logLevel, i.e. LOG_LEVEL as the options checked it):
 * the environment is read in one place, src/config/.
 */
export function createLogger(options: { level: string; name?: string; destination?: NodeJS.WritableStream }): Logger {
  const settings = {
    name: options.name ?? 'callstream',
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    // With tracing on, a line written inside a span (a webhook's) carries its trace_id and span_id.
    mixin: spanIds,
  };
  return options.destination ? pino(settings, options.destination as never) : pino(settings);
}

/**
 * The active span's ids, for a log line (pino's mixin). Read through @opentelemetry/api alone, so
 * the logger depends on no part of callstream: with tracing off (no context manager registered,
 * see src/tracing/) there is never an active span and this returns an empty object.
 */
function spanIds(): Record<string, string> {
  // A new object each time: pino merges the line's fields into it.
  const span = trace.getSpanContext(context.active());
  return span && trace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

