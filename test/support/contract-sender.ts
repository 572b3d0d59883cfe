import { request } from 'node:http';

/**
 * A sender that behaves the way Callaro's delivery contract says: at least once (it
 * retries non-2xx answers, connection errors and timeouts with backoff until a 2xx),
 * duplicates some deliveries on purpose, and keeps no order across calls. It remembers
 * which bodies got a 2xx: the warehouse must hold exactly those.
 */
export interface Delivery {
  key: string;
  /** Versions of the event, sent one after another (each only after the previous got a 2xx). */
  versions: object[];
}

export interface SenderStats {
  attempts: number;
  acknowledged: number;
  duplicatesSent: number;
  statuses: Record<string, number>;
}

export class ContractSender {
  readonly stats: SenderStats = { attempts: 0, acknowledged: 0, duplicatesSent: 0, statuses: {} };
  /** Every answer with the time it arrived, for checks against an outage window. */
  readonly answers: Array<{ status: number | string; at: number }> = [];
  /** The last acknowledged version per key. */
  readonly newest = new Map<string, object>();
  private random: () => number;

  constructor(
    private url: string,
    private readonly options: { concurrency?: number; timeoutMs?: number; duplicateRate?: number; maxAttemptMs?: number; seed?: number } = {},
  ) {
    let s = options.seed ?? 7;
    this.random = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
  }

  /** Points later attempts at another address (a restarted receiver). */
  retarget(url: string): void {
    this.url = url;
  }

  /** Delivers everything; calls in a shuffled order and in parallel, versions of one call in order. */
  async run(deliveries: Delivery[]): Promise<void> {
    const queue = [...deliveries].sort(() => this.random() - 0.5);
    const workers = Array.from({ length: this.options.concurrency ?? 8 }, async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        for (const version of d.versions) {
          await this.deliver(version);
          this.newest.set(d.key, version);
          if (this.random() < (this.options.duplicateRate ?? 0.1)) {
            this.stats.duplicatesSent++;
            await this.deliver(version);
          }
        }
      }
    });
    await Promise.all(workers);
  }

  /** Sends one body until it gets a 2xx (bounded by maxAttemptMs in total). */
  async deliver(body: object): Promise<void> {
    const deadline = Date.now() + (this.options.maxAttemptMs ?? 90_000);
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      this.stats.attempts++;
      const status = await this.post(text);
      this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + 1;
      this.answers.push({ status, at: Date.now() });
      if (typeof status === 'number' && status >= 200 && status < 300) {
        this.stats.acknowledged++;
        return;
      }
      if (Date.now() > deadline) throw new Error(`delivery not acknowledged in time; last answer ${status}`);
      const delay = Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + this.random() / 2);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private post(text: string): Promise<number | string> {
    return new Promise((resolve) => {
      const req = request(
        `${this.url}/callaro/webhooks`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }, timeout: this.options.timeoutMs ?? 5000, agent: false },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve('reset'));
        },
      );
      req.on('timeout', () => {
        req.destroy();
        resolve('timeout');
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      req.end(text);
    });
  }
}

/** Calls with one or two versions of their call.completed event (about a third get a second version). */
export function deliveriesFor(count: number, build: (n: number, version: number) => object, offset = 0): Delivery[] {
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i;
    const versions = [build(n, 1)];
    if (n % 3 === 0) versions.push(build(n, 2));
    return { key: `vs_${n}`, versions };
  });
}
