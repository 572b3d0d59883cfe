import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCHEMA_NAMES } from '../codec/index.js';
import { CallstreamError } from '../errors.js';
import { validateCallaroEvent, type ValidEvent } from '../events/index.js';
import type { OutgoingMessage } from '../kafka/index.js';
import { auditHeaders, type RawRequestRecord } from './audit.js';
import { readBody } from './body.js';
import { toEventRecord } from './event-record.js';
import { isJsonContentType, parseJsonObject } from './parse-json.js';
import { publishThenAnswer, type RouteContext } from './route-context.js';

export const CALLARO_PATH = '/callaro/webhooks';

/**
 * POST /callaro/webhooks: the events Callaro sends. Every request is kept in the audit
 * topic, valid or not; a valid event also goes to the events topic keyed by its entity
 * id. The answer (202, or the 4xx of the problem) is sent only after the broker acked.
 */
export async function handleCallaroWebhook(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const receivedAt = Date.now();
  const { bytes, tooLarge } = await readBody(req, ctx.config.maxBodyBytes);
  const audit: RawRequestRecord = {
    request_id: requestId,
    received_at: receivedAt,
    flow: 'callaro',
    method: req.method ?? 'POST',
    path: CALLARO_PATH,
    remote_address: req.socket.remoteAddress ?? null,
    headers: auditHeaders(req.headers),
    body: bytes,
    truncated: tooLarge,
    status: 202,
    error_code: null,
    event_key: null,
  };

  let accepted: ValidEvent | undefined;
  let problem: CallstreamError | undefined;
  let text = '';
  try {
    if (tooLarge) throw new CallstreamError('RCV_PAYLOAD_TOO_LARGE', `The body is larger than ${ctx.config.maxBodyBytes} bytes.`);
    if (!isJsonContentType(req.headers['content-type'])) {
      throw new CallstreamError('RCV_UNSUPPORTED_MEDIA_TYPE', `Expected Content-Type: application/json, got ${JSON.stringify(req.headers['content-type'] ?? null)}.`);
    }
    const parsed = parseJsonObject(bytes);
    text = parsed.text;
    const result = validateCallaroEvent(parsed.value);
    if (!result.ok) throw new CallstreamError('RCV_SCHEMA_INVALID', undefined, { details: { fields: result.problems } });
    accepted = result.value;
  } catch (err) {
    if (!(err instanceof CallstreamError)) throw err;
    problem = err;
  }

  const messages: OutgoingMessage[] = [];
  if (problem) {
    audit.status = problem.status;
    audit.error_code = problem.code;
  } else if (accepted) {
    audit.event_key = accepted.entityId;
    messages.push({
      topic: ctx.config.topicEvents,
      key: accepted.entityId,
      value: ctx.codec.encode(SCHEMA_NAMES.callaroEvent, toEventRecord(accepted, text, requestId, receivedAt)),
      headers: { 'callstream-request-id': requestId, 'callstream-family': accepted.family },
    });
  }
  messages.unshift({
    topic: ctx.config.topicRaw,
    key: audit.event_key ?? requestId,
    value: ctx.codec.encode(SCHEMA_NAMES.rawRequest, audit),
    headers: { 'callstream-request-id': requestId, 'callstream-flow': 'callaro' },
  });

  await publishThenAnswer(ctx, res, messages, problem ?? { status: 202, body: { status: 'accepted', request_id: requestId, key: accepted!.entityId, event: accepted!.event.event } }, tooLarge);
  if (res.statusCode === 202 && accepted) ctx.metrics.eventsPublished.inc({ family: accepted.family });
  if (problem && res.statusCode === problem.status) ctx.metrics.rejected.inc({ code: problem.code });
}
