import { describe, expect, it } from 'vitest';
import { isFormContentType, parseFormFields } from '../../../src/receiver/index.js';

describe('parseFormFields', () => {
  it('decodes a Twilio-style body: + as space, percent escapes, repeated names as arrays', () => {
    const fields = parseFormFields(Buffer.from('CallSid=CA1&From=%2B14155550100&CallerName=Ada+Lovelace&StirVerstat=a&StirVerstat=b'));
    expect(fields).toEqual({ CallSid: 'CA1', From: '+14155550100', CallerName: 'Ada Lovelace', StirVerstat: ['a', 'b'] });
  });

  it('keeps a field named __proto__ as a field', () => {
    const fields = parseFormFields(Buffer.from('__proto__=x&a=1'));
    expect(Object.hasOwn(fields, '__proto__')).toBe(true);
    expect(JSON.stringify(fields)).toBe('{"__proto__":"x","a":"1"}');
  });

  it('refuses an empty body and invalid UTF-8', () => {
    expect(() => parseFormFields(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'RCV_EMPTY_BODY' }));
    expect(() => parseFormFields(Buffer.from('&&'))).toThrow(expect.objectContaining({ code: 'RCV_EMPTY_BODY' }));
    expect(() => parseFormFields(Buffer.from([0x61, 0x3d, 0xff]))).toThrow(expect.objectContaining({ code: 'RCV_MALFORMED_FORM', status: 400 }));
  });

  it.each([
    ['a percent-encoded NUL in a value', 'CallSid=CA1%00x&CallStatus=ringing'],
    ['a percent-encoded NUL in a name', 'CallSid=CA1&Call%00Status=ringing'],
    ['a raw NUL byte', 'CallSid=CA1\u0000x&CallStatus=ringing'],
  ])('refuses %s as RCV_NUL_CHARACTER, like the JSON parser', (_name, body) => {
    expect(() => parseFormFields(Buffer.from(body))).toThrow(expect.objectContaining({ code: 'RCV_NUL_CHARACTER', status: 400 }));
  });

  it.each([
    ['application/x-www-form-urlencoded', true],
    ['Application/X-WWW-Form-Urlencoded; charset=utf-8', true],
    ['application/json', false],
    ['multipart/form-data', false],
    [undefined, false],
  ])('%s -> %s', (header, expected) => {
    expect(isFormContentType(header)).toBe(expected);
  });
});
