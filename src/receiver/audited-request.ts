import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCHEMA_NAMES } from '../codec/index.js';
import { CallstreamError } from '../errors.js';
import type { OutgoingMessage } from '../kafka/index.js';
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
  const receivedAt = Date.now();
  const { bytes, tooLarge, problem } = await readBody(req, ctx.config.maxBodyBytes);
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
  };
  return { audit, bytes, tooLarge, bodyProblem: problem };
}

/**
 * Publishes the audit record to `rawTopic` (and the event, when accepted), then answers:
 * with the outcome once the broker acknowledged, with 503 + Retry-After when it did not.
 */
export async function recordAndAnswer(ctx: RouteContext, res: ServerResponse, intake: Intake, rawTopic: string, outcome: Outcome): Promise<void> {
  const { audit } = intake;
  if ('problem' in outcome) {
    audit.status = outcome.problem.status;
    audit.error_code = outcome.problem.code;
  } else {
    audit.status = outcome.answer.status;
    audit.event_key = outcome.event.key;
  }
  const messages: OutgoingMessage[] = [
    {
      topic: rawTopic,
      key: audit.event_key ?? audit.request_id,
      value: ctx.codec.encode(SCHEMA_NAMES.rawRequest, audit),
      headers: { 'callstream-request-id': audit.request_id, 'callstream-flow': audit.flow },
    },
  ];
  if ('event' in outcome) messages.push(outcome.event);
  await publishThenAnswer(ctx, res, messages, 'problem' in outcome ? outcome.problem : outcome.answer, intake.tooLarge);
  if ('problem' in outcome) countRefusal(ctx, res, outcome.problem);
  else if (res.statusCode === outcome.answer.status) ctx.metrics.eventsPublished.inc({ family: outcome.family });
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
