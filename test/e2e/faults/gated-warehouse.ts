import { CallstreamError } from '../../../src/errors.js';
import type { Row, TableSpec } from '../../../src/warehouse/index.js';
import { DelegatingWarehouse } from '../../support/delegating-warehouse.js';

/**
 * A warehouse (DuckDB or BigQuery in the fault tests) whose writes can be held at a gate (a write in
 * flight for exactly as long as a test wants) or made to fail (a warehouse that is down).
 */
export class GatedWarehouse extends DelegatingWarehouse {
  failing = false;
  /** Writes waiting at the gate right now. */
  held = 0;
  /** Rows that reached the warehouse. */
  written = 0;
  /** Writes refused while failing. */
  refused = 0;
  private gate?: { promise: Promise<void>; open: () => void };

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

  override async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    while (this.gate) {
      this.held++;
      await this.gate.promise.finally(() => this.held--);
    }
    if (this.failing && ++this.refused) throw new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'injected outage');
    const changed = await this.inner.upsert(spec, rows);
    this.written += rows.length;
    return changed;
  }

  override close(): Promise<void> {
    this.open();
    return this.inner.close();
  }
}
