import { describe, expect, it } from 'vitest';
import { CallstreamError, type ExhaustedResource } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { BufferBudget, FlushCoordinator } from '../../../src/sink/index.js';
import { CALL_EVENTS, type Row, type TableSpec, type Warehouse } from '../../../src/warehouse/index.js';

const logger = createLogger({ level: 'silent' });

class FakeWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  writes: Row[][] = [];
  failuresLeft = 0;
  error: Error = new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE');
  async ensureTables(): Promise<void> {}
  rejectIds = new Set<string>();
  async upsert(_spec: TableSpec, rows: Row[]): Promise<number> {
    if (rows.some((r) => this.rejectIds.has(String(r.call_id)))) throw new CallstreamError('SINK_ROW_REJECTED', 'bad value');
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw this.error;
    }
    this.writes.push(rows);
    return rows.length;
  }
  async query(): Promise<Record<string, unknown>[]> {
    return [];
  }
  async eraseRows(): Promise<number> {
    return 0;
  }
  async distinctValues(): Promise<string[]> {
    return [];
  }
  async identity() {
    return { id: 'fake', description: 'a fake warehouse' };
  }
  async close(): Promise<void> {}
}

const rows = (...ids: string[]) => new Map([[CALL_EVENTS, ids.map((call_id) => ({ call_id, event_type: 'call.completed' }) as Row)]]);

