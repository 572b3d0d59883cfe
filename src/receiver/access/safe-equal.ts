import { timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of two byte strings; different lengths compare unequal without leaking where. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // spend the same work either way
    return false;
  }
  return timingSafeEqual(a, b);
}

/** True when `candidate` equals any of `accepted` (all compared, so timing says nothing about which). */
export function matchesAny(candidate: Buffer, accepted: Buffer[]): boolean {
  let found = false;
  for (const value of accepted) found = safeEqual(candidate, value) || found;
  return found;
}
