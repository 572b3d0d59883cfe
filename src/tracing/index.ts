import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';

/**
 * OpenTelemetry traces (docs/tracing.md), off unless OTEL_TRACES_EXPORTER says otherwise.
 *
 * The hot paths (receiver, sink) use only this module, i.e. @opentelemetry/api, and ask
 * tracingOn() first: with tracing off they create no span, extract and inject nothing and
 * allocate nothing for it. The SDK (sdk.ts) is imported only when tracing is turned on.
 */

export { SpanKind, SpanStatusCode, type Link, type Span };

/** The W3C Trace Context headers carried on Kafka records (and honoured on webhooks). */
export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/** Links a sink span keeps at most (the SDK's default link limit): `callstream.links_dropped` counts the rest. */
export const MAX_LINKS = 128;

let tracer: Tracer | undefined;

/** Whether spans are made (a tracer provider was started). */
export function tracingOn(): boolean {
  return tracer !== undefined;
}

/** The tracer; only call when tracingOn(). */
export function activeTracer(): Tracer {
  return tracer!;
}

/** What startTracing returns: flush and stop (exports what is left). */
export interface Tracing {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Options for tests and tools: an exporter of their own instead of the one OTEL_TRACES_EXPORTER names. */
export interface TracingOptions {
  /** A span exporter (e.g. the SDK's InMemorySpanExporter), with a simple processor: spans are exported as they end. */
  exporter?: unknown;
}

/**
 * Starts tracing as the configuration says: undefined (and nothing loaded) when
 * OTEL_TRACES_EXPORTER=none and no exporter is given. Registers the tracer provider, the
 * W3C propagator and the AsyncLocalStorage context manager globally.
 */
export async function startTracing(config: Config, logger: Logger, options: TracingOptions = {}): Promise<Tracing | undefined> {
  if (config.otelTracesExporter === 'none' && options.exporter === undefined) return undefined;
  if (tracer) throw new Error('tracing is already started');
  const sdk = await import('./sdk.js');
  const started = sdk.startSdk(config, logger, options.exporter);
  tracer = started.tracer;
  logger.info({ exporter: options.exporter ? 'custom' : config.otelTracesExporter, sampler: config.otelTracesSampler, service: config.otelServiceName }, 'tracing on');
  return {
    forceFlush: () => started.forceFlush(),
    shutdown: async () => {
      tracer = undefined;
      await started.shutdown();
    },
  };
}

/** The trace and span ids of the active span, for a log line (pino mixin); {} when there is none. */
export function traceLogFields(): Record<string, string> {
  // A new object each time: pino merges the line's fields into it.
  if (!tracer) return {};
  const sc = trace.getSpanContext(context.active());
  return sc && trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** A context with `span` as its active span. */
export function setSpan(ctx: Context, span: Span): Context {
  return trace.setSpan(ctx, span);
}

/** Runs `work` with `ctx` active (log lines written meanwhile carry its span's ids). */
export function withContext<T>(ctx: Context, work: () => T): T {
  return context.with(ctx, work);
}

/**
 * The trace headers of webhooks that were not sampled, by their response: their records carry
 * a sender's trace on (sampled flag off) although no span was made active, or nothing ({}) when
 * the trace started here.
 */
export const unsampled = new WeakMap<object, Record<string, string>>();

/** The context an incoming request's `traceparent` (and `tracestate`) names; the root context without one. */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** Whether `ctx` holds a span context, e.g. a sender's trace that contextFromHeaders found. */
export function carriesTrace(ctx: Context): boolean {
  return trace.getSpanContext(ctx) !== undefined;
}

/** The headers that carry `ctx`'s span (traceparent, tracestate) to the next hop. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/**
 * Runs one step of a webhook (read, verify, validate) and, under a recorded span (a sampled
 * webhook's), records it as an event of that span named after the step: at the step's start,
 * with `callstream.step.duration_ms` and the given attributes. A step that throws adds its
 * error code (`callstream.error_code`, or `error`) to its event and marks the span with
 * `callstream.failed_step` and `callstream.error_code`; the error is rethrown. Just `work` when
 * tracing is off or the webhook is not sampled.
 *
 * An event and not a child span: a step takes microseconds, and a span costs several times as
 * much to make, process and export (docs/tracing.md#cost). The webhook's publish, which lasts
 * until the broker's ack and whose context travels on the records, stays a span.
 */
export function inStep<T>(name: string, work: () => T, attributes?: Attributes): T {
  if (!tracer) return work();
  const span = trace.getSpan(context.active());
  if (!span?.isRecording()) return work();
  const started = performance.now();
  const done = (err?: unknown): void => {
    const event: Attributes = { ...attributes, 'callstream.step.duration_ms': Math.round((performance.now() - started) * 1000) / 1000 };
    if (err !== undefined) {
      const code = errorCodeOf(err) ?? 'error';
      event['callstream.error_code'] = code;
      span.setAttributes({ 'callstream.failed_step': name, 'callstream.error_code': code });
    }
    span.addEvent(name, event, performance.timeOrigin + started);
  };
  try {
    const result = work();
    if (result instanceof Promise) {
      return result.then(
        (value) => {
          done();
          return value;
        },
        (err) => {
          done(err);
          throw err;
        },
      ) as T;
    }
    done();
    return result;
  } catch (err) {
    done(err);
    throw err;
  }
}

/** A CallstreamError's code (any error with a string `code`), else undefined. */
function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The headers that carry `span` (a child of the active span) to the next hop. */
export function spanHeaders(span: Span): Record<string, string> {
  return traceHeaders(trace.setSpan(context.active(), span));
}

/** Marks a span as failed by `err`, with its CallstreamError code when it has one. */
export function failed(span: Span, err: unknown): void {
  const code = errorCodeOf(err);
  if (code !== undefined) span.setAttribute('callstream.error_code', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Kafka record headers as kafkajs hands them (Buffers, strings or arrays of them). */
type RecordHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

const recordHeaderGetter: TextMapGetter<RecordHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** The span context a Kafka record's `traceparent` header names; undefined without a valid one. */
export function recordSpanContext(headers: RecordHeaders | undefined): SpanContext | undefined {
  if (!headers || headers[TRACEPARENT] === undefined) return undefined;
  const sc = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, headers, recordHeaderGetter));
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}

/**
 * The trace id in a Kafka record's `traceparent` header, parsed without the SDK (for
 * `callstream trace`, where tracing is off): undefined without a valid one.
 */
export function traceIdOfHeaders(headers: RecordHeaders | Record<string, string> | undefined): string | undefined {
  const raw = headers?.[TRACEPARENT];
  if (raw === undefined) return undefined;
  const text = (Array.isArray(raw) ? raw[0] : raw)?.toString().trim() ?? '';
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(text);
  if (!match || match[1] === 'ff' || /^0+$/.test(match[2]) || /^0+$/.test(match[3])) return undefined;
  return match[2];
}

/**
 * A request's trace id, the one rule for the `requests` table and `callstream trace --bodies`:
 * its audit record's `traceparent` header (written by a receiver with tracing on: the webhook's
 * trace), else the `traceparent` header the request came with; undefined when neither is valid.
 */
export function requestTraceId(recordHeaders: RecordHeaders | undefined, requestHeaders: Record<string, string> | undefined): string | undefined {
  return traceIdOfHeaders(recordHeaders) ?? traceIdOfHeaders(requestHeaders);
}

/** Links to the records' contexts (with their offsets), at most MAX_LINKS; `dropped` counts those left out. */
export function recordLinks(
  messages: ReadonlyArray<{ headers?: RecordHeaders; offset: string }>,
  partition: number,
): { links: Link[]; dropped: number } {
  const links: Link[] = [];
  let dropped = 0;
  for (const m of messages) {
    const sc = recordSpanContext(m.headers);
    if (!sc) continue;
    if (links.length >= MAX_LINKS) {
      dropped++;
      continue;
    }
    links.push({ context: sc, attributes: { 'messaging.kafka.offset': Number(m.offset), 'messaging.destination.partition.id': String(partition) } });
  }
  return { links, dropped };
}
