import { describe, expect, it } from 'vitest';
import { ReceiptClock } from '../../../src/receiver/index.js';

describe('ReceiptClock', () => {
  it('stamps each request later than the one before while the wall clock is behind: a newer version never ties with an older one', () => {
    // Found by the soak (operations kind, seeds 15 and 22: a receiver restarted onto a clock stepped
    // back): every stamp was the floor, and isNewer broke the tie by request id, so the newer
    // version of a key lost about half the time.
    let wall = 400;
    const clock = new ReceiptClock(() => wall);
    clock.after(1_000);
    const first = clock.stamp();
    const second = clock.stamp();
    expect(first).toBeGreaterThan(1_000);
    expect(second).toBeGreaterThan(first);
    wall = 1_000;
    expect(clock.stamp()).toBeGreaterThan(second);
  });

  it('never stamps lower than its last stamp when the wall clock steps back', () => {
    let wall = 1_000;
    const clock = new ReceiptClock(() => wall);
    expect(clock.stamp()).toBe(1_000);
    wall = 400;
    expect(clock.stamp()).toBe(1_001);
    expect(clock.behindBy()).toBe(601);
    wall = 1_200;
    expect(clock.stamp()).toBe(1_200);
    expect(clock.behindBy()).toBe(0);
  });

  it('stamps above a receipt time from before it started (after), never tying with it', () => {
    const clock = new ReceiptClock(() => 400);
    clock.after(1_000);
    const first = clock.stamp();
    expect(first).toBeGreaterThan(1_000);
    expect(first).toBeLessThanOrEqual(1_002);
    clock.after(10); // an older one changes nothing
    expect(clock.stamp()).toBe(first + 1);
  });
});
