import { CallstreamError } from '../../src/errors.js';
import type { Row, TableSpec } from '../../src/warehouse/index.js';
import { DelegatingWarehouse } from './delegating-warehouse.js';

/** A warehouse behind a switch: while `failing`, every write fails the way an unreachable warehouse does. */
export class FlakyWarehouse extends DelegatingWarehouse {
  failing = false;
  failedWrites = 0;

  override async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    if (this.failing) {
      this.failedWrites++;
      throw new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'injected outage');
    }
    return this.inner.upsert(spec, rows);
  }
}
