import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode = 'pass' | 'http500' | 'http429' | 'http401' | 'down';

/**
 * An HTTP proxy on loopback in front of a service (the BigQuery emulator, the schema
 * registry) that can fail on demand: answer 500, 429 or 401 (with BigQuery-shaped error
 * bodies), or drop connections as if the service were down. Counts what it refused.
 */
export class FaultProxy {
  mode: FaultMode = 'pass';
  refused = 0;
  private server?: Server;

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    const target = new URL(this.target);
    this.server = createServer((req, res) => {
      if (this.mode === 'down') {
        this.refused++;
        req.socket.destroy();
        return;
      }
      if (this.mode === 'http500' || this.mode === 'http429' || this.mode === 'http401') {
        this.refused++;
        const status = { http500: 500, http429: 429, http401: 401 }[this.mode];
        const reason = { 500: 'backendError', 429: 'rateLimitExceeded', 401: 'unauthorized' }[status];
        req.resume();
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: status, message: `injected ${reason}`, errors: [{ reason, message: `injected ${reason}` }] } }));
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
