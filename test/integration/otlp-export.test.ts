import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { startTracing, type Tracing } from '../../src/tracing/index.js';
import { callCompleted } from '../support/fixtures.js';
import { isolatedConfig, requireBroker, waitFor } from '../support/pipeline-harness.js';

/**
 * OTLP export for real (issue 25): OTEL_TRACES_EXPORTER=otlp as an operator sets it, the SDK
 * loaded lazily, spans batched and sent over OTLP/HTTP to a receiver that decodes them with
 * the OpenTelemetry Collector's own pdata package (test/support/otlp-receiver, built with Go).
 * The webhook's spans and the sink's, linked to them, arrive with the configured service name.
 */

interface ReceivedSpan {
  content_type: string;
  service: string;
  scope: string;
  name: string;
  kind: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  attributes: Record<string, unknown>;
  links: Array<{ trace_id: string; span_id: string }>;
  events: Array<{ name: string; time_unix_nano: number; attributes: Record<string, unknown> }>;
}

const received: ReceivedSpan[] = [];
let collector: ChildProcess | undefined;
let tracing: Tracing | undefined;
let pipeline: Pipeline | undefined;
let url: string;

/** Builds the receiver (Go's build cache makes a rebuild take a second) and starts it on a free port. */
async function startReceiver(): Promise<string> {
  const dir = join(homedir(), '.cache', 'callstream', 'otlp-receiver');
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'otlp-receiver');
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: join(import.meta.dirname, '..', 'support', 'otlp-receiver'), stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  collector = spawn(binary, ['-listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: collector.stdout! });
  return new Promise((resolve, reject) => {
    collector!.once('exit', (code) => reject(new Error(`otlp-receiver exited with ${code}`)));
    lines.on('line', (line) => {
      if (line.startsWith('listening ')) resolve(`http://${line.slice('listening '.length)}`);
      else received.push(JSON.parse(line) as ReceivedSpan);
    });
  });
}

beforeAll(async () => {
  await requireBroker();
  const endpoint = await startReceiver();
  // What an operator sets; the exporter reads the endpoint itself.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
  const fromEnv = loadConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'callstream-otlp-test', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
  const config = isolatedConfig({ otelTracesExporter: fromEnv.otelTracesExporter, otelServiceName: fromEnv.otelServiceName });
  const logger = createLogger({ level: config.logLevel });
  tracing = await startTracing(config, logger);
  pipeline = new Pipeline({ config, logger, manageBroker: false, querySocket: false });
  await pipeline.start();
  const address = pipeline.receiver!.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await pipeline?.stop();
  await tracing?.shutdown();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  collector?.kill('SIGTERM');
});

/** Posts a call.completed webhook as the sender's sampled child of span `parentSpanId` in trace `traceId`; its status. */
async function postTraced(traceId: string, parentSpanId: string, call: number): Promise<number> {
  const res = await fetch(`${url}/callaro/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentSpanId}-01` },
    body: JSON.stringify(callCompleted(call)),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('OTLP export', () => {
  it('sends the webhook spans and the sink spans linked to them to an OTLP/HTTP receiver', async () => {
    expect(tracing).toBeDefined();
    const traceId = '5b8efff798038103d269b633813fc60c';
    expect(await postTraced(traceId, 'eee19b7ec3c1b174', 25_101)).toBe(202);
    const names = () => new Set(received.filter((s) => s.trace_id === traceId).map((s) => s.name));
    const linked = () => received.filter((s) => s.links.some((l) => l.trace_id === traceId)).map((s) => s.name);
    await waitFor(
      async () => {
        await tracing!.forceFlush();
        return { own: names(), linked: new Set(linked()) };
      },
      ({ own, linked }) => ['POST /callaro/webhooks', 'publish'].every((n) => own.has(n)) && ['sink decode', 'sink write', 'sink commit'].every((n) => linked.has(n)),
      30_000,
      'the spans at the OTLP receiver',
    );
    const server = received.find((s) => s.trace_id === traceId && s.name === 'POST /callaro/webhooks')!;
    expect(server.kind).toBe('Server');
    expect(server.parent_span_id).toBe('eee19b7ec3c1b174');
    expect(server.service).toBe('callstream-otlp-test');
    expect(server.scope).toBe('callstream');
    expect(server.content_type).toMatch(/^application\/json/);
    expect(server.attributes['http.response.status_code']).toBe(202);
    // The steps travel as the server span's events, with their durations.
    expect(server.events.map((e) => e.name)).toEqual(['read', 'verify', 'validate']);
    for (const e of server.events) expect(typeof e.attributes['callstream.step.duration_ms']).toBe('number');
    expect(new Set(received.filter((s) => s.trace_id === traceId).map((s) => s.name))).toEqual(new Set(['POST /callaro/webhooks', 'publish']));
    const publish = received.find((s) => s.trace_id === traceId && s.name === 'publish')!;
    expect(publish.parent_span_id).toBe(server.span_id);
    expect(publish.kind).toBe('Producer');
    const decode = received.find((s) => s.name === 'sink decode' && s.links.some((l) => l.trace_id === traceId))!;
    expect(decode.links.find((l) => l.trace_id === traceId)!.span_id).toBe(publish.span_id);
    expect(decode.kind).toBe('Consumer');
  });

  it('sends them as protobuf with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf', async () => {
    await tracing!.shutdown();
    const fromEnv = loadConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'callstream-otlp-proto', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    const config = isolatedConfig({ otelTracesExporter: fromEnv.otelTracesExporter, otelServiceName: fromEnv.otelServiceName, otelExporterOtlpProtocol: fromEnv.otelExporterOtlpProtocol });
    tracing = await startTracing(config, createLogger({ level: config.logLevel }));
    const traceId = '7c9fa1b2c3d4e5f60718293a4b5c6d7e';
    expect(await postTraced(traceId, '1a2b3c4d5e6f7081', 25_102)).toBe(202);
    const spans = await waitFor(
      async () => {
        await tracing!.forceFlush();
        return received.filter((s) => s.trace_id === traceId);
      },
      (found) => ['POST /callaro/webhooks', 'publish'].every((n) => found.some((s) => s.name === n)),
      30_000,
      'the spans at the OTLP receiver, as protobuf',
    );
    for (const span of spans) {
      expect(span.content_type).toMatch(/^application\/x-protobuf/);
      expect(span.service).toBe('callstream-otlp-proto');
    }
    const server = spans.find((s) => s.name === 'POST /callaro/webhooks')!;
    expect(server.parent_span_id).toBe('1a2b3c4d5e6f7081');
    expect(server.events.map((e) => e.name)).toEqual(['read', 'verify', 'validate']);
  });
});
