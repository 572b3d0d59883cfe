import { CallstreamError } from '../../../src/errors.js';
import { type Row, type TableSpec, type Warehouse } from '../../../src/warehouse/index.js';
import type { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';

/**
 * DuckDB whose writes can be held at a gate (a write in flight for exactly as long as a
 * test wants) or made to fail (a warehouse that is down).
 */
export class GatedWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  failing = false;
  /** Writes waiting at the gate right now. */
  held = 0;
  /** Rows that reached DuckDB. */
  written = 0;
  private gate?: { promise: Promise<void>; open: () => void };

  constructor(private readonly inner: DuckDbWarehouse) {}

  /** Holds every write from now on until open(). */
  shut(): void {
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    this.gate = { promise, open };
  }

  open(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  ensureTables(specs: readonly TableSpec[]) {
    return this.inner.ensureTables(specs);
  }
  eraseRows(...args: Parameters<Warehouse['eraseRows']>) {
    return this.inner.eraseRows(...args);
  }
  distinctValues(...args: Parameters<Warehouse['distinctValues']>) {
    return this.inner.distinctValues(...args);
  }

  async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    while (this.gate) {
      this.held++;
      await this.gate.promise.finally(() => this.held--);
    }
    if (this.failing) throw new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'injected outage');
    const changed = await this.inner.upsert(spec, rows);
    this.written += rows.length;
    return changed;
  }

  query(sql: string) {
    return this.inner.query(sql);
  }

  close() {
    this.open();
    return this.inner.close();
  }
}
