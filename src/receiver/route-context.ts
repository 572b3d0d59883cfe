import type { ServerResponse } from 'node:http';
import type { AvroCodec } from '../codec/index.js';
import type { Config, TelephonyVendors } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import type { OutgoingMessage, Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';
import type { AccessPolicy } from './auth/index.js';
import type { ReceiptClock } from './receipt-clock.js';

/** Seconds a client is asked to wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** What a route handler needs, passed inward once. */
export interface RouteContext {
  config: Config;
  /** The vendors the provider-callback route accepts, by slug. */
  telephonyVendors: TelephonyVendors;
  codec: AvroCodec;
  publisher: Publisher;
  logger: Logger;
  metrics: Metrics;
  access: AccessPolicy;
  /** Stamps received_at (receipt-clock.ts). */
  clock: ReceiptClock;
}

export type Answer = CallstreamError | { status: number; body: unknown };

/** Sends a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: CallstreamError, headers: Record<string, string> = {}): void {
  const extra = err.status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS), ...headers } : headers;
  sendJson(res, err.status, err.toBody(), extra);
}

/** What to publish instead, and answer, when a publish failed in a way `retry` knows how to handle. */
export interface Fallback {
  messages: OutgoingMessage[];
  answer: Answer;
}

/**
 * Publishes the request's records and only then answers: with `answer` once the broker
 * acknowledged them, with 503 + Retry-After when it did not within the publish timeout.
 * `retry` may turn a failure into other records to publish and another answer (once).
 * `closeConnection` is for bodies left unread (413): the socket cannot be reused.
 * Resolves true when the answer sent is `answer` (or the fallback's), false for a 503, whose log
 * line names `requestId`, the X-Request-Id the sender got.
 */
export async function publishThenAnswer(
  ctx: RouteContext,
  res: ServerResponse,
  requestId: string,
  messages: OutgoingMessage[],
  answer: Answer,
  closeConnection = false,
  retry: (err: unknown) => Fallback | undefined = () => undefined,
): Promise<boolean> {
  const headers: Record<string, string> = closeConnection ? { connection: 'close' } : {};
  const deadline = Date.now() + ctx.config.publishTimeoutMs;
  let final = answer;
  try {
    await publishWithin(ctx, messages, deadline);
  } catch (cause) {
    const fallback = retry(cause);
    try {
      if (!fallback) throw cause;
      final = fallback.answer;
      await publishWithin(ctx, fallback.messages, deadline);
    } catch (failure) {
      const err = failure instanceof CallstreamError && failure.code === 'RCV_BROKER_UNAVAILABLE' ? failure : new CallstreamError('RCV_BROKER_UNAVAILABLE', undefined, { cause: failure });
      ctx.logger.warn({ err: failure, code: err.code, requestId }, 'answering 503: records not acknowledged');
      ctx.metrics.rejected.inc({ code: err.code });
      sendError(res, err, headers);
      return false;
    }
  }
  if (final instanceof CallstreamError) sendError(res, final, headers);
  else sendJson(res, final.status, final.body, headers);
  return true;
}

/** Publishes, or rejects with RCV_BROKER_UNAVAILABLE at the deadline. */
async function publishWithin(ctx: RouteContext, messages: OutgoingMessage[], deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ctx.publisher.publish(messages),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CallstreamError('RCV_BROKER_UNAVAILABLE', `The broker did not acknowledge within ${ctx.config.publishTimeoutMs} ms; retry later.`)),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
