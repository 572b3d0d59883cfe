import { CallstreamError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True for application/x-www-form-urlencoded, with any parameters. */
export function isFormContentType(header: string | undefined): boolean {
  return header?.split(';')[0].trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/**
 * Decodes an application/x-www-form-urlencoded body (as Twilio sends) into fields. A
 * name sent more than once keeps all its values, in order, as an array. Invalid UTF-8
 * is refused, not replaced; so is a NUL (raw or %00) in a name or value, as in JSON
 * bodies: it breaks downstream text columns, and key columns must not hold it.
 */
export function parseFormFields(bytes: Buffer): Record<string, string | string[]> {
  if (bytes.length === 0) throw new CallstreamError('RCV_EMPTY_BODY');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new CallstreamError('RCV_MALFORMED_FORM', 'The form body is not valid UTF-8.', { cause });
  }
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (name.includes('\u0000') || value.includes('\u0000')) throw new CallstreamError('RCV_NUL_CHARACTER');
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  if (values.size === 0) throw new CallstreamError('RCV_EMPTY_BODY', 'The form body has no fields.');
  // fromEntries defines own properties, so a field named "__proto__" stays a field.
  return Object.fromEntries([...values].map(([name, list]) => [name, list.length === 1 ? list[0] : list]));
}
