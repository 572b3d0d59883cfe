import { describe, expect, it } from 'vitest';
import { crc64Avro } from '../../../src/codec/index.js';

// Vectors from the Avro specification's test data (share/test/data/schema-tests.txt).
const VECTORS: Array<[string, bigint]> = [
  ['"null"', 7195948357588979594n],
  ['"boolean"', -6970731678124411036n],
  ['"int"', 8247732601305521295n],
  ['"long"', -3434872931120570953n],
];

describe('crc64Avro', () => {
  it.each(VECTORS)('fingerprints %s as the specification does', (schema, expected) => {
    expect(crc64Avro(Buffer.from(schema)).readBigInt64LE()).toBe(expected);
  });
});