describe('FlushCoordinator', () => {
  it('joins concurrent adds into one write and resolves each only after it', async () => {
    const warehouse = new FakeWarehouse();
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 20 }, logger);
    await Promise.all([flusher.add(rows('a', 'b')), flusher.add(rows('c'))]);
    expect(warehouse.writes.map((w) => w.map((r) => r.call_id))).toEqual([['a', 'b', 'c']]);
  });

  it('drops before each attempt the rows dropAtWrite names (an erasure recorded while they waited for a retry)', async () => {
    const warehouse = new FakeWarehouse();
    warehouse.failuresLeft = 1;
    const erased = new Set<string>();
    const dropped: number[] = [];
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 5 }, logger, {
      onRetry: () => erased.add('b'),
      dropAtWrite: (_spec, row) => erased.has(String(row.call_id)),
      onDropped: (n) => dropped.push(n),
    });
    await flusher.add(rows('a', 'b', 'c'));
    expect(warehouse.writes.map((w) => w.map((r) => r.call_id))).toEqual([['a', 'c']]);
    expect(dropped).toEqual([1]);
  });

  it('hands the rows of the attempts under way once they ended, and none when nothing is written', async () => {
    const warehouse = new FakeWarehouse();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const upsert = warehouse.upsert.bind(warehouse);
    warehouse.upsert = async (spec, list) => {
      await gate;
      return upsert(spec, list);
    };
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 2, intervalMs: 60_000 }, logger);
    expect(await flusher.attemptsUnderWay()).toEqual([]);
    const written = flusher.add(rows('a', 'b'));
    let ended = false;
    const underWay = flusher.attemptsUnderWay().then((carried) => ((ended = true), carried));
    await new Promise((r) => setTimeout(r, 20));
    expect(ended).toBe(false);
    release();
    const carried = await underWay;
    expect(carried.map(([spec, list]) => [spec.name, list.map((r) => r.call_id)])).toEqual([[CALL_EVENTS.name, ['a', 'b']]]);
    await written;
  });

  it('writes at once when maxRecords are buffered', async () => {
    const warehouse = new FakeWarehouse();
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 2, intervalMs: 60_000 }, logger);
    await flusher.add(rows('a', 'b'));
    expect(warehouse.writes).toHaveLength(1);
  });

  it('retries transient failures and resolves callers only once the write landed', async () => {
    const warehouse = new FakeWarehouse();
    warehouse.failuresLeft = 2;
    const retries: number[] = [];
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 1, intervalMs: 0 }, logger, { onRetry: ({ attempt }) => retries.push(attempt) });
    await flusher.add(rows('a'));
    expect(retries).toEqual([0, 1]);
    expect(warehouse.writes).toHaveLength(1);
  });

  it('finds the rows the warehouse refuses for good and writes the rest', async () => {
    const warehouse = new FakeWarehouse();
    warehouse.rejectIds = new Set(['bad1', 'bad2']);
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 0 }, logger);
    const rejected = await flusher.add(rows('a', 'bad1', 'b', 'c', 'bad2', 'd'));
    expect(rejected.map((r) => r.row.call_id).sort()).toEqual(['bad1', 'bad2']);
    expect(rejected[0].error.code).toBe('SINK_ROW_REJECTED');
    expect(warehouse.writes.flat().map((r) => r.call_id).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a batch of nothing but refused rows is handed back whole, and the next batch is written (no stall)', async () => {
    const warehouse = new FakeWarehouse();
    warehouse.rejectIds = new Set(['x', 'y']);
    const retries: number[] = [];
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 0 }, logger, { onRetry: ({ attempt }) => retries.push(attempt) });
    const rejected = await flusher.add(rows('x', 'y'));
    expect(rejected.map((r) => r.row.call_id).sort()).toEqual(['x', 'y']);
    expect(retries).toEqual([]);
    expect(await flusher.add(rows('z'))).toEqual([]);
    expect(warehouse.writes.flat().map((r) => r.call_id)).toEqual(['z']);
  });

  it('a fault of the table or warehouse is retried with every row kept, never bisected into dead letters', async () => {
    const warehouse = new FakeWarehouse();
    warehouse.failuresLeft = 3;
    warehouse.error = new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'Catalog Error: Table with name call_events does not exist!');
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 0 }, logger);
    expect(await flusher.add(rows('a', 'b', 'c'))).toEqual([]);
    expect(warehouse.writes.map((w) => w.map((r) => r.call_id))).toEqual([['a', 'b', 'c']]);
  });

  it('rejects on a non-retriable error and when stopped during an outage', async () => {
    const warehouse = new FakeWarehouse();
    warehouse.failuresLeft = 1;
    warehouse.error = new CallstreamError('CFG_INVALID');
    const flusher = new FlushCoordinator(warehouse, { maxRecords: 1, intervalMs: 0 }, logger);
    await expect(flusher.add(rows('a'))).rejects.toMatchObject({ code: 'CFG_INVALID' });

    warehouse.failuresLeft = 1_000;
    warehouse.error = new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE');
    const pending = flusher.add(rows('b'));
    setTimeout(() => flusher.stop(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'SINK_WAREHOUSE_UNAVAILABLE' });
    expect(warehouse.writes).toHaveLength(0);
  });
  describe('bytes', () => {
    it('writes as soon as the buffered bytes reach the buffer\'s share of bufferBytes (half with one write in flight)', async () => {
      const warehouse = new FakeWarehouse();
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 60_000, bufferBytes: 1_000 }, logger);
      void flusher.add(rows('a'), 300);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warehouse.writes).toHaveLength(0);
      await flusher.add(rows('b'), 200);
      expect(warehouse.writes.map((w) => w.map((r) => r.call_id))).toEqual([['a', 'b']]);
      expect(flusher.capacity).toEqual({ records: 200, bytes: 1_000 });
    });

    it('a record larger than the whole budget is written at once, not at the interval', async () => {
      const warehouse = new FakeWarehouse();
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 60_000, bufferBytes: 1_000 }, logger);
      await flusher.add(rows('big'), 5_000);
      expect(warehouse.writes.map((w) => w.map((r) => r.call_id))).toEqual([['big']]);
    });

    it('flushBuffered writes what is buffered without waiting for the interval', async () => {
      const warehouse = new FakeWarehouse();
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 60_000, bufferBytes: 1_000 }, logger);
      const written = flusher.add(rows('a'), 10);
      flusher.flushBuffered();
      await written;
      expect(warehouse.writes).toHaveLength(1);
    });
  });

  describe('writes in flight', () => {
    /** Upserts that hang until released, recording how many ran at once. */
    class GatedWarehouse extends FakeWarehouse {
      inFlight = 0;
      maxSeen = 0;
      private gates: Array<() => void> = [];
      constructor(readonly maxWritesInFlight?: number) {
        super();
      }
      override async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
        this.inFlight++;
        this.maxSeen = Math.max(this.maxSeen, this.inFlight);
        await new Promise<void>((resolve) => this.gates.push(resolve));
        this.inFlight--;
        return super.upsert(spec, rows);
      }
      started(): number {
        return this.gates.length;
      }
      releaseAll(): void {
        const gates = this.gates;
        this.gates = [];
        for (const open of gates) open();
      }
    }

    async function drive(warehouse: GatedWarehouse): Promise<void> {
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 1, intervalMs: 0 }, logger);
      const done = ['a', 'b', 'c', 'd', 'e'].map((id) => flusher.add(rows(id)));
      // Release whatever is in flight until every add resolved.
      let settled = false;
      const all = Promise.all(done).finally(() => (settled = true));
      while (!settled) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        warehouse.releaseAll();
      }
      await all;
    }

    it('runs one write at a time by default: later adds wait for the next', async () => {
      const warehouse = new GatedWarehouse();
      await drive(warehouse);
      expect(warehouse.maxSeen).toBe(1);
      expect(warehouse.writes.flat().map((r) => r.call_id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    it('runs up to the warehouse\'s maxWritesInFlight at once, never more, and writes every row once', async () => {
      const warehouse = new GatedWarehouse(3);
      await drive(warehouse);
      expect(warehouse.maxSeen).toBe(3);
      expect(warehouse.writes.flat().map((r) => r.call_id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    it('upserts the tables of one flush side by side when the warehouse takes several writes, one after the other otherwise', async () => {
      const other = { ...CALL_EVENTS, name: 'other_events' } as TableSpec;
      const twoTables = () => new Map([...rows('a'), [other, [{ call_id: 'b', event_type: 'call.completed' } as Row]]]);
      for (const [allowed, together] of [
        [2, 2],
        [undefined, 1],
      ] as const) {
        const warehouse = new GatedWarehouse(allowed);
        const flusher = new FlushCoordinator(warehouse, { maxRecords: 2, intervalMs: 0 }, logger);
        const done = flusher.add(twoTables());
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(warehouse.started(), `maxWritesInFlight ${allowed}`).toBe(together);
        while (warehouse.writes.length < 2) {
          warehouse.releaseAll();
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await done;
      }
    });

    it('shares bufferBytes among the writes in flight and the buffer filling', async () => {
      const warehouse = new GatedWarehouse(3);
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 60_000, bufferBytes: 1_000 }, logger);
      void flusher.add(rows('a'), 240);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warehouse.started()).toBe(0);
      const written = flusher.add(rows('b'), 10);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warehouse.started()).toBe(1);
      warehouse.releaseAll();
      await written;
    });

    it('a sink driving it through a BufferBudget: the bytes held stay within the budget, a record above it is written alone, every row lands', async () => {
      const warehouse = new GatedWarehouse();
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 1_000, intervalMs: 60_000, bufferBytes: 1_000 }, logger);
      const budget = new BufferBudget(flusher.capacity);
      const opener = setInterval(() => warehouse.releaseAll(), 2);
      const sizes = [300, 200, 400, 150, 2_500, 100, 450, 450, 450, 90, 1_000, 10, 10];
      const heldWhenTaken: number[] = [];
      const written: Array<Promise<unknown>> = [];
      try {
        for (const [i, bytes] of sizes.entries()) {
          const size = { records: 1, bytes };
          // As the sink does: wait for room (asking for a flush meanwhile), then hand on; release after the write.
          expect(await budget.take(size, { idle: () => flusher.flushBuffered(), idleEveryMs: 60_000, proceed: () => true })).toBe(true);
          heldWhenTaken.push(budget.held.bytes);
          written.push(flusher.add(rows(`r${i}`), bytes).then(() => budget.release(size)));
        }
        await flusher.flushPending(); // the last few are under every threshold: the interval (or a stop) writes them
        await Promise.all(written);
      } finally {
        clearInterval(opener);
      }
      for (const [i, held] of heldWhenTaken.entries()) {
        if (sizes[i] > 1_000) expect(held, `held when r${i} (${sizes[i]} bytes) was taken`).toBe(sizes[i]);
        else expect(held, `held when r${i} was taken`).toBeLessThanOrEqual(1_000);
      }
      expect(warehouse.writes.find((w) => w.some((r) => r.call_id === 'r4'))!.map((r) => r.call_id)).toEqual(['r4']);
      expect(warehouse.writes.flat().map((r) => r.call_id).sort()).toEqual(sizes.map((_, i) => `r${i}`).sort());
      expect(budget.held).toEqual({ records: 0, bytes: 0 });
    });

    it('flushPending waits for every write in flight', async () => {
      const warehouse = new GatedWarehouse(4);
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 1, intervalMs: 0 }, logger);
      for (const id of ['a', 'b', 'c']) void flusher.add(rows(id));
      let flushed = false;
      const pending = flusher.flushPending().then(() => (flushed = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warehouse.started()).toBe(3);
      expect(flushed).toBe(false);
      warehouse.releaseAll();
      await pending;
      expect(warehouse.writes.flat()).toHaveLength(3);
    });
  });
  describe('a warehouse out of memory or disk (SINK_WAREHOUSE_EXHAUSTED)', () => {
    /**
     * Takes at most `room` rows per upsert and fails the way DuckDB does beyond it; recover()
     * (the reopen) gives room back, unless `full` (the disk stays full: recover fails too).
     */
    class ExhaustibleWarehouse extends FakeWarehouse {
      room: number;
      full = false;
      recoveries = 0;
      failedRecoveries = 0;
      attempts: number[] = [];
      constructor(room: number, readonly resource: ExhaustedResource = 'memory', readonly roomAfterRecovery = room) {
        super();
        this.room = room;
      }
      override async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
        this.attempts.push(rows.length);
        if (this.full || rows.length > this.room) throw new CallstreamError('SINK_WAREHOUSE_EXHAUSTED', `Out of room for ${rows.length} rows`, { details: { resource: this.resource } });
        return super.upsert(spec, rows);
      }
      async recover(): Promise<void> {
        if (this.full) {
          this.failedRecoveries++;
          throw new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'Could not open DuckDB: No space left on device');
        }
        this.recoveries++;
        this.room = this.roomAfterRecovery;
      }
    }
    const ids = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

    it('does not retry the same batch as is: it recovers the warehouse and writes smaller pieces, every row once', async () => {
      const warehouse = new ExhaustibleWarehouse(3);
      const exhausted: Array<{ resource: ExhaustedResource; attempt: number }> = [];
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 0 }, logger, { onExhausted: ({ resource, attempt }) => exhausted.push({ resource, attempt }) });
      expect(await flusher.add(rows(...ids(10)))).toEqual([]);
      expect(warehouse.writes.flat().map((r) => r.call_id).sort()).toEqual(ids(10).sort());
      expect(Math.max(...warehouse.writes.map((w) => w.length))).toBeLessThanOrEqual(3);
      expect(exhausted[0]).toEqual({ resource: 'memory', attempt: 0 });
      expect(warehouse.recoveries).toBe(exhausted.length);
    }, 10_000);

    it('recovers before the retry: a reopen that gives the room back lets the whole batch in', async () => {
      const warehouse = new ExhaustibleWarehouse(0, 'memory', 1_000);
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 0 }, logger);
      await flusher.add(rows(...ids(8)));
      expect(warehouse.recoveries).toBe(1);
      expect(warehouse.writes.flat().map((r) => r.call_id).sort()).toEqual(ids(8).sort());
    }, 10_000);

    it('goes on by itself once the disk has room again: a recover() that fails is tried again before each attempt', async () => {
      const warehouse = new ExhaustibleWarehouse(1_000, 'disk');
      warehouse.full = true;
      const exhausted: ExhaustedResource[] = [];
      let written = 0;
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 100, intervalMs: 0 }, logger, {
        onExhausted: ({ resource }) => exhausted.push(resource),
        onWrite: ({ rows }) => (written += rows),
      });
      const done = flusher.add(rows(...ids(6)));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(written).toBe(0);
      expect(exhausted[0]).toBe('disk');
      expect(warehouse.failedRecoveries).toBeGreaterThanOrEqual(1);
      warehouse.full = false; // space freed
      await done;
      expect(warehouse.recoveries).toBe(1);
      expect(written).toBe(6);
      expect(warehouse.writes.flat().map((r) => r.call_id).sort()).toEqual(ids(6).sort());
    }, 15_000);

    it('writes whole batches again once writes succeed: the pieces grow back', async () => {
      const warehouse = new ExhaustibleWarehouse(4, 'memory', 1_000);
      warehouse.recover = async () => undefined; // no room given back: only the pieces help
      const flusher = new FlushCoordinator(warehouse, { maxRecords: 16, intervalMs: 0 }, logger);
      await flusher.add(rows(...ids(16, 'a')));
      expect(Math.max(...warehouse.writes.map((w) => w.length))).toBeLessThanOrEqual(4);
      warehouse.room = 1_000;
      warehouse.writes = [];
      for (let n = 0; n < 4; n++) await flusher.add(rows(...ids(16, `b${n}-`)));
      expect(warehouse.writes.at(-1)).toHaveLength(16);
      expect(warehouse.writes.flat()).toHaveLength(64);
    }, 10_000);
  });
});
