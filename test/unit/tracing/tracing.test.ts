import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/logger.js';
import { inStep, recordLinks, requestTraceId, startTracing, traceHeaders, traceIdOfHeaders, traceLogFields, tracingOn } from '../../../src/tracing/index.js';

describe('tracing off (the default)', () => {
  it('starts nothing, makes no span, injects and logs nothing', async () => {
    const config = loadConfig({});
    expect(config.otelTracesExporter).toBe('none');
    expect(await startTracing(config, createLogger({ level: 'silent' }))).toBeUndefined();
    expect(tracingOn()).toBe(false);
    expect(inStep('verify', () => 42)).toBe(42);
    await expect(inStep('read', async () => 'body')).resolves.toBe('body');
    expect(traceHeaders()).toEqual({});
    expect(traceLogFields()).toEqual({});
    // No propagator is registered: even a record that carries a traceparent gives no link.
    expect(recordLinks([{ offset: '1', headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } }], 0)).toEqual({ links: [], dropped: 0 });
  });
});

describe('the OTEL_* settings', () => {
  it('takes the standard values', () => {
    const config = loadConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_SERVICE_NAME: 'ingest', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    expect([config.otelTracesExporter, config.otelTracesSampler, config.otelTracesSamplerArg, config.otelServiceName]).toEqual(['otlp', 'parentbased_traceidratio', 0.25, 'ingest']);
    const proto = loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' });
    expect([proto.otelExporterOtlpProtocol, proto.otelExporterOtlpTracesProtocol]).toEqual(['http/json', 'http/protobuf']);
  });

  it('refuses what it cannot honour instead of exporting nowhere', () => {
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });
});

describe('traceIdOfHeaders (callstream trace)', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  it('reads the trace id of a traceparent header, as a Buffer, a string or the first of several', () => {
    expect(traceIdOfHeaders({ traceparent: Buffer.from(`00-${id}-00f067aa0ba902b7-01`) })).toBe(id);
    expect(traceIdOfHeaders({ traceparent: `00-${id}-00f067aa0ba902b7-00` })).toBe(id);
    expect(traceIdOfHeaders({ traceparent: [Buffer.from(`00-${id}-00f067aa0ba902b7-01`), 'x'] })).toBe(id);
  });
  it('ignores a missing or invalid one', () => {
    expect(traceIdOfHeaders(undefined)).toBeUndefined();
    expect(traceIdOfHeaders({ 'callstream-request-id': 'r' })).toBeUndefined();
    expect(traceIdOfHeaders({ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` })).toBeUndefined();
    expect(traceIdOfHeaders({ traceparent: `ff-${id}-00f067aa0ba902b7-01` })).toBeUndefined();
    expect(traceIdOfHeaders({ traceparent: 'garbage' })).toBeUndefined();
  });
  it('gives a request the trace of its audit record first, else of the header it came with (requestTraceId)', () => {
    const sender = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const header = (trace: string) => ({ traceparent: `00-${trace}-00f067aa0ba902b7-01` });
    expect(requestTraceId({ traceparent: Buffer.from(header(id).traceparent) }, header(sender))).toBe(id);
    expect(requestTraceId({ 'callstream-request-id': Buffer.from('r') }, header(sender))).toBe(sender);
    expect(requestTraceId({ traceparent: 'garbage' }, header(sender))).toBe(sender);
    expect(requestTraceId(undefined, { traceparent: 'garbage' })).toBeUndefined();
    expect(requestTraceId(undefined, undefined)).toBeUndefined();
  });
});
