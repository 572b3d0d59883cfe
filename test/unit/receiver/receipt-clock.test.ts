import { describe, expect, it } from 'vitest';
import { ReceiptClock } from '../../../src/receiver/index.js';

describe('ReceiptClock', () => {
  it('never stamps lower than its last stamp when the wall clock steps back', () => {
    let wall = 1_000;
    const clock = new ReceiptClock(() => wall);
    expect(clock.stamp()).toBe(1_000);
    wall = 400;
    expect(clock.stamp()).toBe(1_000);
    expect(clock.behindBy()).toBe(600);
    wall = 1_200;
    expect(clock.stamp()).toBe(1_200);
    expect(clock.behindBy()).toBe(0);
  });

  it('stamps above a receipt time from before it started (after), never tying with it', () => {
    const clock = new ReceiptClock(() => 400);
    clock.after(1_000);
    expect(clock.stamp()).toBe(1_001);
    clock.after(10); // an older one changes nothing
    expect(clock.stamp()).toBe(1_001);
  });
});
