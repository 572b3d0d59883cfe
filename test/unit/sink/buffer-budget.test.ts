import { describe, expect, it } from 'vitest';
import { BufferBudget, batchSize, fetchLimits, recordBytes } from '../../../src/sink/index.js';

const MiB = 1024 * 1024;
/** Never gives up, never idles for long: a waiter that only a release wakes. */
const patient = { idle: () => undefined, idleEveryMs: 60_000, proceed: () => true };
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('BufferBudget', () => {
  it('takes batches while records and bytes stay within the limits, refuses beyond either', () => {
    const budget = new BufferBudget({ records: 10, bytes: 1_000 });
    expect(budget.tryTake({ records: 4, bytes: 600 })).toBe(true);
    expect(budget.tryTake({ records: 1, bytes: 401 })).toBe(false);
    expect(budget.tryTake({ records: 7, bytes: 10 })).toBe(false);
    expect(budget.tryTake({ records: 6, bytes: 400 })).toBe(true);
    expect(budget.held).toEqual({ records: 10, bytes: 1_000 });
  });

  it('take() waits until a release makes room, asking for a flush meanwhile', async () => {
    const budget = new BufferBudget({ records: 10, bytes: 1_000 });
    budget.tryTake({ records: 1, bytes: 800 });
    let idles = 0;
    let taken = false;
    const waiting = budget.take({ records: 1, bytes: 300 }, { ...patient, idle: () => void idles++ }).then((ok) => (taken = ok));
    await tick();
    expect(taken).toBe(false);
    expect(idles).toBe(1);
    budget.release({ records: 1, bytes: 800 });
    await waiting;
    expect(taken).toBe(true);
    expect(budget.held).toEqual({ records: 1, bytes: 300 });
  });

  it('a batch larger than the whole budget waits until nothing is held, then is held alone', async () => {
    const budget = new BufferBudget({ records: 10, bytes: 1_000 });
    budget.tryTake({ records: 1, bytes: 100 });
    let taken = false;
    const big = budget.take({ records: 1, bytes: 5_000 }, patient).then((ok) => (taken = ok));
    await tick();
    expect(taken).toBe(false);
    budget.release({ records: 1, bytes: 100 });
    await big;
    expect(budget.held).toEqual({ records: 1, bytes: 5_000 });
    expect(budget.tryTake({ records: 1, bytes: 1 })).toBe(false);
    budget.release({ records: 1, bytes: 5_000 });
    expect(budget.tryTake({ records: 1, bytes: 1 })).toBe(true);
  });

  it('take() gives up, holding nothing, once proceed() turns false', async () => {
    const budget = new BufferBudget({ records: 10, bytes: 1_000 });
    budget.tryTake({ records: 1, bytes: 1_000 });
    let proceed = true;
    const waiting = budget.take({ records: 1, bytes: 10 }, { idle: () => undefined, idleEveryMs: 5, proceed: () => proceed });
    await tick();
    proceed = false;
    expect(await waiting).toBe(false);
    expect(budget.held).toEqual({ records: 1, bytes: 1_000 });
  });

  it('counts a record\'s key and value bytes', () => {
    const records = [
      { key: Buffer.from('call-1'), value: Buffer.alloc(1_000) },
      { key: null, value: Buffer.alloc(24) },
      { key: Buffer.from('tomb'), value: null },
    ];
    expect(recordBytes(records[0])).toBe(1_006);
    expect(batchSize(records)).toEqual({ records: 3, bytes: 1_034 });
  });

  it('lets kafkajs fetch a quarter of the budget ahead, at most 16 MiB per fetch and 2 MiB per partition', () => {
    expect(fetchLimits(64 * MiB)).toEqual({ maxBytes: 16 * MiB, maxBytesPerPartition: 2 * MiB });
    expect(fetchLimits(1024 * MiB)).toEqual({ maxBytes: 16 * MiB, maxBytesPerPartition: 2 * MiB });
    expect(fetchLimits(8 * MiB)).toEqual({ maxBytes: 2 * MiB, maxBytesPerPartition: 2 * MiB });
    expect(fetchLimits(1 * MiB)).toEqual({ maxBytes: MiB / 4, maxBytesPerPartition: MiB / 4 });
  });
});
