import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/logger.js';
import { startTracing, type Tracing } from '../../../src/tracing/index.js';
import { exampleCallCompleted } from '../../support/fixtures.js';
import { startTestReceiver } from '../../support/receiver-harness.js';

/**
 * What the receiver records per webhook (docs/tracing.md), with the SDK's in-memory exporter
 * and the in-memory publisher: a sampled webhook is two spans (the request, and publish until
 * the ack) with its steps as events of the first; a dropped one records nothing, and its
 * records carry a traceparent only when the sender's trace came in with it.
 */

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness | undefined;
let tracing: Tracing | undefined;
// A new exporter for each test: a provider's shutdown stops its exporter for good.
let exporter = new InMemorySpanExporter();

afterEach(async () => {
  await h?.close();
  await tracing?.shutdown();
  h = undefined;
  tracing = undefined;
  exporter = new InMemorySpanExporter();
});

async function start(sampler: string): Promise<Harness> {
  tracing = await startTracing(loadConfig({ OTEL_TRACES_SAMPLER: sampler }), createLogger({ level: 'silent' }), { exporter });
  return startTestReceiver();
}

async function post(h: Harness, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  await res.arrayBuffer();
  return { status: res.status, requestId: res.headers.get('x-request-id')! };
}

/** The finished spans once `count` have ended (a span ends just after its answer is sent). */
async function finished(count: number) {
  for (let i = 0; i < 100 && exporter.getFinishedSpans().length < count; i++) await new Promise((r) => setTimeout(r, 10));
  return exporter.getFinishedSpans();
}

const traceparents = (h: Harness, requestId: string) =>
  h.publisher.messages.filter((m) => m.headers?.['callstream-request-id'] === requestId).map((m) => m.headers?.traceparent);

describe('a sampled webhook', () => {
  it('never shows a secret path segment: url.path has it redacted, as the audit record does', async () => {
    const secret = 's3cret-segment-4f1c2d';
    tracing = await startTracing(loadConfig({ OTEL_TRACES_SAMPLER: 'always_on' }), createLogger({ level: 'silent' }), { exporter });
    h = await startTestReceiver({ secretPath: secret });
    const res = await fetch(`${h.url}/callaro/webhooks/${secret}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(exampleCallCompleted()) });
    await res.arrayBuffer();
    expect(res.status).toBe(202);
    const spans = await finished(2);
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.attributes['url.path']).toBe('/callaro/webhooks/[redacted]');
    expect(JSON.stringify(spans.map((s) => ({ attributes: s.attributes, events: s.events, name: s.name })))).not.toContain(secret);
  });

  it('is two spans, its steps the events of the first, and its records carry the publish span', async () => {
    h = await start('always_on');
    const sent = await post(h, JSON.stringify(exampleCallCompleted()));
    expect(sent.status).toBe(202);
    const spans = await finished(2);
    expect(spans.map((s) => s.name).sort()).toEqual(['POST /callaro/webhooks', 'publish']);
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const publish = spans.find((s) => s.kind === SpanKind.PRODUCER)!;
    expect(publish.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(server.events.map((e) => e.name)).toEqual(['read', 'verify', 'validate']);
    for (const e of server.events) expect(e.attributes?.['callstream.step.duration_ms']).toBeGreaterThanOrEqual(0);
    expect(traceparents(h, sent.requestId)).toEqual([`00-${server.spanContext().traceId}-${publish.spanContext().spanId}-01`, `00-${server.spanContext().traceId}-${publish.spanContext().spanId}-01`]);
  });

  it('names the step that refused it, on its event and on the span', async () => {
    h = await start('always_on');
    const sent = await post(h, '{"event":"call.completed"}');
    expect(sent.status).toBe(422);
    const server = (await finished(2)).find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.attributes).toMatchObject({ 'callstream.failed_step': 'validate', 'callstream.error_code': 'RCV_SCHEMA_INVALID', 'http.response.status_code': 422 });
    expect(server.events.map((e) => [e.name, e.attributes?.['callstream.error_code']])).toEqual([
      ['read', undefined],
      ['verify', undefined],
      ['validate', 'RCV_SCHEMA_INVALID'],
    ]);
  });
});

describe('a webhook the sampler drops', () => {
  it('records no span, and its records carry no traceparent when no trace came in with it', async () => {
    h = await start('always_off');
    const sent = await post(h, JSON.stringify(exampleCallCompleted()));
    expect(sent.status).toBe(202);
    await tracing!.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(traceparents(h, sent.requestId)).toEqual([undefined, undefined]);
  });

  it("still carries a sender's trace on, sampled flag off", async () => {
    h = await start('always_off');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const sent = await post(h, JSON.stringify(exampleCallCompleted()), { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(sent.status).toBe(202);
    expect(exporter.getFinishedSpans()).toEqual([]);
    const carried = traceparents(h, sent.requestId);
    expect(carried).toHaveLength(2);
    for (const header of carried) expect(header).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  });
});
