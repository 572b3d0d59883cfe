import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCHEMA_NAMES } from '../codec/index.js';
import { CallstreamError } from '../errors.js';
import { validateCallaroEvent, type ValidEvent } from '../families/index.js';
import { REDACTED } from './audit.js';
import { receive, recordAndAnswer, refusalOr, type Accepted, type Intake } from './audited-request.js';
import { toEventRecord } from './event-record.js';
import { isJsonContentType, parseJsonObject } from './parse-json.js';
import type { AccessPolicy } from './auth/index.js';
import type { RouteContext } from './route-context.js';
import { inStep } from '../tracing/index.js';

export const CALLARO_PATH = '/callaro/webhooks';

/**
 * POST /callaro/webhooks: the events Callaro sends. Every request is kept in the audit
 * topic, valid or not; a valid event also goes to the events topic keyed by its entity
 * id. The answer (202, or the 4xx of the problem) is sent only after the broker acked.
 */
export async function handleCallaroWebhook(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, requestId: string, pathSecret?: string): Promise<void> {
  // A secret path segment is a credential: never stored.
  const path = pathSecret === undefined ? CALLARO_PATH : `${CALLARO_PATH}/${REDACTED}`;
  const intake = await receive(ctx, req, requestId, 'callaro', path);
  await recordAndAnswer(ctx, res, intake, ctx.config.topicRaw, refusalOr(() => acceptEvent(ctx, req, intake, pathSecret)));
}

/**
 * The event in a body, checked as the route checks it once access control passed: media
 * type, JSON, schema, tenant. Throws the CallstreamError of the first problem. `callstream
 * replay-raw` re-validates audited requests with it.
 */
export function readCallaroEvent(access: AccessPolicy, contentType: string | undefined, bytes: Buffer): { event: ValidEvent; text: string } {
  if (!isJsonContentType(contentType)) {
    throw new CallstreamError('RCV_UNSUPPORTED_MEDIA_TYPE', `Expected Content-Type: application/json, got ${JSON.stringify(contentType ?? null)}.`);
  }
  const { text, value } = parseJsonObject(bytes);
  const result = validateCallaroEvent(value);
  if (!result.ok) throw new CallstreamError('RCV_SCHEMA_INVALID', undefined, { details: { fields: result.problems } });
  access.checkTenant(result.value);
  return { event: result.value, text };
}

/** Checks the request and the event; throws the CallstreamError of the first problem. */
function acceptEvent(ctx: RouteContext, req: IncomingMessage, intake: Intake, pathSecret: string | undefined): Accepted {
  inStep('verify', () => {
    ctx.access.checkSource(req);
    if (intake.tooLarge) throw new CallstreamError('RCV_PAYLOAD_TOO_LARGE', `The body is larger than ${ctx.config.maxBodyBytes} bytes.`);
    if (intake.bodyProblem) throw intake.bodyProblem;
    intake.audit.verified_by = ctx.access.checkCredentials(req, pathSecret, intake.bytes);
  });
  return inStep('validate', () => validated(ctx, req, intake));
}

/** The event in the body, checked, and its record on the events topic. */
function validated(ctx: RouteContext, req: IncomingMessage, intake: Intake): Accepted {
  const { event: accepted, text } = readCallaroEvent(ctx.access, req.headers['content-type'], intake.bytes);
  const requestId = intake.audit.request_id;
  return {
    family: accepted.family,
    event: {
      topic: ctx.config.topicEvents,
      key: accepted.entityId,
      value: ctx.codec.encode(SCHEMA_NAMES.callaroEvent, toEventRecord(accepted, text, requestId, intake.audit.received_at)),
      headers: { 'callstream-request-id': requestId, 'callstream-family': accepted.family },
    },
    answer: { status: 202, body: { status: 'accepted', request_id: requestId, key: accepted.entityId, event: accepted.event.event } },
  };
}
