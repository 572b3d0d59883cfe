import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { CallstreamError, type ErrorCode } from '../errors.js';
import { activeTracer, carriesTrace, contextFromHeaders, setSpan, SpanKind, SpanStatusCode, traceHeaders, tracingOn, unsampled, withContext } from '../tracing/index.js';
import { REDACTED } from './audit.js';
import { CALLARO_PATH, handleCallaroWebhook } from './callaro-route.js';
import { sendError, sendJson, type RouteContext } from './route-context.js';
import { handleTelephonyCallback, TELEPHONY_PREFIX } from './telephony-route.js';

export interface Readiness {
  ready: boolean;
  components: Record<string, boolean>;
}

export interface ReceiverOptions {
  ctx: RouteContext;
  /** Serve the webhook routes (false: only /healthz, /readyz and /metrics, for a sink-only process). */
  webhooks?: boolean;
  /** Whether every dependency is connected (the receiver's own listening state is added). */
  readiness: () => Readiness;
}

/** `rest` is what follows a prefix route's path (a route ending in "/"), e.g. a secret path segment. */
type Handler = (req: IncomingMessage, res: ServerResponse, requestId: string, rest?: string) => Promise<void> | void;

/**
 * The HTTP receiver: routes, health endpoints, and a shutdown that lets in-flight
 * requests finish (new ones get 503 so the sender retries elsewhere or later).
 */
export class Receiver {
  readonly server: Server;
  private readonly routes = new Map<string, Map<string, Handler>>();
  private inFlight = 0;
  private closing = false;
  private idle: (() => void) | undefined;

  constructor(private readonly options: ReceiverOptions) {
    const { ctx } = options;
    if (options.webhooks ?? true) {
      const callaro: Handler = (req, res, id, rest) => handleCallaroWebhook(ctx, req, res, id, rest);
      this.route('POST', CALLARO_PATH, callaro);
      if (ctx.config.secretPath) this.route('POST', `${CALLARO_PATH}/`, callaro); // /callaro/webhooks/<secret path segment>
      this.route('POST', TELEPHONY_PREFIX, (req, res, id) => handleTelephonyCallback(ctx, req, res, id));
    }
    this.route('GET', '/metrics', async (_req, res) => {
      const { contentType, body } = await ctx.metrics.render();
      res.writeHead(200, { 'content-type': contentType }).end(body);
    });
    this.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
    this.route('GET', '/readyz', (_req, res) => {
      const r = this.readiness();
      sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', components: r.components });
    });
    // Checked every second (Node's default is 30 s), so requestTimeout bites on time.
    this.server = createServer({ connectionsCheckingInterval: Math.min(1_000, ctx.config.bodyTimeoutMs) }, (req, res) => void this.dispatch(req, res));
    // A client that trickles its body is cut off (408 and the connection closed).
    this.server.requestTimeout = ctx.config.bodyTimeoutMs;
    this.server.headersTimeout = Math.min(ctx.config.bodyTimeoutMs, 60_000);
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
  }

