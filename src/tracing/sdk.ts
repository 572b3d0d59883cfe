import { context, diag, DiagLogLevel, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';

/**
 * The OpenTelemetry SDK, imported by index.ts only once tracing is turned on: a tracer
 * provider with the configured sampler and exporter, the W3C Trace Context propagator and
 * the AsyncLocalStorage context manager, registered globally.
 */

const SCOPE = 'callstream';

function samplerOf(config: Config): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(config.otelTracesSamplerArg);
  switch (config.otelTracesSampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function processorOf(config: Config, exporter: unknown): SpanProcessor {
  if (exporter !== undefined) return new SimpleSpanProcessor({ exporter: exporter as SpanExporter });
  if (config.otelTracesExporter === 'console') return new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() });
  // OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT are read by the exporter itself.
  const protocol = config.otelExporterOtlpTracesProtocol ?? config.otelExporterOtlpProtocol ?? 'http/json';
  return new BatchSpanProcessor({ exporter: protocol === 'http/protobuf' ? new OTLPProtoTraceExporter() : new OTLPTraceExporter() });
}

export function startSdk(config: Config, logger: Logger, exporter: unknown): { tracer: Tracer; forceFlush(): Promise<void>; shutdown(): Promise<void> } {
  // The SDK's own complaints (an export that failed, a collector away) go to our log, as warnings.
  const sdkLog = logger.child({ component: 'otel' });
  diag.setLogger(
    {
      error: (message, ...args) => sdkLog.warn({ args: args.map(String) }, message),
      warn: (message, ...args) => sdkLog.warn({ args: args.map(String) }, message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': config.otelServiceName }));
  const provider = new TracerProvider({ resource, sampler: samplerOf(config), spanProcessors: [processorOf(config, exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    tracer: provider.getTracer(SCOPE),
    forceFlush: () => provider.forceFlush(),
    shutdown: async () => {
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        propagation.disable();
        context.disable();
        diag.disable();
      }
    },
  };
}
