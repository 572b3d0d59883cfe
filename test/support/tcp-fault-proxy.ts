import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of a service, for protocols FaultProxy (HTTP only) cannot
 * see into, such as the emulator's Storage Write API over gRPC (HTTP/2). It can act down
 * (every connection dropped, new ones refused at once) or lose the replies for a while: the
 * requests reach the service, which acts on them, and the client never hears back until the
 * connections are dropped (a reply lost in the network).
 */
export class TcpFaultProxy {
  private server?: Server;
  private down = false;
  private losingReplies = false;
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Connections refused while down, and reply chunks swallowed. */
  refused = 0;
  swallowed = 0;

  constructor(private readonly target: string) {}

  /** Listens on a free port; returns host:port. */
  async start(): Promise<string> {
    const [host, port] = this.target.split(':');
    this.server = createServer((client) => {
      if (this.down) {
        this.refused++;
        client.destroy();
        return;
      }
      const upstream = connect({ host, port: Number(port) });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => {
        if (this.losingReplies) this.swallowed++;
        else client.write(chunk);
      });
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const s of pair) {
        s.on('error', end);
        s.on('close', end);
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Drops every connection and refuses new ones until up(). */
  goDown(): void {
    this.down = true;
    this.dropAll();
  }

  up(): void {
    this.down = false;
    this.losingReplies = false;
  }

  /** For ms, forwards requests but swallows replies; then drops the connections and passes again. */
  async loseReplies(ms: number): Promise<void> {
    this.losingReplies = true;
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.dropAll();
    this.losingReplies = false;
  }

  private dropAll(): void {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
