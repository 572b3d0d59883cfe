import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTelephonyVendors } from '../../../src/config/index.js';
import { ErrorCodes } from '../../../src/errors.js';
import { callaroEvent } from '../../support/callaro-arbitraries.js';
import { exampleCallCompleted } from '../../support/fixtures.js';
import { startTestReceiver } from '../../support/receiver-harness.js';

/**
 * schemas/openapi.json against the real Receiver: the same routes both ways, every RCV_ code
 * in the document, and real answers valid against the documented responses.
 */

type Json = Record<string, any>;
const doc: Json = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/openapi.json', import.meta.url)), 'utf8'));

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/**
 * Documented answers this test's receiver does not give: 401/403 of the Callaro route need
 * access control configured (test/unit/receiver/access-control.test.ts covers them), and
 * 408 and 431 need a client that stalls or sends oversized headers, answered by the server's
 * clientError handler (hostile-input.test.ts).
 */
const NOT_SERVED_HERE = new Set([
  'post /callaro/webhooks 401',
  'post /callaro/webhooks 403',
  'post /callaro/webhooks 408',
  'post /api/v1/webhooks/telephony/{vendor_slug} 408',
  'post /api/v1/webhooks/telephony/{vendor_slug}/sample 408',
  'post /callaro/webhooks 431',
  'post /api/v1/webhooks/telephony/{vendor_slug} 431',
  'post /api/v1/webhooks/telephony/{vendor_slug}/sample 431',
]);

/** Prefix routes of the Receiver and the templated paths the document gives them. */
const PREFIX_ROUTES: Record<string, string[]> = {
  'post /api/v1/webhooks/telephony/': ['post /api/v1/webhooks/telephony/{vendor_slug}', 'post /api/v1/webhooks/telephony/{vendor_slug}/sample'],
};
const RELAY_TOKEN = 'relay-token-0123456789';
const vendors = parseTelephonyVendors({ vendors: { relay: { scheme: 'bearer', secrets: [{ value: RELAY_TOKEN }] } } });
const concrete = (path: string) => path.replace('{vendor_slug}', 'relay');

// ajv validates the document's schemas (JSON Schema 2020-12, OpenAPI 3.1's dialect) by JSON
// pointer into the whole document, so their internal $refs resolve as in any OpenAPI tool.
const DOC_ID = 'https://callstream.invalid/openapi.json';
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
for (const keyword of ['openapi', 'info', 'servers', 'paths', 'components']) ajv.addKeyword(keyword);
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
ajv.addSchema(doc, DOC_ID);

