import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { CallstreamError, ErrorCodes, type ErrorCode } from '../errors.js';
import { parseEraseRequest, type EraseReceipt, type ErasureSubject } from '../erasure/index.js';
import type { Logger } from '../logger.js';
import type { QueryAnswer } from '../warehouse/duckdb/duckdb-warehouse.js';
import type { Warehouse } from '../warehouse/index.js';

/** DuckDB's warehouse also says whether the row cap cut the answer; another one answers whole. */
type Queryable = Warehouse & { boundedQuery?(sql: string): Promise<QueryAnswer> };

/** The local socket through which `callstream query` reaches the process that owns the DuckDB file. */
export function querySocketPath(dataDir: string): string {
  return join(dataDir, 'callstream.sock');
}

/** `callstream erase` through the process that owns the warehouse: it also makes its sink honour the erasure at once. */
export type EraseHandler = (request: { subject: ErasureSubject; dryRun: boolean }) => Promise<EraseReceipt>;

/**
 * Serves POST /query {sql} -> {rows, truncated}, and POST /erase {subject, dryRun} -> the
 * receipt when the process runs a sink, on a unix socket (file permissions are the access
 * control: the socket is the owner's alone, mode 0600).
 */
export async function serveQueries(path: string, warehouse: Queryable, logger: Logger, erase?: EraseHandler): Promise<Server> {
  if (existsSync(path)) unlinkSync(path); // a stale socket of a process that died
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/erase') {
        if (!erase) throw new CallstreamError('ERASE_SUBJECT_INVALID', 'This process runs no sink: it cannot erase');
        const receipt = await erase(parseEraseRequest(text));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(receipt));
        return;
      }
      const { sql } = JSON.parse(text) as { sql: string };
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
export async function askOverSocket(path: string, sql: string): Promise<QueryAnswer | undefined> {
  const body = await postOverSocket<QueryAnswer>(path, '/query', { sql }, 'WH_QUERY_FAILED');
  return body && { rows: body.rows, truncated: body.truncated === true };
}

/** Erases through a running pipeline; undefined when none listens on the socket. */
export function eraseOverSocket(path: string, request: { subject: ErasureSubject; dryRun: boolean }): Promise<EraseReceipt | undefined> {
  return postOverSocket<EraseReceipt>(path, '/erase', request, 'WH_ERASE_FAILED');
}

function postOverSocket<T>(path: string, route: string, payload: unknown, fallbackCode: ErrorCode): Promise<T | undefined> {
  if (!existsSync(path)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: route, method: 'POST', headers: { 'content-type': 'application/json' } }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (res.statusCode === 200) return resolve(body as T);
      const code: ErrorCode = body.error?.code in ErrorCodes ? body.error.code : fallbackCode;
      reject(new CallstreamError(code, body.error?.message ?? `${route.slice(1)} failed`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(undefined);
      else reject(err);
    });
    req.end(JSON.stringify(payload));
  });
}
