/**
 * JSON text in a canonical form that loses nothing: object keys sorted, whitespace
 * dropped, strings decoded (lone surrogates kept, as escapes), and numbers as exact
 * decimals (sign, significant digits, exponent), so `1.50` equals `1.5` but
 * `12345678901234567890123` never equals `12345678901234567000000` the way two
 * JSON.parse results would. Two texts of the same JSON value give the same form.
 */
export function canonicalJson(text: string): string {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${i}`);
  };
  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.stringify(JSON.parse(text.slice(start, i)) as string);
  };
  const number = (): string => {
    const m = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?/.exec(text.slice(i, i + 1200));
    if (!m) return fail('bad number');
    i += m[0].length;
    const sign = m[0].startsWith('-') ? '-' : '';
    const frac = m[2] ?? '';
    let digits = `${m[1]}${frac}`.replace(/^0+/, '');
    if (digits === '') return '0';
    let exponent = BigInt(m[3] ?? '0') - BigInt(frac.length);
    const trimmed = digits.replace(/0+$/, '');
    exponent += BigInt(digits.length - trimmed.length);
    digits = trimmed;
    return `${sign}${digits}e${exponent}`;
  };
  const value = (): string => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<[string, string]> = [];
      ws();
      if (text[i] === '}') {
        i++;
        return '{}';
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const key = string();
        ws();
        if (text[i++] !== ':') fail('expected :');
        entries.push([key, value()]);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          break;
        } else fail('expected , or }');
      }
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${k}:${v}`).join(',')}}`;
    }
    if (c === '[') {
      i++;
      const items: string[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return '[]';
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          break;
        } else fail('expected , or ]');
      }
      return `[${items.join(',')}]`;
    }
    if (c === '"') return string();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return literal;
      }
    }
    return number();
  };
  const out = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return out;
}
