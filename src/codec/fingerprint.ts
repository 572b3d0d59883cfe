/**
 * CRC-64-AVRO, the 64-bit Rabin fingerprint the Avro specification defines for
 * schema Parsing Canonical Form; it is what Avro single-object encoding carries.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK64 = (1n << 64n) - 1n;

const TABLE: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & (-(fp & 1n) & MASK64));
  return fp;
});

/** The fingerprint of the given bytes, as 8 little-endian bytes (the single-object header order). */
export function crc64Avro(bytes: Uint8Array): Buffer {
  let fp = EMPTY;
  for (const b of bytes) fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(b)) & 0xffn)];
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp & MASK64);
  return out;
}
