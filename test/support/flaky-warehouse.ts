import { CallstreamError } from '../../src/errors.js';
import type { Row, TableSpec, Warehouse } from '../../src/warehouse/index.js';

/** A warehouse behind a switch: while `failing`, every write fails the way an unreachable warehouse does. */
export class FlakyWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  failing = false;
  failedWrites = 0;
  constructor(private readonly inner: Warehouse) {}
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
    if (this.failing) {
      this.failedWrites++;
      throw new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'injected outage');
    }
    return this.inner.upsert(spec, rows);
  }
  query(sql: string) {
    return this.inner.query(sql);
  }
  close() {
    return this.inner.close();
  }
}
