import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/sink/index.js';

describe('backoffDelay', () => {
  it('doubles per attempt, stays between half and all of the step, and is capped', () => {
    expect(backoffDelay(0, 200, 30_000, () => 1)).toBe(200);
    expect(backoffDelay(3, 200, 30_000, () => 1)).toBe(1600);
    expect(backoffDelay(3, 200, 30_000, () => 0)).toBe(800);
    expect(backoffDelay(50, 200, 30_000, () => 1)).toBe(30_000);
  });
});
