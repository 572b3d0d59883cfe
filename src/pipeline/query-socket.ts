import { existsSync, unlinkSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Warehouse } from '../warehouse/index.js';

/** The local socket through which `callstream query` reaches the process that owns the DuckDB file. */
export function querySocketPath(dataDir: string): string {
  return join(dataDir, 'callstream.sock');
}

/** Serves POST /query {sql} on a unix socket (file permissions are the access control). */
export async function serveQueries(path: string, warehouse: Warehouse, logger: Logger): Promise<Server> {
  if (existsSync(path)) unlinkSync(path); // a stale socket of a process that died
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const { sql } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sql: string };
      const rows = await warehouse.query(sql);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rows }));
    } catch (err) {
      const e = err instanceof CallstreamError ? err : new CallstreamError('WH_QUERY_FAILED', String(err), { cause: err });
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(e.toBody()));
    }
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  logger.info({ socket: path }, 'query socket ready');
  return server;
}

/** Sends a query to a running pipeline; undefined when none listens on the socket. */
export function queryOverSocket(path: string, sql: string): Promise<Record<string, unknown>[] | undefined> {
  if (!existsSync(path)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: '/query', method: 'POST', headers: { 'content-type': 'application/json' } }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (res.statusCode === 200) resolve(body.rows);
      else reject(new CallstreamError('WH_QUERY_FAILED', body.error?.message ?? 'query failed'));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(undefined);
      else reject(err);
    });
    req.end(JSON.stringify({ sql }));
  });
}
