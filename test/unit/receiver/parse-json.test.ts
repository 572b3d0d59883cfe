import { describe, expect, it } from 'vitest';
import { isJsonContentType, parseJsonObject } from '../../../src/receiver/index.js';

const codeOf = (bytes: Buffer) => {
  try {
    parseJsonObject(bytes);
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('parseJsonObject', () => {
  it('parses an object and drops a leading BOM', () => {
    expect(parseJsonObject(Buffer.from('\ufeff{"a":1}')).value).toEqual({ a: 1 });
  });
  it.each([
    ['', 'RCV_EMPTY_BODY'],
    ['   ', 'RCV_EMPTY_BODY'],
    ['{"a":', 'RCV_MALFORMED_JSON'],
    ['[1,2]', 'RCV_NOT_AN_OBJECT'],
    ['42', 'RCV_NOT_AN_OBJECT'],
    ['null', 'RCV_NOT_AN_OBJECT'],
  ])('refuses %j with %s', (text, code) => {
    expect(codeOf(Buffer.from(text))).toBe(code);
  });
  it('refuses invalid UTF-8 instead of replacing it', () => {
    expect(codeOf(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]))).toBe('RCV_MALFORMED_JSON');
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON; charset=utf-8', true],
    ['application/cloudevents+json', true],
    ['text/plain', false],
    ['application/x-www-form-urlencoded', false],
    [undefined, false],
  ])('%s -> %s', (header, expected) => {
    expect(isJsonContentType(header)).toBe(expected);
  });
});
