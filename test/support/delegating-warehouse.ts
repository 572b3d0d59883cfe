import type { Row, TableSpec, Warehouse } from '../../src/warehouse/index.js';

/**
 * A warehouse that hands every call to another one: the base of the test warehouses that
 * change one behaviour (FlakyWarehouse fails writes, GatedWarehouse holds them) and keep
 * the rest, so a method added to Warehouse is added here once.
 */
export class DelegatingWarehouse implements Warehouse {
  readonly kind: Warehouse['kind'];

  constructor(protected readonly inner: Warehouse) {
    this.kind = inner.kind;
  }

  get maxWritesInFlight(): number | undefined {
    return this.inner.maxWritesInFlight;
  }

  ensureTables(specs: readonly TableSpec[]): Promise<void> {
    return this.inner.ensureTables(specs);
  }

  upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    return this.inner.upsert(spec, rows);
  }

  eraseRows(...args: Parameters<Warehouse['eraseRows']>): ReturnType<Warehouse['eraseRows']> {
    return this.inner.eraseRows(...args);
  }

  distinctValues(...args: Parameters<Warehouse['distinctValues']>): ReturnType<Warehouse['distinctValues']> {
    return this.inner.distinctValues(...args);
  }

  query(sql: string): Promise<Record<string, unknown>[]> {
    return this.inner.query(sql);
  }

  viewRef(name: string): string {
    return this.inner.viewRef?.(name) ?? name;
  }

  async recover(): Promise<void> {
    await this.inner.recover?.();
  }

  identity(): ReturnType<Warehouse['identity']> {
    return this.inner.identity();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
