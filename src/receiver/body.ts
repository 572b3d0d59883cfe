import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { CallstreamError } from '../errors.js';

export interface ReadBody {
  /** The body as the sender meant it (decompressed), or its first `limit` bytes. */
  bytes: Buffer;
  /** The body was larger than the limit (after decompression): bytes is a prefix. */
  tooLarge: boolean;
  /** Why the body could not be read: an unknown encoding or a broken compressed stream. */
  problem?: CallstreamError;
}

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length above the limit is
 * refused before reading; a chunked body is cut off as soon as it passes the limit; a
 * gzip or deflate body is decompressed with the limit applied to the decompressed bytes,
 * so a small zip bomb cannot grow past it.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<ReadBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.resolve({ bytes: Buffer.alloc(0), tooLarge: true });
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return readLimited(req, req, limit);
  if (encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate') {
    const decoder = encoding === 'deflate' ? createInflate() : createGunzip();
    req.pipe(decoder);
    return readLimited(req, decoder, limit).catch((cause) => ({
      bytes: Buffer.alloc(0),
      tooLarge: false,
      problem: new CallstreamError('RCV_MALFORMED_JSON', `The body is not valid ${encoding} data.`, { cause }),
    }));
  }
  return readLimited(req, req, limit).then((body) => ({
    ...body,
    problem: new CallstreamError('RCV_UNSUPPORTED_ENCODING', `Content-Encoding "${encoding}" is not supported; expected gzip, deflate or identity.`),
  }));
}

function readLimited(req: IncomingMessage, source: Readable, limit: number): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      fn();
    };
    const onData = (chunk: Buffer) => {
      const room = limit - size;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        req.pause();
        if (source !== req) source.destroy();
        settle(() => resolve({ bytes: Buffer.concat(chunks), tooLarge: true }));
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    };
    source.on('data', onData);
    source.once('end', () => settle(() => resolve({ bytes: Buffer.concat(chunks), tooLarge: false })));
    source.once('error', (err) => settle(() => reject(err)));
    req.once('close', () => {
      if (!req.complete) settle(() => reject(new Error('client closed the connection before the body was complete')));
    });
  });
}
