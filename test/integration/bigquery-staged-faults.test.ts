import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { FlushCoordinator } from '../../src/sink/index.js';
import { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';
import { StagedBigQueryWarehouse, stagingFields } from '../../src/warehouse/bigquery/staged-warehouse.js';
import { CommittedStream, createWriterClient, protoDescriptorFor } from '../../src/warehouse/bigquery/storage-write.js';
import { CALL_EVENTS, type Row } from '../../src/warehouse/index.js';
import { BQ_EMULATOR, emulatorWarehouse } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { TcpFaultProxy } from '../support/tcp-fault-proxy.js';
import { GRPC_ENDPOINT, requireStorageWrite, stagedWarehouse } from '../support/bigquery-staged-emulator.js';
import { callRow } from './warehouse-contract.js';

const silent = createLogger({ level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Batches with what a replay and redeliveries bring: 30 keys, several versions each, out of
 * order and across batches, exact repeats of a request, two versions in one millisecond.
 */
function batches(): Row[][] {
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647);
  return Array.from({ length: 5 }, (_, b) =>
    Array.from({ length: 40 }, (_, i) => {
      const version = next() % 12;
      const id = `c-fault-${next() % 30}`;
      return callRow(id, b * 100 + i, { received_at: Date.UTC(2026, 10, 27) + version * 1000, request_id: `req-${id}-${version}-${next() % 2}` });
    }),
  );
}

/** Writes the batches through a sink's flush coordinator (which retries what fails) and returns the table's checksum. */
async function writeAll(warehouse: BigQueryWarehouse, during?: (batch: number) => Promise<void>): Promise<Record<string, unknown>> {
  await warehouse.ensureTables([CALL_EVENTS]);
  const flusher = new FlushCoordinator(warehouse, { maxRecords: 1_000, intervalMs: 0 }, silent);
  try {
    for (const [b, rows] of batches().entries()) {
      const written = flusher.add(new Map([[CALL_EVENTS, rows]]));
      await during?.(b);
      expect(await written).toEqual([]);
    }
  } finally {
    flusher.stop();
  }
  const [twice] = await warehouse.query(
    `SELECT COUNT(*) AS n FROM (SELECT call_id, event_type FROM ${warehouse.tableRef(CALL_EVENTS)} GROUP BY 1, 2 HAVING COUNT(*) > 1)`,
  );
  expect(twice.n).toBe(0);
  const [checksum] = await warehouse.query(bigQueryDialect.checksum(warehouse, 'call_events'));
  return checksum;
}

async function stagedRows(warehouse: StagedBigQueryWarehouse): Promise<number> {
  const [row] = await warehouse.query(`SELECT COUNT(*) AS n FROM ${warehouse.stagingRef(CALL_EVENTS)}`);
  return Number(row.n);
}

async function withGrpcProxy(): Promise<{ proxy: TcpFaultProxy; endpoint: string }> {
  const proxy = new TcpFaultProxy(GRPC_ENDPOINT);
  const endpoint = await proxy.start();
  cleanups.push(() => proxy.stop());
  return { proxy, endpoint };
}

function open<T extends { close(): Promise<void> }>(warehouse: T): T {
  cleanups.push(() => warehouse.close());
  return warehouse;
}

describe('staged mode under faults (emulator)', () => {
  let reference: Record<string, unknown> | undefined;
  /** The table the same batches give through the parameter MERGE, without faults. */
  async function expected(): Promise<Record<string, unknown>> {
    reference ??= await writeAll(open(emulatorWarehouse()));
    return reference;
  }

  it('gives the same table as the parameter MERGE without faults', async () => {
    await requireStorageWrite();
    const staged = open(stagedWarehouse());
    expect(await writeAll(staged)).toEqual(await expected());
    expect(await stagedRows(staged)).toBe(0);
  });

  it('stores a retried append once: the API answers ALREADY_EXISTS at its offset', async () => {
    await requireStorageWrite();
    const warehouse = open(stagedWarehouse());
    await warehouse.ensureTables([CALL_EVENTS]);
    const client = createWriterClient(warehouse.settings);
    const stream = new CommittedStream(
      client,
      `projects/${BQ_EMULATOR.project}/datasets/${warehouse.settings.dataset}/tables/${warehouse.stagingName(CALL_EVENTS)}`,
      protoDescriptorFor(stagingFields(CALL_EVENTS)),
      silent,
    );
    cleanups.push(async () => {
      stream.close();
      client.close();
    });
    const rows = [0, 1, 2].map((i) => ({ call_id: `c-retry-${i}`, event_type: 'call.completed', stage_id: 'test-1', staged_at: new Date(), event_time: new Date(), payload: '{}' }));
    expect(await stream.appendAt(0, rows)).toBe('appended');
    expect(await stream.appendAt(0, rows)).toBe('already-there');
    await expect(stream.appendAt(7, rows)).rejects.toMatchObject({ code: 11 });
    expect(await stagedRows(warehouse)).toBe(3);
  });

  it('stores an append once when its answer was lost and it was sent again', async () => {
    await requireStorageWrite();
    const { proxy, endpoint } = await withGrpcProxy();
    const warehouse = open(stagedWarehouse({ storageWriteEndpoint: endpoint, mergeIntervalMs: 0 }));
    await warehouse.ensureTables([CALL_EVENTS]);
    await warehouse.upsert(CALL_EVENTS, [callRow('c-lost-0', 1)]);
    const lose = proxy.loseReplies(1_500);
    const written = warehouse.upsert(CALL_EVENTS, [callRow('c-lost-1', 2), callRow('c-lost-2', 3)]);
    await lose;
    await written;
    expect(proxy.swallowed).toBeGreaterThan(0);
    expect(warehouse.staged).toMatchObject({ appends: 2, streams: 1, appendsAlreadyThere: 1 });
    expect(warehouse.staged.appendRetries).toBeGreaterThanOrEqual(1);
    const [target] = await warehouse.query(`SELECT COUNT(*) AS n FROM ${warehouse.tableRef(CALL_EVENTS)}`);
    expect(target.n).toBe(3);
  });

  it('keeps several appends in flight and stores each once when their answers were lost', async () => {
    await requireStorageWrite();
    const { proxy, endpoint } = await withGrpcProxy();
    // Small requests, so one upsert is many appends, up to 4 in flight on the stream.
    const warehouse = open(stagedWarehouse({ storageWriteEndpoint: endpoint, mergeIntervalMs: 0, maxRequestBytes: 10_000, stagedAppendsInFlight: 4 }));
    await warehouse.ensureTables([CALL_EVENTS]);
    const rows = (from: number) => Array.from({ length: 150 }, (_, i) => callRow(`c-window-${from + i}`, from + i));
    await warehouse.upsert(CALL_EVENTS, rows(0));
    expect(warehouse.staged.maxAppendsInFlight).toBe(4);
    const before = warehouse.staged.appends;
    const lose = proxy.loseReplies(1_000);
    const written = warehouse.upsert(CALL_EVENTS, rows(150));
    await lose;
    await written;
    expect(proxy.swallowed).toBeGreaterThan(0);
    expect(warehouse.staged.appendRetries).toBeGreaterThan(0);
    expect(warehouse.staged.appends - before).toBeGreaterThan(4);
    const [target] = await warehouse.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT call_id) AS keys FROM ${warehouse.tableRef(CALL_EVENTS)}`);
    expect(target).toEqual({ n: 300, keys: 300 });
    expect(await stagedRows(warehouse)).toBe(0);
  });

  it('gives a stream up after its tries fail and appends on a new one', async () => {
    await requireStorageWrite();
    const { proxy, endpoint } = await withGrpcProxy();
    const warehouse = open(stagedWarehouse({ storageWriteEndpoint: endpoint }));
    await warehouse.ensureTables([CALL_EVENTS]);
    await warehouse.upsert(CALL_EVENTS, [callRow('c-give-up-1', 1), callRow('c-give-up-2', 2)]);
    proxy.goDown();
    await expect(warehouse.upsert(CALL_EVENTS, [callRow('c-give-up-3', 3)])).rejects.toMatchObject({ code: 'SINK_WAREHOUSE_UNAVAILABLE' });
    proxy.up();
    await warehouse.upsert(CALL_EVENTS, [callRow('c-give-up-3', 3)]);
    expect(warehouse.staged.streams).toBe(2);
    const [target] = await warehouse.query(`SELECT COUNT(*) AS n FROM ${warehouse.tableRef(CALL_EVENTS)}`);
    expect(target.n).toBe(3);
  });

  it('ends with the same table when the Storage Write API is down during appends', async () => {
    await requireStorageWrite();
    const { proxy, endpoint } = await withGrpcProxy();
    const warehouse = open(stagedWarehouse({ storageWriteEndpoint: endpoint }));
    const checksum = await writeAll(warehouse, async (batch) => {
      if (batch !== 1 && batch !== 3) return;
      proxy.goDown();
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      proxy.up();
    });
    expect(proxy.refused).toBeGreaterThan(0);
    expect(warehouse.staged.appendRetries).toBeGreaterThan(0);
    expect(checksum).toEqual(await expected());
    expect(await stagedRows(warehouse)).toBe(0);
  });

  it('ends with the same table when BigQuery is down or refuses during MERGEs', async () => {
    await requireStorageWrite();
    const rest = new FaultProxy(BQ_EMULATOR.endpoint);
    const apiEndpoint = await rest.start();
    cleanups.push(() => rest.stop());
    const warehouse = open(stagedWarehouse({ apiEndpoint, mergeIntervalMs: 300 }));
    const checksum = await writeAll(warehouse, async (batch) => {
      // The appends go through (gRPC is not behind this proxy); the MERGEs meet the faults.
      // Down: the BigQuery client's own retries carry the MERGE over the outage. 401: not
      // retried by the client, so the MERGE fails, the sink sends the rows again.
      const mode = batch === 1 ? 'down' : batch === 3 ? 'http401' : undefined;
      if (!mode) return;
      rest.mode = mode;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      rest.mode = 'pass';
    });
    expect(rest.refused).toBeGreaterThan(1);
    expect(warehouse.staged.mergeFailures).toBeGreaterThan(0);
    expect(checksum).toEqual(await expected());
    // Staged rows of the failed MERGEs were deleted with a later one.
    expect(await stagedRows(warehouse)).toBe(0);
  });

  it('ends with the same table when a MERGE ran but its answer was lost', async () => {
    await requireStorageWrite();
    const rest = new TcpFaultProxy(new URL(BQ_EMULATOR.endpoint).host);
    const apiEndpoint = `http://${await rest.start()}`;
    cleanups.push(() => rest.stop());
    const warehouse = open(stagedWarehouse({ apiEndpoint, mergeIntervalMs: 200 }));
    const checksum = await writeAll(warehouse, async (batch) => {
      if (batch === 2) await rest.loseReplies(1_000);
    });
    expect(rest.swallowed).toBeGreaterThan(0);
    expect(checksum).toEqual(await expected());
  });

  it('merges at start-up what an earlier run left staged', async () => {
    await requireStorageWrite();
    const first = open(stagedWarehouse());
    await first.ensureTables([CALL_EVENTS]);
    // An append whose MERGE never ran (the process died between the two).
    const stream = (first as unknown as { streamFor(spec: typeof CALL_EVENTS): CommittedStream }).streamFor(CALL_EVENTS);
    await stream.append([{ call_id: 'c-left', event_type: 'call.completed', stage_id: 'dead-1', staged_at: new Date(), event_time: new Date(Date.UTC(2026, 10, 27)), payload: '{"left":1}', request_id: 'req-left', received_at: new Date(Date.UTC(2026, 10, 27)), kafka_partition: 0, kafka_offset: 1, ingested_at: new Date() }], 100);
    expect(await stagedRows(first)).toBe(1);
    const second = open(stagedWarehouse({ dataset: first.settings.dataset }));
    await second.ensureTables([CALL_EVENTS]);
    expect(second.staged.leftoverAppends).toBe(1);
    expect(await second.query(`SELECT call_id FROM ${second.tableRef(CALL_EVENTS)}`)).toEqual([{ call_id: 'c-left' }]);
    expect(await stagedRows(second)).toBe(0);
  });
});
