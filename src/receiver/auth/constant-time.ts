import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();

/**
 * Compares a presented secret or signature with an expected one in constant time. Both
 * sides are hashed first: timingSafeEqual needs equal lengths, and checking the lengths
 * beforehand would leak the expected one's.
 */
export function safeEqual(presented: string | Buffer, expected: string | Buffer): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}
