import { describe, expect, it } from 'vitest';
import { CallstreamError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { FlushCoordinator } from '../../../src/sink/index.js';
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
});
