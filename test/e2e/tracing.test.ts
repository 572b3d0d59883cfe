import { PassThrough } from 'node:stream';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { startTracing, type Tracing } from '../../src/tracing/index.js';
import { callCompleted } from '../support/fixtures.js';
import { mainInProcess } from '../support/main-in-process.js';
import { topicEnv } from '../support/processes.js';
import { isolatedConfig, readTopic, requireBroker, waitFor } from '../support/pipeline-harness.js';
import { statusCallback, twilioCallback, writeVendorsFile } from './telephony-scenario.js';

/**
 * OpenTelemetry traces end to end (issue 25): the SDK's in-memory exporter, the real
 * receiver, the real broker and the sink into DuckDB. One webhook gives a server span with its
 * steps as events (read, verify, validate) and a publish span until the ack, its records carry the publish span's
 * `traceparent`, the sink's decode, write and commit spans link to it, an incoming
 * `traceparent` is continued, and the request's log lines carry its trace_id.
 */

const exporter = new InMemorySpanExporter();
const logLines: Array<Record<string, unknown>> = [];
let tracing: Tracing | undefined;
let pipeline: Pipeline;
let url: string;
let config: ReturnType<typeof isolatedConfig>;

beforeAll(async () => {
  await requireBroker();
  config = isolatedConfig({ telephonyVendors: writeVendorsFile(), logLevel: 'debug' });
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const logger = createLogger({ level: 'debug', destination: out });
  tracing = await startTracing(config, logger, { exporter });
  pipeline = new Pipeline({ config, logger, manageBroker: false, querySocket: true });
  await pipeline.start();
  const address = pipeline.receiver!.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await pipeline?.stop();
  await tracing?.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const inTrace = (traceId: string) => spans().filter((s) => s.spanContext().traceId === traceId);
const childrenOf = (parent: ReadableSpan) => spans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
/** The webhook's steps, recorded as events of its server span, in time order. */
const stepsOf = (server: ReadableSpan) => server.events.map((e) => ({ name: e.name, at: ms(e.time), attributes: e.attributes ?? {} }));
const linksTo = (traceId: string, name: string) => spans().filter((s) => s.name === name && s.links.some((l) => l.context.traceId === traceId));

async function serverSpanOf(requestId: string): Promise<ReadableSpan> {
  return (await waitFor(
    async () => spans().find((s) => s.kind === SpanKind.SERVER && s.attributes['callstream.request_id'] === requestId),
    (s) => s !== undefined,
    10_000,
    `the server span of request ${requestId}`,
  ))!;
}

/** The sink's spans linked to a trace, once all three (decode, write, commit) have ended. */
async function sinkSpansOf(traceId: string): Promise<Record<'decode' | 'write' | 'commit', ReadableSpan[]>> {
  const all = () => ({ decode: linksTo(traceId, 'sink decode'), write: linksTo(traceId, 'sink write'), commit: linksTo(traceId, 'sink commit') });
  return waitFor(async () => all(), (s) => s.decode.length > 0 && s.write.length > 0 && s.commit.length > 0, 30_000, `the sink's spans linked to trace ${traceId}`);
}

/** What `callstream trace` needs to find this test's pipeline: its data directory (query socket) and topics. */
function traceEnv(): Record<string, string> {
  return {
    CALLSTREAM_DATA_DIR: config.dataDir,
    ...topicEnv(config),
    KAFKA_BROKERS: config.kafkaBrokers!.join(','),
  };
}

async function postEvent(body: object, headers: Record<string, string> = {}): Promise<{ status: number; requestId: string }> {
  const res = await fetch(`${url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return { status: res.status, requestId: res.headers.get('x-request-id')! };
}

describe('OpenTelemetry traces', () => {
  it('gives a Callaro webhook a server span with its steps, a publish span, a traceparent on both records and sink spans linked to it', async () => {
    const sent = await postEvent(callCompleted(25_001));
    expect(sent.status).toBe(202);
    const server = await serverSpanOf(sent.requestId);
    expect(server.name).toBe('POST /callaro/webhooks');
    expect(server.attributes['http.response.status_code']).toBe(202);
    expect(server.parentSpanContext).toBeUndefined(); // no traceparent came in: a root
    // Two spans per webhook: the server span, whose steps are its events, and the publish span.
    const children = childrenOf(server);
    expect(children.map((s) => s.name)).toEqual(['publish']);
    const steps = stepsOf(server);
    expect(steps.map((s) => s.name)).toEqual(['read', 'verify', 'validate']);
    for (const step of steps) {
      expect(step.attributes['callstream.step.duration_ms']).toBeGreaterThanOrEqual(0);
      expect(step.attributes['callstream.error_code']).toBeUndefined();
    }
    expect(server.attributes['callstream.failed_step']).toBeUndefined();
    const [publish] = children;
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    // The steps happen in order within the request; the publish span starts after the validate
    // step ended and lasts until the broker's ack, within the request.
    // (1 ms of slack: the SDK's clock is Date-anchored and may not order times within one millisecond.)
    expect(steps[0].at).toBeGreaterThanOrEqual(ms(server.startTime) - 1);
    expect(steps[1].at).toBeGreaterThanOrEqual(steps[0].at);
    expect(steps[2].at).toBeGreaterThanOrEqual(steps[1].at);
    const validateEnd = steps[2].at + Number(steps[2].attributes['callstream.step.duration_ms']);
    expect(ms(publish.startTime)).toBeGreaterThanOrEqual(validateEnd - 1);
    expect(ms(publish.endTime)).toBeLessThanOrEqual(ms(server.endTime) + 1);

    const traceId = server.spanContext().traceId;
    const expected = `00-${traceId}-${publish.spanContext().spanId}-01`;
    const [event] = (await readTopic(config.topicEvents)).filter((r) => r.headers['callstream-request-id'] === sent.requestId);
    expect(event.headers.traceparent).toBe(expected);
    const [audit] = (await readTopic(config.topicRaw)).filter((r) => r.headers['callstream-request-id'] === sent.requestId);
    expect(audit.headers.traceparent).toBe(expected);

    // The sink: decode, write and commit each link to the records' contexts (events and audit topics).
    const sink = await sinkSpansOf(traceId);
    const decodedTopics = sink.decode.map((s) => s.attributes['messaging.destination.name']).sort();
    expect(decodedTopics).toEqual(expect.arrayContaining([config.topicEvents, config.topicRaw]));
    for (const span of [...sink.decode, ...sink.write, ...sink.commit]) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).not.toBe(traceId); // linked, not a child: a batch serves many traces
      const link = span.links.find((l) => l.context.traceId === traceId)!;
      expect(link.context.spanId).toBe(publish.spanContext().spanId);
    }
    expect(sink.decode.find((s) => s.attributes['messaging.destination.name'] === config.topicEvents)!.kind).toBe(SpanKind.CONSUMER);
    expect(sink.write.some((s) => Number(s.attributes['callstream.rows']) >= 1)).toBe(true);
  });

  it('continues an incoming traceparent: the webhook span is its child and the records carry its trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const sent = await postEvent(callCompleted(25_002), { traceparent: `00-${traceId}-${parentId}-01`, tracestate: 'vendor=abc' });
    expect(sent.status).toBe(202);
    const server = await serverSpanOf(sent.requestId);
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe(parentId);
    expect(server.parentSpanContext?.isRemote).toBe(true);
    expect(inTrace(traceId).map((s) => s.name).sort()).toEqual(['POST /callaro/webhooks', 'publish']);
    expect(stepsOf(server).map((s) => s.name)).toEqual(['read', 'verify', 'validate']);
    const [event] = (await readTopic(config.topicEvents)).filter((r) => r.headers['callstream-request-id'] === sent.requestId);
    expect(event.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(event.headers.tracestate).toBe('vendor=abc');
    await sinkSpansOf(traceId);
  });

  it('honours the sampled flag: an unsampled incoming traceparent records no span but still carries the trace on', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const sent = await postEvent(callCompleted(25_003), { traceparent: `00-${traceId}-b7ad6b7169203331-00` });
    expect(sent.status).toBe(202);
    const [event] = (await readTopic(config.topicEvents)).filter((r) => r.headers['callstream-request-id'] === sent.requestId);
    expect(event.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    expect(inTrace(traceId)).toEqual([]);
  });

  it('traces a provider callback the same way', async () => {
    const sent = await twilioCallback(url, statusCallback('CA25000000000000000000000000000004', 'completed', 4));
    expect(sent.status).toBe(202);
    const server = await serverSpanOf(sent.requestId);
    expect(server.name).toBe('POST /api/v1/webhooks/telephony/');
    expect(childrenOf(server).map((s) => s.name)).toEqual(['publish']);
    expect(stepsOf(server).map((s) => s.name)).toEqual(['read', 'verify', 'validate']);
    expect(stepsOf(server).find((s) => s.name === 'verify')!.attributes['callstream.vendor']).toBe('twilio');
    const traceId = server.spanContext().traceId;
    const [callback] = (await readTopic(config.topicTelephony)).filter((r) => r.headers['callstream-request-id'] === sent.requestId);
    expect(callback.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-`));
    const [audit] = (await readTopic(config.topicTelephonyRaw)).filter((r) => r.headers['callstream-request-id'] === sent.requestId);
    expect(audit.headers.traceparent).toBe(callback.headers.traceparent);
    const sink = await sinkSpansOf(traceId);
    expect(sink.decode.map((s) => s.attributes['messaging.destination.name'])).toContain(config.topicTelephony);
  });

  it('marks a refused webhook: the failed step and the span carry the error code, the audit record still the traceparent', async () => {
    const sent = await postEvent({ event: 'call.completed' }); // no call_id: RCV_SCHEMA_INVALID
    expect(sent.status).toBe(422);
    const server = await serverSpanOf(sent.requestId);
    const validate = stepsOf(server).find((s) => s.name === 'validate')!;
    expect(validate.attributes['callstream.error_code']).toBe('RCV_SCHEMA_INVALID');
    expect(stepsOf(server).find((s) => s.name === 'verify')!.attributes['callstream.error_code']).toBeUndefined();
    expect(server.attributes['callstream.failed_step']).toBe('validate');
    expect(server.attributes['callstream.error_code']).toBe('RCV_SCHEMA_INVALID');
    expect(server.attributes['http.response.status_code']).toBe(422);
    const [audit] = (await readTopic(config.topicRaw)).filter((r) => r.headers['callstream-request-id'] === sent.requestId);
    expect(audit.headers.traceparent).toMatch(new RegExp(`^00-${server.spanContext().traceId}-`));
  });

  it('shows the trace id of the records in `callstream trace --bodies`', async () => {
    const body = callCompleted(25_006);
    const sent = await postEvent(body);
    const traceId = (await serverSpanOf(sent.requestId)).spanContext().traceId;
    await sinkSpansOf(traceId);
    const env = traceEnv();
    const json = await mainInProcess(['trace', String(body.call_id), '--json', '--bodies'], env);
    expect(json.code).toBe(0);
    const records = (JSON.parse(json.out) as { records: Array<{ of: string; trace_id?: string }> }).records;
    expect(records.find((r) => r.of === sent.requestId)?.trace_id).toBe(traceId);
    const text = await mainInProcess(['trace', String(body.call_id), '--bodies'], env);
    expect(text.out).toContain(`trace_id ${traceId}`);
  });

  it('keeps the trace id in the requests table: `callstream trace` shows it without --bodies', async () => {
    /** The call's story once the sink has indexed `requestId`'s audit record. */
    const storyOf = (callId: string, requestId: string) =>
      waitFor(
        async () => JSON.parse((await mainInProcess(['trace', callId, '--json'], traceEnv())).out || '{"requests":[]}') as { requests: Array<{ request_id: string; trace_id: string | null }> },
        (s) => s.requests.some((r) => r.request_id === requestId),
        30_000,
        `request ${requestId} in the requests table`,
      );
    // A trace begun here (no incoming traceparent, sampled): the server span's.
    const body = callCompleted(25_007);
    const sent = await postEvent(body);
    const traceId = (await serverSpanOf(sent.requestId)).spanContext().traceId;
    const told = await storyOf(String(body.call_id), sent.requestId);
    expect(told.requests.find((r) => r.request_id === sent.requestId)?.trace_id).toBe(traceId);
    const text = await mainInProcess(['trace', String(body.call_id)], traceEnv());
    expect(text.code).toBe(0);
    expect(text.out.split('\n').find((l) => l.includes(`request ${sent.requestId};`))).toMatch(new RegExp(`; trace_id ${traceId}$`));
    // An unsampled sender's trace: no span here, but its records carry the sender's trace id, and so does the row.
    const senderTrace = 'b7ad6b7169203331b7ad6b7169203331';
    const quiet = callCompleted(25_008);
    const unsampled = await postEvent(quiet, { traceparent: `00-${senderTrace}-b7ad6b7169203331-00` });
    expect(unsampled.status).toBe(202);
    const quietStory = await storyOf(String(quiet.call_id), unsampled.requestId);
    expect(quietStory.requests.find((r) => r.request_id === unsampled.requestId)?.trace_id).toBe(senderTrace);
    expect(inTrace(senderTrace)).toEqual([]);
  });

  it("writes the request's trace_id and span_id into its log lines", async () => {
    const sent = await postEvent(callCompleted(25_005));
    const server = await serverSpanOf(sent.requestId);
    const line = await waitFor(
      async () => logLines.find((l) => l.msg === 'webhook answered' && l.requestId === sent.requestId),
      (l) => l !== undefined,
      5_000,
      'the log line',
    );
    expect(line!.trace_id).toBe(server.spanContext().traceId);
    expect(line!.span_id).toBe(server.spanContext().spanId);
    // Lines outside any request carry none.
    expect(logLines.find((l) => l.msg === 'callstream is ready')!.trace_id).toBeUndefined();
  });
});
