import { mkdtempSync } from 'node:fs';
import { request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EraseReceipt, ErasureSubject } from '../../../src/erasure/index.js';
import { CallstreamError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { eraseOverSocket, serveQueries } from '../../../src/query-socket/index.js';
import type { Warehouse } from '../../../src/warehouse/index.js';

const path = join(mkdtempSync(join(tmpdir(), 'callstream-socket-')), 'callstream.sock');
const asked: Array<{ subject: ErasureSubject; dryRun: boolean }> = [];
let server: Server;

beforeAll(async () => {
  const warehouse = { kind: 'duckdb', query: async () => [] } as unknown as Warehouse;
  server = await serveQueries(path, warehouse, createLogger({ level: 'silent' }), async (req) => {
    if (req.subject.value === 'vs_unrecordable') throw new CallstreamError('ERASE_PUBLISH_FAILED');
    asked.push(req);
    return { subject: req.subject, key: 'k', dryRun: req.dryRun, matched: { callIds: [], callSids: [] }, rows: {}, total: 0, at: '' } satisfies EraseReceipt;
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** POSTs raw bytes to /erase; the status and the parsed answer. */
function postErase(body: string): Promise<{ status: number; body: { error?: { code: string; message: string; details?: { issues: Array<{ path: string; message: string }> } } } }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: '/erase', method: 'POST', headers: { 'content-type': 'application/json' } }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the query socket\'s /erase', () => {
  it.each([
    ['no dryRun', { subject: { kind: 'tenant', value: '44' } }, 'dryRun'],
    ['no subject', { dryRun: false }, 'subject'],
    ['an unknown kind', { subject: { kind: 'email', value: 'a@b' }, dryRun: false }, 'subject.kind'],
    ['a phone not in E.164', { subject: { kind: 'phone', value: '4155550100' }, dryRun: false }, 'subject.value'],
    ['a tenant that is no integer', { subject: { kind: 'tenant', value: 'acme' }, dryRun: false }, 'subject.value'],
    ['a call id with a space', { subject: { kind: 'call', value: 'vs 1' }, dryRun: false }, 'subject.value'],
    ['dryRun as a string', { subject: { kind: 'call', value: 'vs_1' }, dryRun: 'false' }, 'dryRun'],
    ['an unknown key', { subject: { kind: 'call', value: 'vs_1' }, dryRun: true, force: true }, ''],
    ['an array', [], ''],
  ])('answers 400 ERASE_REQUEST_INVALID naming what is wrong, and erases nothing: %s', async (_name, body, path) => {
    const answer = await postErase(JSON.stringify(body));
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('ERASE_REQUEST_INVALID');
    expect(answer.body.error?.details?.issues.map((i) => i.path)).toContain(path);
    expect(asked).toEqual([]);
  });

  it('answers 400 ERASE_REQUEST_INVALID to a body that is not JSON', async () => {
    const answer = await postErase('{"subject":');
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('ERASE_REQUEST_INVALID');
    expect(asked).toEqual([]);
  });

  it('answers a failed erasure with its error and code (the CLI prints it), not a hung 200', async () => {
    const answer = await postErase(JSON.stringify({ subject: { kind: 'call', value: 'vs_unrecordable' }, dryRun: false }));
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('ERASE_PUBLISH_FAILED');
    await expect(eraseOverSocket(path, { subject: { kind: 'call', value: 'vs_unrecordable' }, dryRun: false })).rejects.toMatchObject({ code: 'ERASE_PUBLISH_FAILED' });
  });

  it('erases on a valid request, as the CLI sends it', async () => {
    const receipt = await eraseOverSocket(path, { subject: { kind: 'phone', value: '+14155550100' }, dryRun: true });
    expect(receipt).toMatchObject({ dryRun: true, subject: { kind: 'phone', value: '+14155550100' } });
    expect(asked).toEqual([{ subject: { kind: 'phone', value: '+14155550100' }, dryRun: true }]);
  });
});
