import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { CallstreamError, ErrorCodes, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { QueryAnswer } from '../warehouse/duckdb/duckdb-warehouse.js';
import type { Warehouse } from '../warehouse/index.js';

/** DuckDB's warehouse also says whether the row cap cut the answer; another one answers whole. */
type Queryable = Warehouse & { boundedQuery?(sql: string): Promise<QueryAnswer> };

/** The local socket through which `callstream query` reaches the process that owns the DuckDB file. */
export function querySocketPath(dataDir: string): string {
  return join(dataDir, 'callstream.sock');
}

/**
 * Serves POST /query {sql} -> {rows, truncated} on a unix socket (file permissions are the
 * access control: the socket is the owner's alone, mode 0600).
 */
export async function serveQueries(path: string, warehouse: Queryable, logger: Logger): Promise<Server> {
  if (existsSync(path)) unlinkSync(path); // a stale socket of a process that died
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const { sql } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sql: string };
      const answer = warehouse.boundedQuery ? await warehouse.boundedQuery(sql) : { rows: await warehouse.query(sql), truncated: false };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    } catch (err) {
      const e = err instanceof CallstreamError ? err : new CallstreamError('WH_QUERY_FAILED', String(err), { cause: err });
      res.writeHead(e.status, { 'content-type': 'application/json' }).end(JSON.stringify(e.toBody()));
    }
  });
  const listening = new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  // listen() binds the path before it returns, and no connection is handled before this
  // tick ends: chmod now, before any client is served (the umask may have left it open to others).
  if (server.listening) chmodSync(path, 0o600);
  await listening;
  logger.info({ socket: path }, 'query socket ready');
  return server;
}

/** Sends a query to a running pipeline; undefined when none listens on the socket. */
export async function queryOverSocket(path: string, sql: string): Promise<Record<string, unknown>[] | undefined> {
  return (await askOverSocket(path, sql))?.rows;
}

/** queryOverSocket() with the answer's `truncated`; a refusal keeps the pipeline's error code. */
export function askOverSocket(path: string, sql: string): Promise<QueryAnswer | undefined> {
  if (!existsSync(path)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: '/query', method: 'POST', headers: { 'content-type': 'application/json' } }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (res.statusCode === 200) return resolve({ rows: body.rows, truncated: body.truncated === true });
      const code: ErrorCode = body.error?.code in ErrorCodes ? body.error.code : 'WH_QUERY_FAILED';
      reject(new CallstreamError(code, body.error?.message ?? 'query failed'));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(undefined);
      else reject(err);
    });
    req.end(JSON.stringify({ sql }));
  });
}