  /**
   * What Node's parser refuses before a request exists (a timeout, headers over the size
   * limit, bytes that are not HTTP) gets the same JSON error body as every other refusal,
   * instead of Node's bare status line; then the connection is closed.
   */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const response = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || response?.headersSent) {
      socket.destroy();
      return;
    }
    const code: ErrorCode =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'RCV_BODY_TIMEOUT' : err.code === 'HPE_HEADER_OVERFLOW' ? 'RCV_HEADERS_TOO_LARGE' : 'RCV_MALFORMED_HTTP';
    const error = new CallstreamError(code);
    const body = JSON.stringify(error.toBody());
    const reason = { 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[error.status as 408 | 431] ?? 'Bad Request';
    this.options.ctx.metrics.httpRequests.inc({ route: 'client_error', status: String(error.status) });
    socket.end(
      `HTTP/1.1 ${error.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${randomUUID()}\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  readiness(): Readiness {
    const r = this.options.readiness();
    const listening = this.server.listening && !this.closing;
    return { ready: r.ready && listening, components: { receiver: listening, ...r.components } };
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.options.ctx.config;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting connections and waits for in-flight requests (bounded by timeoutMs). */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const drained = this.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.idle = resolve));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    await closed;
  }

  /**
   * Registers a handler. A path ending in "/" serves every path below it; its metrics
   * label is that prefix, never the full path, so URLs (vendor slugs) cannot make the
   * label set grow without bound.
   */
  private route(method: string, path: string, handler: Handler): void {
    let byMethod = this.routes.get(path);
    if (!byMethod) this.routes.set(path, (byMethod = new Map()));
    byMethod.set(method, handler);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
    const matched = this.routes.has(path) ? path : [...this.routes.keys()].find((p) => p.endsWith('/') && path.startsWith(p));
    const byMethod = matched === undefined ? undefined : this.routes.get(matched);
    const started = process.hrtime.bigint();
    const route = matched ?? 'unmatched';
    const rest = matched?.endsWith('/') ? path.slice(matched.length) : undefined;
    // The path as logs and spans show it: a secret path segment is a credential, never shown.
    const shownPath = matched === `${CALLARO_PATH}/` ? `${CALLARO_PATH}/${REDACTED}` : path;
    res.once('finish', () => {
      this.options.ctx.metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      this.options.ctx.metrics.httpDuration.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    if (!byMethod) return this.refuse(req, res, new CallstreamError('RCV_NOT_FOUND', `No route ${path}; Callaro's webhooks go to POST ${CALLARO_PATH}, provider callbacks to POST ${TELEPHONY_PREFIX}{vendor_slug}.`));
    const handler = byMethod.get(req.method ?? '');
    if (!handler) {
      res.setHeader('allow', [...byMethod.keys()].join(', '));
      return this.refuse(req, res, new CallstreamError('RCV_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${shownPath}; allowed: ${[...byMethod.keys()].join(', ')}.`));
    }
    if (this.closing && req.method === 'POST') {
      return this.refuse(req, res, new CallstreamError('RCV_SHUTTING_DOWN'), { connection: 'close' });
    }
    this.inFlight++;
    try {
      if (tracingOn() && req.method === 'POST') await this.traced(req, res, route, shownPath, () => handler(req, res, requestId, rest), requestId);
      else await handler(req, res, requestId, rest);
    } catch (err) {
      // A CallstreamError thrown this far says what happened; anything else is a fault of ours
      // (RCV_INTERNAL_ERROR), not the broker's: the log line keeps the cause under the id the sender saw.
      const answer = err instanceof CallstreamError ? err : new CallstreamError('RCV_INTERNAL_ERROR', undefined, { cause: err });
      this.options.ctx.logger.error({ err, requestId, path: shownPath, code: answer.code }, 'request failed');
      this.options.ctx.metrics.rejected.inc({ code: answer.code });
      if (!res.headersSent) sendError(res, answer);
      else res.destroy();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0 && this.idle) this.idle();
    }
  }

  /**
   * A webhook in its span (tracing on): the child of the request's `traceparent` when it has
   * one, so the sender's trace goes on here; the route's steps (read, verify, validate,
   * publish) are its children, and the log lines written meanwhile carry its trace id.
   */
  private async traced(req: IncomingMessage, res: ServerResponse, route: string, path: string, handle: () => Promise<void> | void, requestId: string): Promise<void> {
    const parent = contextFromHeaders(req.headers);
    // No attributes at the start: the SDK copies and checks them before it samples, and most
    // webhooks are not sampled (the configurable samplers decide on the trace id alone).
    const span = activeTracer().startSpan(`POST ${route}`, { kind: SpanKind.SERVER }, parent);
    if (!span.isRecording()) {
      // Not sampled: no span is kept, so none is made active and no step is recorded. A sender's
      // trace (an incoming traceparent) is still carried on in the records, sampled flag off, for
      // the next hop to honour; a trace that started here and was dropped exists nowhere, so its
      // records carry nothing (and the sink links to nothing).
      unsampled.set(res, carriesTrace(parent) ? traceHeaders(setSpan(parent, span)) : {});
      return handle();
    }
    span.setAttributes({ 'http.request.method': 'POST', 'http.route': route, 'url.path': path, 'callstream.request_id': requestId });
    await withContext(setSpan(parent, span), async () => {
      try {
        await handle();
        this.options.ctx.logger.debug({ requestId, status: res.statusCode }, 'webhook answered');
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        throw err;
      } finally {
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    });
  }

  /** Answers an error without reading the body; the connection is closed if a body is pending. */
  private refuse(req: IncomingMessage, res: ServerResponse, err: CallstreamError, headers: Record<string, string> = {}): void {
    const pendingBody = !req.complete;
    sendError(res, err, pendingBody ? { connection: 'close', ...headers } : headers);
    req.resume();
  }
}
