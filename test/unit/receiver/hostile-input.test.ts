import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exampleCallCompleted } from '../../support/fixtures.js';
import { startTestReceiver } from '../../support/receiver-harness.js';

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness;
const LIMIT = 1024 * 1024;

beforeAll(async () => {
  h = await startTestReceiver({ maxBodyBytes: LIMIT, bodyTimeoutMs: 1000 });
});
afterAll(() => h.close());
beforeEach(() => {
  h.publisher.messages = [];
});

async function post(body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body as BodyInit });
  const json = (await res.json()) as { error?: { code: string; details?: { fields: Array<{ path: string }> } } };
  return { status: res.status, code: json.error?.code, fields: json.error?.details?.fields.map((f) => f.path) };
}

const call = (extra: Record<string, unknown> = {}) => JSON.stringify({ ...exampleCallCompleted(), ...extra });

describe('bad and hostile input: exact answers, nothing lost, no crash', () => {
  it.each([
    { name: 'an empty body', body: '', status: 400, code: 'RCV_EMPTY_BODY' },
    { name: 'a JSON array', body: '[1,2,3]', status: 400, code: 'RCV_NOT_AN_OBJECT' },
    { name: 'a JSON scalar', body: '"call.completed"', status: 400, code: 'RCV_NOT_AN_OBJECT' },
    { name: 'a raw NUL byte', body: '{"event":"call.completed","call_id":"a\u0000b"}', status: 400, code: 'RCV_MALFORMED_JSON' },
    { name: 'an escaped NUL in a value', body: '{"event":"call.completed","call_id":"a\\u0000b"}', status: 400, code: 'RCV_NUL_CHARACTER' },
    { name: 'an escaped NUL in a key', body: '{"event":"call.completed","call_id":"a","x\\u0000":1}', status: 400, code: 'RCV_NUL_CHARACTER' },
    { name: 'nesting 10,000 deep', body: `{"event":"call.completed","call_id":"d","extracted_data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`, status: 400, code: 'RCV_NESTING_TOO_DEEP' },
  ])('$name -> $status $code', async ({ body, status, code }) => {
    expect(await post(body)).toMatchObject({ status, code });
    expect(h.audit()).toHaveLength(1);
    expect(h.events()).toHaveLength(0);
  });

  // Values the warehouse would refuse after the 202 (the sink used to retry such a row forever).
  it.each([
    { name: 'a lone surrogate in extracted_data', body: '{"event":"call.completed","call_id":"c1","extracted_data":{"n":"\\ud800"}}', path: 'extracted_data.n' },
    { name: 'a lone surrogate in a runtime_vars key', body: '{"event":"call.completed","call_id":"c1","runtime_vars":{"\\udc00":"v"}}', path: 'runtime_vars.\ufffd' },
    { name: 'a lone surrogate inside tool_calls', body: '{"event":"call.completed","call_id":"c1","tool_calls":[{"name":"x","args":{"q":"\\udbff"}}]}', path: 'tool_calls.0.args.q' },
    { name: 'a lone surrogate in an unknown top-level field', body: '{"event":"call.completed","call_id":"c1","extra":"\\ud800"}', path: 'extra' },
    { name: 'a lone surrogate in the call id', body: '{"event":"call.completed","call_id":"c\\ud800"}', path: 'call_id' },
    { name: 'a non-finite number', body: '{"event":"call.completed","call_id":"c1","extracted_data":{"n":1e400}}', path: 'extracted_data.n' },
    { name: 'an integer past int64', body: '{"event":"call.completed","call_id":"c1","tool_calls":[{"n":123456789012345678901234}]}', path: 'tool_calls.0.n' },
  ])('$name -> 422 RCV_UNSTORABLE_VALUE naming $path, the raw bytes kept', async ({ body, path }) => {
    expect(await post(body)).toMatchObject({ status: 422, code: 'RCV_UNSTORABLE_VALUE', fields: [path] });
    expect(h.audit()).toHaveLength(1);
    expect(h.audit()[0]).toMatchObject({ status: 422, error_code: 'RCV_UNSTORABLE_VALUE' });
    expect((h.audit()[0].body as Buffer).toString('utf8')).toBe(body);
    expect(h.events()).toHaveLength(0);
  });

  it('invalid UTF-8 -> 400, and its bytes are kept as they came', async () => {
    const bytes = Buffer.concat([Buffer.from('{"event":"call.completed","call_id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expect(await post(bytes)).toMatchObject({ status: 400, code: 'RCV_MALFORMED_JSON' });
    expect(Buffer.compare(h.audit()[0].body as Buffer, bytes)).toBe(0);
  });

  it('a UTF-8 BOM is accepted', async () => {
    expect((await post(`\ufeff${call()}`)).status).toBe(202);
  });

  it('duplicate keys: accepted, the last one wins (as in JSON.parse); the raw bytes keep both', async () => {
    expect(await post('{"event":"call.completed","call_id":"first","call_id":"second"}')).toMatchObject({ status: 202 });
    expect(h.events()[0].call_id).toBe('second');
    expect(String(h.events()[0].payload)).toContain('"first"');
  });

  it('__proto__ and constructor keys are data, not prototype pollution', async () => {
    const res = await post('{"event":"call.completed","call_id":"p","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"extracted_data":{"__proto__":{"polluted":true}}}');
    expect(res.status).toBe(202);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(String(h.events()[0].payload)).toContain('__proto__');
  });

  it('a 100,000-element tool_calls within the size limit is accepted whole', async () => {
    const res = await post(call({ tool_calls: Array.from({ length: 100_000 }, (_, i) => i) }));
    expect(res.status).toBe(202);
    expect(JSON.parse(String(h.events()[0].tool_calls))).toHaveLength(100_000);
  });

  it('integers beyond 2^53 in voice_session_id or tenant_id -> 422 naming the field, never a rounded value', async () => {
    const res = await post('{"event":"call.completed","call_id":"big","voice_session_id":9007199254740993,"tenant_id":18446744073709551615}');
    expect(res).toMatchObject({ status: 422, code: 'RCV_UNSTORABLE_VALUE' });
    expect([...new Set(res.fields)].sort()).toEqual(['tenant_id', 'voice_session_id']);
  });

  it('gzip bodies are accepted; deflate too', async () => {
    expect((await post(gzipSync(call()), { 'content-encoding': 'gzip' })).status).toBe(202);
    expect(h.events()[0].call_id).toBe('vs_12345');
    const { deflateSync } = await import('node:zlib');
    expect((await post(deflateSync(call()), { 'content-encoding': 'deflate' })).status).toBe(202);
  });

  it('a zip bomb gets 413: the limit applies to the decompressed bytes', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)); // 64 MiB of spaces, about 64 KiB compressed
    expect(bomb.length).toBeLessThan(LIMIT);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 5; i++) expect(await post(bomb, { 'content-encoding': 'gzip' })).toMatchObject({ status: 413, code: 'RCV_PAYLOAD_TOO_LARGE' });
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    expect(h.audit()[0]).toMatchObject({ truncated: true, status: 413 });
  });

  it('broken gzip -> 400; an unknown encoding -> 415', async () => {
    expect(await post(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' })).toMatchObject({ status: 400, code: 'RCV_MALFORMED_JSON' });
    expect(await post(call(), { 'content-encoding': 'br' })).toMatchObject({ status: 415, code: 'RCV_UNSUPPORTED_ENCODING' });
  });

  it('a client that trickles its body is timed out and disconnected', async () => {
    const port = Number(new URL(h.url).port);
    const outcome = await new Promise<{ response: string; closedAfterMs: number }>((resolve) => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1');
      let response = '';
      socket.on('data', (d) => (response += d.toString()));
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ response, closedAfterMs: Date.now() - started });
      });
      socket.write('POST /callaro/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
      const drip = setInterval(() => socket.write(' '), 200);
    });
    expect(outcome.response).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(outcome.response.split('\r\n\r\n')[1])).toMatchObject({ error: { code: 'RCV_BODY_TIMEOUT' } });
    expect(outcome.closedAfterMs).toBeLessThan(5_000);
  });

  it('what is not HTTP, or has oversized headers, gets a JSON error too (400, 431) and the connection is closed', async () => {
    const port = Number(new URL(h.url).port);
    const exchange = (bytes: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let response = '';
        socket.on('data', (d) => (response += d.toString()));
        socket.on('close', () => resolve(response));
        socket.write(bytes);
      });
    const garbage = await exchange('HELLO THERE\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);
    expect(JSON.parse(garbage.split('\r\n\r\n')[1])).toMatchObject({ error: { code: 'RCV_MALFORMED_HTTP' } });
    const huge = await exchange(`POST /callaro/webhooks HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431/);
    expect(JSON.parse(huge.split('\r\n\r\n')[1])).toMatchObject({ error: { code: 'RCV_HEADERS_TOO_LARGE' } });
    expect((await post(call())).status).toBe(202);
  });

  it('never answers 5xx to client errors and keeps serving', async () => {
    const statuses = await Promise.all([
      post(''),
      post('{'),
      post('[]'),
      post(call({ tenant_id: 'x' })),
      post(Buffer.from([0xc3, 0x28])),
      fetch(`${h.url}/callaro/webhooks`, { method: 'PUT' }).then((r) => ({ status: r.status })),
      fetch(`${h.url}/anything`).then((r) => ({ status: r.status })),
    ]);
    expect(statuses.every((s) => s.status >= 400 && s.status < 500)).toBe(true);
    expect((await post(call())).status).toBe(202);
  });
});
