import type { IncomingMessage } from 'node:http';

export interface ReadBody {
  bytes: Buffer;
  /** The body was larger than the limit: bytes holds the first `limit` bytes only. */
  tooLarge: boolean;
}

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length above the limit
 * is refused before reading; a chunked body is cut off as soon as it passes the limit.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<ReadBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.resolve({ bytes: Buffer.alloc(0), tooLarge: true });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: ReadBody) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      const room = limit - size;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        req.pause();
        finish({ bytes: Buffer.concat(chunks), tooLarge: true });
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    };
    req.on('data', onData);
    req.once('end', () => finish({ bytes: Buffer.concat(chunks), tooLarge: false }));
    req.once('error', (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    req.once('close', () => {
      if (!settled && !req.complete) {
        settled = true;
        reject(new Error('client closed the connection before the body was complete'));
      }
    });
  });
}
