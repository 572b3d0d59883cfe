import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type ErrorCode } from '../../../src/errors.js';
import { MAX_JSON_DEPTH } from '../../../src/events/index.js';
import { brokenEvent, callaroEvent, type EventObject } from '../../support/callaro-arbitraries.js';
import { startTestReceiver } from '../../support/receiver-harness.js';

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness;

const MAX_BODY_BYTES = 16 * 1024;

beforeAll(async () => {
  h = await startTestReceiver({ maxBodyBytes: MAX_BODY_BYTES });
});
afterAll(() => h.close());

interface Attempt {
  /** What the body is, and so what the answer must be: 'valid' -> 202 (413 when over the limit), 'too-deep' -> 400 (413 when over). */
  kind: 'valid' | 'too-deep' | 'other';
  body: Uint8Array;
  contentType: string | undefined;
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const text = (event: EventObject) => JSON.stringify(event);

/** An event whose tool_calls nest `levels` deep: refused past MAX_JSON_DEPTH, never a 5xx. */
const deepEvent = fc.integer({ min: 1, max: 6000 }).map((levels): Attempt => ({
  kind: levels > MAX_JSON_DEPTH ? 'too-deep' : 'valid',
  body: utf8(`{"event":"call.completed","call_id":"deep","tool_calls":${'['.repeat(levels)}${']'.repeat(levels)}}`),
  contentType: 'application/json',
}));

/** A valid event's bytes cut, with a byte changed, or behind a BOM. */
const mangledEvent = fc.tuple(callaroEvent, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('cut', 'flip', 'bom')).map(
  ([event, at, byte, how]): Attempt => {
    const bytes = utf8(text(event));
    const i = at % bytes.length;
    if (how === 'cut') return { kind: 'other', body: bytes.subarray(0, i), contentType: 'application/json' };
    if (how === 'bom') return { kind: 'valid', body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), contentType: 'application/json' };
    const flipped = Buffer.from(bytes);
    flipped[i] = byte;
    return { kind: 'other', body: flipped, contentType: 'application/json' };
  },
);

const jsonContentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/cloudevents+json');
const anyContentType = fc.oneof(
  { weight: 4, arbitrary: jsonContentType },
  { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'json', '*/*') },
);

const attempt: fc.Arbitrary<Attempt> = fc.oneof(
  fc.record({ kind: fc.constant('other' as const), body: fc.uint8Array({ maxLength: 512 }), contentType: anyContentType }),
  fc.record({ kind: fc.constant('other' as const), body: fc.json({ maxDepth: 4 }).map(utf8), contentType: anyContentType }),
  fc.record({ kind: fc.constant('valid' as const), body: callaroEvent.map((e) => utf8(text(e))), contentType: jsonContentType }),
  fc.record({ kind: fc.constant('other' as const), body: brokenEvent.map((b) => utf8(text(b.event))), contentType: jsonContentType }),
  fc.tuple(callaroEvent, fc.nat({ max: 2 * MAX_BODY_BYTES })).map(([e, pad]): Attempt => ({
    kind: 'valid',
    body: utf8(text({ ...e, padding_for_size: 'x'.repeat(pad) })),
    contentType: 'application/json',
  })),
  deepEvent,
  mangledEvent,
);

const KNOWN_CODES = new Set(Object.keys(ErrorCodes).filter((code) => code.startsWith('RCV_')));

/** Checks one answer against the README's contract; returns the error code, if any. */
function expectContractAnswer(a: Attempt, status: number, headers: Headers, body: Record<string, any>): ErrorCode | null {
  expect(status).toBeLessThan(500);
  expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(headers.get('content-type')).toMatch(/^application\/json/);
  if (a.kind === 'valid') expect(status).toBe(a.body.length > MAX_BODY_BYTES ? 413 : 202);
  // The body's nesting is checked before the event (MAX_BODY_DEPTH = MAX_JSON_DEPTH + 1, the column sits one level down).
  if (a.kind === 'too-deep') expect({ status, code: body.error?.code }).toEqual(a.body.length > MAX_BODY_BYTES ? { status: 413, code: 'RCV_PAYLOAD_TOO_LARGE' } : { status: 400, code: 'RCV_NESTING_TOO_DEEP' });
  if (status === 202) {
    expect(body).toEqual({ status: 'accepted', request_id: headers.get('x-request-id'), key: expect.any(String), event: expect.any(String) });
    return null;
  }
  expect(status).toBeGreaterThanOrEqual(400);
  expect(Object.keys(body)).toEqual(['error']);
  const { code, message, details } = body.error;
  expect(KNOWN_CODES).toContain(code);
  expect(ErrorCodes[code as ErrorCode].status).toBe(status);
  expect(typeof message === 'string' && message.length > 0).toBe(true);
  if (status === 422) {
    expect(details.fields.length).toBeGreaterThan(0);
    for (const field of details.fields) {
      expect(typeof field.path === 'string' && field.path.length > 0).toBe(true);
      expect(typeof field.message === 'string' && field.message.length > 0).toBe(true);
    }
  }
  return code;
}

describe('POST /callaro/webhooks with hostile bodies (properties)', () => {
  it('never answers 5xx while the broker acks; every refusal has a known code, 422 lists field paths; each request is audited once', async () => {
    await fc.assert(
      fc.asyncProperty(attempt, async (a) => {
        h.publisher.messages = [];
        const res = await fetch(`${h.url}/callaro/webhooks`, {
          method: 'POST',
          headers: a.contentType === undefined ? {} : { 'content-type': a.contentType },
          body: a.body as BodyInit,
        });
        const code = expectContractAnswer(a, res.status, res.headers, await res.json());
        const audit = h.audit();
        expect(audit).toHaveLength(1);
        expect(audit[0]).toMatchObject({ status: res.status, error_code: code, request_id: res.headers.get('x-request-id') });
        expect(h.events()).toHaveLength(res.status === 202 ? 1 : 0);
      }),
      { numRuns: 250 },
    );
  });
});
