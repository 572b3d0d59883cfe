import avro from 'avsc';

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Avro `long` as a JS number, exact over the whole safe-integer range.
 *
 * avsc's built-in long zigzag-encodes with float arithmetic: below -2^52 the zigzag value
 * (2|n|-1, odd) exceeds 2^53 and is rounded, so it writes a different number (the sign can
 * flip), and it refuses ±(2^53-1) outright. avsc hands a custom long the value as 8 bytes of
 * two's complement and does the zigzag/varint itself on bytes, so this is exact and the wire
 * bytes are the standard Avro encoding.
 */
export const safeLongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer): number => {
    const n = buf.readBigInt64LE();
    if (n > MAX || n < -MAX) throw new Error(`long ${n} is beyond ±(2^53-1) and cannot be read as a number exactly`);
    return Number(n);
  },
  toBuffer: (n: number): Buffer => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (value: unknown): number => Number(value),
  toJSON: (n: number): number => n,
  isValid: (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n),
  compare: (a: number, b: number): number => (a === b ? 0 : a < b ? -1 : 1),
});

/** avsc `typeHook` that uses safeLongType for every long, logical types (timestamp-millis) included. */
export function safeLongHook(schema: avro.Schema): avro.Type | undefined {
  const isLong = schema === 'long' || (typeof schema === 'object' && schema !== null && !Array.isArray(schema) && (schema as { type?: unknown }).type === 'long');
  return isLong ? safeLongType : undefined;
}
