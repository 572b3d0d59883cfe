import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyFilter } from '../../../../src/warehouse/duckdb/key-filter.js';

describe('KeyFilter', () => {
  it('never says no to a key it was given (any text, any number of layers)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 40 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (keys, firstLayer) => {
        const filter = new KeyFilter(0, firstLayer);
        for (const key of keys) filter.add(key);
        expect(keys.every((key) => filter.mightContain(key))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('grows by layers and keeps every key of the earlier ones', () => {
    const filter = new KeyFilter(0, 1_000);
    const keys = Array.from({ length: 20_000 }, (_, i) => `vs_${i}\u0000call.completed`);
    for (const key of keys) filter.add(key);
    expect(filter.layerCount).toBeGreaterThanOrEqual(5);
    expect(filter.keys).toBe(20_000);
    expect(keys.filter((key) => !filter.mightContain(key))).toEqual([]);
  });

  it('addIfAbsent says whether a key was new, and adds it', () => {
    const filter = new KeyFilter(0, 100);
    expect(filter.addIfAbsent('a')).toBe(true);
    expect(filter.addIfAbsent('a')).toBe(false);
    expect(filter.mightContain('a')).toBe(true);
    expect(filter.keys).toBe(1);
  });

  it('counts a key added twice once', () => {
    const filter = new KeyFilter(0, 100);
    filter.add('a');
    filter.add('a');
    expect(filter.keys).toBe(1);
  });

  it('says no to keys it was not given, but for a rare false positive', () => {
    const filter = new KeyFilter(0, 50_000);
    for (let i = 0; i < 50_000; i++) filter.add(`vs_${i}\u0000call.completed`);
    let falsePositives = 0;
    for (let i = 0; i < 200_000; i++) if (filter.mightContain(`other_${i}\u0000call.completed`)) falsePositives++;
    // 2e-6 by design: 0.4 expected among 200,000; 10 would be a broken hash (a CRC not mixed, a sign bug).
    expect(falsePositives).toBeLessThan(10);
  });

  it('takes about 3.4 bytes a key', () => {
    const filter = new KeyFilter(1_000_000);
    expect(filter.bytes / 2_000_000).toBeGreaterThan(3);
    expect(filter.bytes / 2_000_000).toBeLessThan(4);
  });
});
