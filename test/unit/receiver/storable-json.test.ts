import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonObject } from '../../../src/receiver/index.js';
import { numberProblem, unstorableValues } from '../../../src/receiver/storable-json.js';

const paths = (text: string) => unstorableValues(text).map((p) => p.path);

describe('unstorableValues: lone surrogates', () => {
  it.each([
    ['{"event":"call.completed","call_id":"c1","extracted_data":{"n":"\\ud800"}}', 'extracted_data.n'],
    ['{"runtime_vars":{"\\udc00x":1}}', 'runtime_vars.\ufffdx'],
    ['{"tool_calls":[{"name":"a"},{"name":"b","args":["ok","\\ud83d"]}]}', 'tool_calls.1.args.1'],
    ['{"unknown_top":"x\\udfffy"}', 'unknown_top'],
    ['{"a":"\\\\ud800"}', undefined], // an escaped backslash: the text "\ud800", six ASCII characters
    ['{"a":"\\ud83d\\ude00"}', undefined], // a surrogate pair is a code point (😀)
    ['{"a":"\\"\\ud800"}', 'a'], // after an escaped quote the string goes on
  ])('%s -> %s', (text, path) => {
    expect(paths(text)).toEqual(path === undefined ? [] : [path]);
  });

  it('names every problem, up to ten', () => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'x']))).replaceAll('"x"', '"\\ud800"');
    expect(paths(body)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
  });

  it('finds no problem in any well-formed JSON text JSON.stringify makes (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const safe = JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isSafeInteger(v) ? 1.5 : v)) ?? 'null');
        expect(unstorableValues(JSON.stringify({ root: safe }))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('finds a lone surrogate wherever it is put (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 5 }), fc.nat(5)), { minLength: 1, maxLength: 6 }), (keys) => {
        // Build nested containers along the path, with the bad string at its end.
        let value: unknown = '\ud800';
        let expected = '';
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i];
          value = typeof k === 'number' ? [...Array(k).fill(0), value] : { [k]: value };
          expected = [typeof k === 'number' ? String(k) : k, expected].filter((p) => p !== '').join('.');
        }
        const text = JSON.stringify({ top: value });
        expect(paths(text)).toEqual([`top${expected ? `.${expected}` : ''}`.replace(/\p{Cs}/gu, '\ufffd')]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('numberProblem', () => {
  it.each(['0', '-0', '42', '-17', '1.5', '0.1', '1.10', '1e3', '1E-7', '2.5e+10', '9007199254740991', '9007199254740992', '1e21', '123456789012345', '5e-324', '1.7976931348623157e308'])(
    'keeps %s',
    (literal) => expect(numberProblem(literal)).toBeUndefined(),
  );
  it.each(['1e400', '-1e400', '1e-400', '9007199254740993', '12345678901234567890123', '0.12345678901234567890', '18446744073709551617'])(
    'refuses %s',
    (literal) => expect(numberProblem(literal)).toMatch(/out of range|more precision/),
  );
  it('agrees with a round trip through JSON.parse for random doubles (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        expect(numberProblem(JSON.stringify(d))).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });
  it('refuses integers past 2^53 exactly when JSON.parse then JSON.stringify would change their digits (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n ** 53n, max: 999_999_999_999_999_000_000n }), (n) => {
        const exact = BigInt(JSON.stringify(JSON.parse(n.toString()))) === n;
        expect(numberProblem(n.toString()) === undefined).toBe(exact);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseJsonObject refuses unstorable values with RCV_UNSTORABLE_VALUE', () => {
  it.each([
    ['{"extracted_data":{"n":"\\ud800"}}', 'extracted_data.n'],
    ['{"extracted_data":{"big":1e400}}', 'extracted_data.big'],
    ['{"tool_calls":[{"args":{"id":12345678901234567890123}}]}', 'tool_calls.0.args.id'],
  ])('%s', (text, path) => {
    let caught: unknown;
    try {
      parseJsonObject(Buffer.from(text));
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'RCV_UNSTORABLE_VALUE', status: 422, details: { fields: [{ path }] } });
  });
});
