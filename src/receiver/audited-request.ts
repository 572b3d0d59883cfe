import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCHEMA_NAMES } from '../codec/index.js';
import { CallstreamError, isCallstreamError } from '../errors.js';
import { recordBytes, type OutgoingMessage } from '../kafka/index.js';
import { activeTracer, failed, inStep, SpanKind, SpanStatusCode, spanHeaders, tracingOn, unsampled, type Span } from '../tracing/index.js';
import { auditHeaders, type RawRequestRecord } from './audit.js';
import { readBody } from './body.js';
import { publishThenAnswer, sendError, sendJson, type RouteContext } from './route-context.js';

/**
 * The machinery both webhook flows share: read the body within the limit, keep the
 * request in the flow's audit topic whatever the outcome, publish an accepted event
 * beside it, and answer only once the broker acknowledged both.
 */

/** A webhook request as read: its bytes and the audit record that will keep them. */
export interface Intake {
  audit: RawRequestRecord;
  bytes: Buffer;
  /** The body was over the limit: bytes holds its first maxBodyBytes only (the answer is 413). */
  tooLarge: boolean;
  /** The body could not be decoded (an unknown Content-Encoding, broken gzip). */
  bodyProblem?: CallstreamError;
}

/** An event to publish and the answer to send once it is acknowledged. */
export interface Accepted {
  event: OutgoingMessage;
  /** The events-published metric's label. */
  family: string;
  answer: { status: number; body: unknown };
}

/** What a route decided: a refusal, or an accepted event. */
export type Outcome = { problem: CallstreamError } | Accepted;

/** Runs a route's checks: the CallstreamError one throws becomes the refusal; any other error propagates. */
export function refusalOr<T>(work: () => T): T | { problem: CallstreamError } {
  try {
    return work();
  } catch (err) {
    if (err instanceof CallstreamError) return { problem: err };
    throw err;
  }
}

/** Reads the body (up to the limit) and starts the request's audit record, with credentials redacted. */
export async function receive(
  ctx: RouteContext,
  req: IncomingMessage,
  requestId: string,
  flow: RawRequestRecord['flow'],
  path: string,
  secretHeaders?: ReadonlySet<string>,
): Promise<Intake> {
  const receivedAt = ctx.clock.stamp();
  const { bytes, tooLarge, problem } = await inStep('read', () => readBody(req, ctx.config.maxBodyBytes));
  const audit: RawRequestRecord = {
    request_id: requestId,
    received_at: receivedAt,
    flow,
    method: req.method ?? 'POST',
    path,
    remote_address: req.socket.remoteAddress ?? null,
    headers: auditHeaders(req.headers, secretHeaders),
    body: bytes,
    truncated: tooLarge,
    status: 202,
    error_code: null,
    event_key: null,
    verified_by: null,
  };
  return { audit, bytes, tooLarge, bodyProblem: problem };
}

/**
 * Publishes the audit record to `rawTopic` (and the event, when accepted), then answers:
 * with the outcome once the broker acknowledged, with 503 + Retry-After when it did not.
 *
 * The size contract: an event record over its topic's limit is refused (413
 * RCV_RECORD_TOO_LARGE) before anything is produced, and the audit record keeps the request
 * as refused, so no sender retries a request that can never succeed and nothing it sent is
 * lost. The same holds when the broker, not the check, finds a record too large (its topic's
 * limit was lowered meanwhile): the audit record alone goes again, saying 413 (the audit topic
 * may then hold the 202 too; the requests table keeps the 413: see REQUESTS in
 * src/warehouse/tables.ts).
 */
