import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Schedule } from './generator.js';
import type { Op } from './ops.js';
import { Rng } from './prng.js';
import type { Trace } from './trace.js';

/**
 * Sends a schedule's deliveries the way Callaro's contract says a sender behaves: at
 * least once (a 503, a lost connection or a timeout is retried with backoff until another
 * answer comes), no order across keys (several in flight), one key's deliveries one after
 * another. Every attempt is kept with its answer and the request id the receiver gave it.
 */

export interface Attempt {
  sentAt: number;
  answeredAt: number;
  /** The HTTP status, or why there was none (ECONNREFUSED, ECONNRESET, timeout, ...). */
  status: number | string;
  requestId?: string;
  code?: string;
  path?: string;
}

export interface OpResult {
  op: Op;
  attempts: Attempt[];
  /** The answer that ended the delivery. */
  final: Attempt;
}

export const answered = (a: Attempt): a is Attempt & { status: number } => typeof a.status === 'number';
export const isAck = (a: Attempt) => answered(a) && a.status >= 200 && a.status < 300;
const retriable = (a: Attempt) => !answered(a) || a.status === 503;

export interface SenderOptions {
  /** Longest a valid delivery is retried before the sender gives up (a finding). */
  deliveryDeadlineMs: number;
  /** Unanswered attempts of a delivery that must be refused (an oversized body whose connection keeps breaking). */
  refusedMaxAttempts: number;
  attemptTimeoutMs: number;
}

export class Sender {
  private url: string;
  /** How many deliveries have been dispatched; the fault runner waits on it. */
  dispatched = 0;
  private readonly waiters: Array<{ at: number; resolve: () => void }> = [];

  constructor(
    url: string,
    private readonly trace: Trace,
    private readonly options: SenderOptions = { deliveryDeadlineMs: 180_000, refusedMaxAttempts: 5, attemptTimeoutMs: 20_000 },
  ) {
    this.url = url;
  }

  /** Resolves once delivery `index` has been dispatched (or every delivery, if there are fewer). */
  reached(index: number): Promise<void> {
    if (this.dispatched >= index) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ at: index, resolve }));
  }

  /**
   * Sends every delivery. `gate(i)` may hold delivery i back (until the fault that starts
   * there has begun), so every fault meets load however long the one before it took.
   */
  async run(schedule: Schedule, gate: (index: number) => Promise<void> | undefined = () => undefined): Promise<OpResult[]> {
    const results: OpResult[] = [];
    // Per key: what the last delivery waits for, and what the next one must wait for.
    const chains = new Map<string, { before: Promise<unknown>; tail: Promise<unknown> }>();
    const running = new Set<Promise<unknown>>();
    let started = Date.now();
    for (const op of schedule.ops) {
      const held = gate(op.id);
      if (held) {
        const before = Date.now();
        await held;
        started += Date.now() - before; // the rate resumes where it stopped
      }
      const due = started + (op.id * 1000) / schedule.ratePerSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      while (running.size >= schedule.concurrency) await Promise.race(running);
      const chain = op.key ? chains.get(op.key) : undefined;
      const previous = op.concurrent ? chain?.before : chain?.tail;
      const task = (async () => {
        await previous;
        results.push(await this.deliver(op, schedule.seed));
      })();
      if (op.key) chains.set(op.key, op.concurrent ? { before: chain?.before ?? Promise.resolve(), tail: Promise.all([chain?.tail, task]) } : { before: chain?.tail ?? Promise.resolve(), tail: task });
      running.add(task);
      void task.finally(() => running.delete(task));
      this.dispatched = op.id + 1;
      for (const w of this.waiters.filter((w) => w.at <= this.dispatched)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    this.dispatched = Infinity;
    for (const w of this.waiters.splice(0)) w.resolve();
    await Promise.all(running);
    return results.sort((a, b) => a.op.id - b.op.id);
  }

  private async deliver(op: Op, seed: number): Promise<OpResult> {
    const rng = new Rng(seed * 7919 + op.id);
    const attempts: Attempt[] = [];
    const deadline = Date.now() + this.options.deliveryDeadlineMs;
    // A body that must be refused may keep losing its connection (an oversized upload cut off): bounded.
    const maxUnanswered = op.expect.status >= 400 ? this.options.refusedMaxAttempts : Infinity;
    for (let n = 0; ; n++) {
      const attempt = await this.post(op);
      attempts.push(attempt);
      if (!retriable(attempt) || Date.now() > deadline || attempts.filter((a) => !answered(a)).length >= maxUnanswered) break;
      await sleep(Math.min(2000, 100 * 2 ** Math.min(n, 5)) * (0.5 + rng.next() / 2));
    }
    const result = { op, attempts, final: attempts[attempts.length - 1] };
    // Every attempt's answer with the start of its request id, e.g. `503:1a2b3c4d 202:5e6f7a8b`.
    const answers = attempts.map((a) => `${a.status}${a.requestId ? `:${a.requestId.slice(0, 8)}` : ''}`).join(' ');
    const final = result.final;
    const detail = final.code ? ` ${final.code}${final.path ? ` @${final.path}` : ''}` : '';
    this.trace.delivery(op.id, attempts[0].sentAt, `#${op.id} ${op.label}${op.request.gzip ? ' (gzip)' : ''} -> ${answers}${detail}`);
    return result;
  }

  private post(op: Op): Promise<Attempt> {
    const { path, body, chunked, gzip } = op.request;
    const bytes = gzip ? gzipSync(body) : Buffer.from(body);
    const headers = gzip ? { ...op.request.headers, 'content-encoding': 'gzip' } : op.request.headers;
    const sentAt = Date.now();
    return new Promise((resolve) => {
      let done = false;
      const finish = (a: Omit<Attempt, 'sentAt' | 'answeredAt'>) => {
        if (done) return;
        done = true;
        resolve({ sentAt, answeredAt: Date.now(), ...a });
      };
      // The status line may arrive before the upload broke off (a 413 refused from Content-Length): it still counts.
      let early: { status: number; requestId?: string } | undefined;
      const req = request(
        `${this.url}${path}`,
        { method: 'POST', headers: chunked ? headers : { ...headers, 'content-length': bytes.length }, timeout: this.options.attemptTimeoutMs, agent: false },
        (res) => {
          early = { status: res.statusCode ?? 0, requestId: res.headers['x-request-id'] as string | undefined };
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          const settle = () => {
            let code: string | undefined;
            let fieldPath: string | undefined;
            try {
              const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: string; details?: { fields?: Array<{ path?: string }> } } };
              code = json.error?.code;
              fieldPath = json.error?.details?.fields?.[0]?.path;
            } catch {
              // not JSON: only the status counts
            }
            finish({ status: res.statusCode ?? 0, requestId: res.headers['x-request-id'] as string | undefined, code, path: fieldPath });
          };
          res.on('end', settle);
          res.on('error', settle); // cut off after the status line: the status still counts
          res.on('aborted', settle);
        },
      );
      req.on('timeout', () => {
        req.destroy();
        finish(early ?? { status: 'timeout' });
      });
      req.on('error', (err: NodeJS.ErrnoException) => finish(early ?? { status: err.code ?? 'error' }));
      if (chunked) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) req.write(bytes.subarray(i, i + 64 * 1024));
        req.end();
      } else {
        req.end(bytes);
      }
    });
  }

  /** Points later attempts at another address. */
  retarget(url: string): void {
    this.url = url;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
