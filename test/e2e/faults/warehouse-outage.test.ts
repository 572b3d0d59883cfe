import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallstreamError } from '../../../src/errors.js';
import { type Row, type TableSpec, type Warehouse } from '../../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ContractSender, deliveriesFor } from '../../support/contract-sender.js';
import { expectExactlyAcknowledged, versionedCall } from '../../support/expect-acknowledged.js';
import { groupProgress, startTestPipeline, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';

/** DuckDB behind a switch: while `failing`, every write fails the way an unreachable warehouse does. */
class FlakyWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  failing = false;
  failedWrites = 0;
  constructor(private readonly inner: DuckDbWarehouse) {}
  ensureTables(specs: readonly TableSpec[]) {
    return this.inner.ensureTables(specs);
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

let t: Awaited<ReturnType<typeof startTestPipeline>>;
let warehouse: FlakyWarehouse;

beforeAll(async () => {
  warehouse = new FlakyWarehouse(await DuckDbWarehouse.open(':memory:'));
  t = await startTestPipeline({ warehouse });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
});

describe('fault: the warehouse write fails for a while', () => {
  it('commits nothing during the outage, backs off, then catches up with every acknowledged event exactly once', async () => {
    const { consumerGroup, topicEvents } = t.config;
    warehouse.failing = true;
    const sender = new ContractSender(t.url, { concurrency: 8 });
    await sender.run(deliveriesFor(150, versionedCall));
    await waitFor(async () => warehouse.failedWrites, (n) => n >= 3, 30_000, 'retried writes');
    const during = await groupProgress(consumerGroup, topicEvents);
    expect(during.end).toBeGreaterThan(150);
    expect(during.committed).toBe(0);
    expect(await warehouse.query('SELECT count(*) AS n FROM call_events')).toEqual([{ n: '0' }]);

    warehouse.failing = false;
    await waitForCaughtUp(consumerGroup, topicEvents, 60_000);
    await expectExactlyAcknowledged(warehouse, sender);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(Number(/^callstream_sink_write_retries_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
  });
});