export async function recordAndAnswer(ctx: RouteContext, res: ServerResponse, intake: Intake, rawTopic: string, outcome: Outcome): Promise<void> {
  if (!tracingOn()) return publishAndCount(ctx, res, intake, rawTopic, outcome);
  // A webhook the sampler dropped: its records carry the sender's trace, if one came in, or nothing.
  const quiet = unsampled.get(res);
  if (quiet) return Object.keys(quiet).length > 0 ? publishAndCount(ctx, res, intake, rawTopic, withHeaders(outcome, quiet), quiet) : publishAndCount(ctx, res, intake, rawTopic, outcome);
  // The publish span, until the broker's ack: its context is the `traceparent` of the records.
  const attributes = { 'messaging.system': 'kafka', 'messaging.operation.type': 'send', 'messaging.destination.name': 'event' in outcome ? outcome.event.topic : rawTopic };
  const span: Span = activeTracer().startSpan('publish', { kind: SpanKind.PRODUCER, attributes });
  try {
    const headers = spanHeaders(span);
    await publishAndCount(ctx, res, intake, rawTopic, withHeaders(outcome, headers), headers);
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode === 503) span.setStatus({ code: SpanStatusCode.ERROR, message: 'records not acknowledged' });
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** The outcome with the trace headers added to its event's. */
function withHeaders(outcome: Outcome, headers: Record<string, string>): Outcome {
  return 'event' in outcome ? { ...outcome, event: { ...outcome.event, headers: { ...outcome.event.headers, ...headers } } } : outcome;
}

async function publishAndCount(ctx: RouteContext, res: ServerResponse, intake: Intake, rawTopic: string, outcome: Outcome, traceHeaders?: Record<string, string>): Promise<void> {
  let decided = 'event' in outcome && !ctx.publisher.fits(outcome.event) ? { problem: recordTooLarge(ctx, outcome.event) } : outcome;
  const published = await publishThenAnswer(ctx, res, intake.audit.request_id, auditedRecords(ctx, intake, rawTopic, decided, traceHeaders), answerOf(decided), intake.tooLarge, (err) => {
    if (!('event' in decided) || !isCallstreamError(err, 'KAFKA_RECORD_TOO_LARGE')) return undefined;
    decided = { problem: recordTooLarge(ctx, decided.event) };
    return { messages: auditedRecords(ctx, intake, rawTopic, decided, traceHeaders), answer: decided.problem };
  });
  if (!published) return;
  if ('problem' in decided) countRefusal(ctx, res, decided.problem);
  else if (res.statusCode === decided.answer.status) ctx.metrics.eventsPublished.inc({ family: decided.family });
}

function answerOf(outcome: Outcome): CallstreamError | { status: number; body: unknown } {
  return 'problem' in outcome ? outcome.problem : outcome.answer;
}

function recordTooLarge(ctx: RouteContext, event: OutgoingMessage): CallstreamError {
  const limit = ctx.publisher.recordLimit(event.topic);
  return new CallstreamError(
    'RCV_RECORD_TOO_LARGE',
    `The body is under the ${ctx.config.maxBodyBytes}-byte limit, but its ${recordBytes(event)}-byte record is over the ${limit} bytes topic ${event.topic} takes (max.message.bytes).`,
  );
}

/** The request's audit record, saying what was decided, and the event when it was accepted. */
function auditedRecords(ctx: RouteContext, intake: Intake, rawTopic: string, outcome: Outcome, traceHeaders?: Record<string, string>): OutgoingMessage[] {
  const audit = { ...intake.audit };
  if ('problem' in outcome) {
    audit.status = outcome.problem.status;
    audit.error_code = outcome.problem.code;
  } else {
    audit.status = outcome.answer.status;
    audit.event_key = outcome.event.key;
  }
  const headers = { 'callstream-request-id': audit.request_id, 'callstream-flow': audit.flow, ...traceHeaders };
  let record: OutgoingMessage = { topic: rawTopic, key: audit.event_key ?? audit.request_id, value: ctx.codec.encode(SCHEMA_NAMES.rawRequest, audit), headers };
  if (!ctx.publisher.fits(record)) {
    // An audit topic smaller than the body limit needs (created outside callstream): keep what fits.
    const room = Math.max(0, ctx.publisher.recordLimit(rawTopic) - (recordBytes(record) - audit.body.length));
    ctx.logger.error({ topic: rawTopic, bodyBytes: audit.body.length, keptBytes: room }, 'the audit topic takes less than the body limit: the audit record keeps a prefix of the body');
    record = { ...record, value: ctx.codec.encode(SCHEMA_NAMES.rawRequest, { ...audit, body: audit.body.subarray(0, room), truncated: true }) };
  }
  return 'event' in outcome ? [record, outcome.event] : [record];
}

/** Answers a dry run (nothing published, not even the audit record), counting a refusal like any other. */
export function answerUnpublished(ctx: RouteContext, res: ServerResponse, intake: Intake, answer: CallstreamError | { status: number; body: unknown }): void {
  const headers: Record<string, string> = intake.tooLarge ? { connection: 'close' } : {};
  if (!(answer instanceof CallstreamError)) return sendJson(res, answer.status, answer.body, headers);
  sendError(res, answer, headers);
  countRefusal(ctx, res, answer);
}

function countRefusal(ctx: RouteContext, res: ServerResponse, problem: CallstreamError): void {
  if (res.statusCode === problem.status) ctx.metrics.rejected.inc({ code: problem.code });
}