const pointer = (...parts: string[]) => parts.map((p) => `/${p.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
const validatorAt = (jsonPointer: string) => ajv.compile({ $ref: `${DOC_ID}#${jsonPointer}` });

/** Follows a local $ref ("#/components/..."), returning the object and its JSON pointer. */
function resolve(value: Json, at: string): { value: Json; at: string } {
  if (typeof value.$ref !== 'string') return { value, at };
  const target = value.$ref.slice(1);
  const found = target
    .split('/')
    .slice(1)
    .reduce((node: Json, part: string) => node[part.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
  return resolve(found, target);
}

const documentedOperations = () =>
  Object.entries(doc.paths as Json).flatMap(([path, item]) => HTTP_METHODS.filter((m) => m in item).map((method) => ({ path, method })));

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness;

beforeAll(async () => {
  h = await startTestReceiver({ maxBodyBytes: 4096 }, vendors);
});
afterAll(() => h.close());

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function send(method: string, path: string, init: { body?: string; contentType?: string; token?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = init.contentType ? { 'content-type': init.contentType } : {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(`${h.url}${path}`, { method: method.toUpperCase(), headers, body: init.body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Asserts that an answer is one the document describes at `responsePointer`: headers, media type, body. */
function expectDocumented(answer: Answer, responsePointer: string): void {
  const { value: response, at } = resolve(resolve({ $ref: `#${responsePointer}` }, '').value, responsePointer);
  for (const [name, header] of Object.entries((response.headers ?? {}) as Json)) {
    const { value: spec, at: headerAt } = resolve(header, `${at}${pointer('headers', name)}`);
    const actual = answer.headers.get(name);
    if (spec.required) expect(actual, `header ${name}`).not.toBeNull();
    if (actual !== null) {
      const validate = validatorAt(`${headerAt}/schema`);
      expect(validate(actual), `header ${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  }
  const mediaType = (answer.headers.get('content-type') ?? '').split(';')[0].trim();
  expect(Object.keys(response.content ?? {})).toContain(mediaType);
  const validate = validatorAt(`${at}${pointer('content', mediaType, 'schema')}`);
  const body = mediaType === 'application/json' ? JSON.parse(answer.text) : answer.text;
  expect(validate(body), `${answer.status} ${answer.text.slice(0, 200)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

const operationResponse = (method: string, path: string, status: number) => pointer('paths', path, method, 'responses', String(status));

describe('schemas/openapi.json', () => {
  it('is OpenAPI 3.1 whose schemas all compile as JSON Schema 2020-12 (strict)', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    for (const name of Object.keys(doc.components.schemas)) expect(() => validatorAt(pointer('components', 'schemas', name))).not.toThrow();
  });

  it('documents exactly the routes the Receiver serves', () => {
    // The route table is private; read it here so an undocumented route cannot hide.
    const routes = (h.receiver as unknown as { routes: Map<string, Map<string, unknown>> }).routes;
    const served = [...routes]
      .flatMap(([path, byMethod]) => [...byMethod.keys()].map((method) => `${method.toLowerCase()} ${path}`))
      .flatMap((route) => PREFIX_ROUTES[route] ?? [route]);
    expect(served.sort()).toEqual(documentedOperations().map(({ method, path }) => `${method} ${path}`).sort());
  });

  it('each documented operation is served (no 404/405); other methods get 405 with Allow listing the documented ones', async () => {
    for (const { path, method } of documentedOperations()) {
      const answer = await send(method, concrete(path), method === 'post' ? { body: JSON.stringify(exampleCallCompleted()), contentType: 'application/json', token: RELAY_TOKEN } : {});
      expect([404, 405], `${method} ${path}`).not.toContain(answer.status);
    }
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      const documented = HTTP_METHODS.filter((m) => m in item);
      for (const method of HTTP_METHODS.filter((m) => !documented.includes(m) && m !== 'head' && m !== 'trace')) {
        const answer = await send(method, concrete(path));
        expect(answer.status, `${method} ${path}`).toBe(405);
        expect(answer.headers.get('allow')!.toLowerCase().split(', ').sort()).toEqual(documented.sort());
        expectDocumented(answer, pointer('components', 'responses', 'MethodNotAllowed'));
      }
    }
  });

  it('undocumented paths get 404 RCV_NOT_FOUND as documented', async () => {
    for (const path of ['/', '/callaro', '/callaro/webhooks/x', '/healthz/', '/HEALTHZ', '/openapi.json']) {
      const answer = await send('get', path);
      expect(answer.status, path).toBe(404);
      expectDocumented(answer, pointer('components', 'responses', 'NotFound'));
    }
  });

  it('lists every RCV_ error code in its enum, and documents the status of each on the webhook route', () => {
    const rcvCodes = Object.keys(ErrorCodes).filter((code) => code.startsWith('RCV_'));
    expect([...doc.components.schemas.ErrorCode.enum].sort()).toEqual(rcvCodes.sort());
    const webhookStatuses = Object.keys(doc.paths['/callaro/webhooks'].post.responses);
    for (const code of rcvCodes) {
      const { status } = ErrorCodes[code as keyof typeof ErrorCodes];
      if (status !== 404 && status !== 405) expect(webhookStatuses, code).toContain(String(status));
    }
  });

  it('every real answer of the test receiver is valid against the documented response, and each documented one occurs', async () => {
    const json = 'application/json';
    const valid = JSON.stringify(exampleCallCompleted());
    const seen = new Set<string>();
    const check = async (method: string, path: string, init: { body?: string; contentType?: string; token?: string }, status: number, slug = 'relay') => {
      const answer = await send(method, path.replace('{vendor_slug}', slug), init);
      expect(answer.status, `${method} ${path} ${init.body?.slice(0, 40)}`).toBe(status);
      expectDocumented(answer, operationResponse(method, path, status));
      seen.add(`${method} ${path} ${status}`);
    };
    await check('post', '/callaro/webhooks', { body: valid, contentType: json }, 202);
    await check('post', '/callaro/webhooks', { body: '{"event":', contentType: json }, 400);
    await check('post', '/callaro/webhooks', { body: '[1]', contentType: json }, 400);
    await check('post', '/callaro/webhooks', { body: '', contentType: json }, 400);
    await check('post', '/callaro/webhooks', { body: JSON.stringify({ ...exampleCallCompleted(), pad: 'x'.repeat(5000) }), contentType: json }, 413);
    await check('post', '/callaro/webhooks', { body: valid, contentType: 'text/plain' }, 415);
    await check('post', '/callaro/webhooks', { body: '{"event":"call.completed","tenant_id":"x"}', contentType: json }, 422);
    h.publisher.mode = 'fail';
    await check('post', '/callaro/webhooks', { body: valid, contentType: json }, 503);
    h.publisher.mode = 'ack';
    await check('get', '/healthz', {}, 200);
    await check('get', '/readyz', {}, 200);
    h.setProducerReady(false);
    await check('get', '/readyz', {}, 503);
    h.setProducerReady(true);
    await check('get', '/metrics', {}, 200);

    const callback = JSON.stringify({ call_sid: 'CA0001', status: 'completed' });
    const token = RELAY_TOKEN;
    for (const path of ['/api/v1/webhooks/telephony/{vendor_slug}', '/api/v1/webhooks/telephony/{vendor_slug}/sample']) {
      await check('post', path, { body: callback, contentType: json, token }, path.endsWith('/sample') ? 200 : 202);
      await check('post', path, { body: 'call_sid=CA0002&status=ringing', contentType: 'application/x-www-form-urlencoded', token }, path.endsWith('/sample') ? 200 : 202);
      await check('post', path, { body: '{"call_sid":', contentType: json, token }, 400);
      await check('post', path, { body: callback, contentType: json, token: 'wrong-token' }, 401);
      await check('post', path, { body: callback, contentType: json, token }, 404, 'no-such-vendor');
      await check('post', path, { body: JSON.stringify({ call_sid: 'CA3', status: 'x', pad: 'x'.repeat(5000) }), contentType: json, token }, 413);
      await check('post', path, { body: callback, contentType: 'text/plain', token }, 415);
      await check('post', path, { body: '{"status":"completed"}', contentType: json, token }, 422);
    }
    h.publisher.mode = 'fail';
    await check('post', '/api/v1/webhooks/telephony/{vendor_slug}', { body: callback, contentType: json, token }, 503);
    h.publisher.mode = 'ack';
    // A fault of the receiver's own (here its clock throws) is a 503 on every webhook route.
    const stamp = h.ctx.clock.stamp;
    h.ctx.clock.stamp = () => {
      throw new Error('clock broke');
    };
    await check('post', '/callaro/webhooks', { body: valid, contentType: json }, 503);
    for (const path of ['/api/v1/webhooks/telephony/{vendor_slug}', '/api/v1/webhooks/telephony/{vendor_slug}/sample']) {
      await check('post', path, { body: callback, contentType: json, token }, 503);
    }
    h.ctx.clock.stamp = stamp;

    const documented = documentedOperations().flatMap(({ path, method }) =>
      Object.keys(doc.paths[path][method].responses).map((status) => `${method} ${path} ${status}`),
    );
    expect(documented.filter((r) => !seen.has(r) && !NOT_SERVED_HERE.has(r))).toEqual([]);
  });

  it('describes every event the receiver accepts (request body schema)', () => {
    const validate = validatorAt(pointer('paths', '/callaro/webhooks', 'post', 'requestBody', 'content', 'application/json', 'schema'));
    expect(validate(exampleCallCompleted()), ajv.errorsText(validate.errors)).toBe(true);
    fc.assert(
      fc.property(callaroEvent, (event) => {
        const input = JSON.parse(JSON.stringify(event));
        expect(validate(input), `${JSON.stringify(input).slice(0, 300)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
