import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExhaustedResource } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { FlushCoordinator } from '../../src/sink/index.js';
import { CALL_EVENTS, TABLES, type Row } from '../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { SmallDisk } from '../support/small-disk.js';
import { callRow } from './warehouse-contract.js';

/**
 * The DuckDB warehouse out of memory (a small memory_limit) and out of disk (its file on a
 * tmpfs of a few MB), written through the sink's flush coordinator: the fault is reported as
 * SINK_WAREHOUSE_EXHAUSTED with its resource, the sink goes on by itself (the warehouse reopened,
 * smaller pieces; for the disk once space is freed), and every row lands exactly once.
 */

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
/**
 * Rows of about 2.5 KB, as Callaro's call.completed events with a transcript are; random, so
 * that DuckDB's compression does not shrink what a checkpoint writes to nothing.
 */
const row = (n: number): Row => callRow(`ex-${n}`, n, { payload: JSON.stringify({ event: 'call.completed', n, transcript: randomBytes(1_800).toString('base64') }) });

let cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await Promise.resolve().then(step).catch(() => undefined);
  cleanup = [];
});

/** A coordinator over the warehouse that records the exhaustion faults it saw. */
function coordinator(warehouse: DuckDbWarehouse, maxRecords: number) {
  const faults: ExhaustedResource[] = [];
  let written = 0;
  const flusher = new FlushCoordinator(warehouse, { maxRecords, intervalMs: 10 }, logger, {
    onExhausted: ({ resource }) => faults.push(resource),
    onWrite: ({ rows }) => (written += rows),
  });
  cleanup.push(() => flusher.stop());
  return { flusher, faults, written: () => written };
}

/** Fails, naming what did not happen, when `work` takes longer than `ms`. */
async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s: the sink stalls`)), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function expectEveryRowOnce(warehouse: DuckDbWarehouse, count: number): Promise<void> {
  const [stats] = await warehouse.query(`SELECT count(*) AS n, count(DISTINCT call_id) AS ids, min(voice_session_id) AS lo, max(voice_session_id) AS hi FROM call_events`);
  expect(stats).toEqual({ n: String(count), ids: String(count), lo: '9000', hi: String(9000 + count - 1) });
}

describe('DuckDB out of memory', () => {
  // Measured with flushes of 2,000 such rows: with 48 MB every one fails as a whole, the same
  // retried for good (the stall this test caught: it timed out); with 64 MB one fails every 8
  // flushes or so (what DuckDB holds grows with the writes until a reopen), with 96 MB none in 120,000.
  // Since the stage is made anew per write and checkpoints come at a quarter of the pool, 48 MB did
  // not always run out (a run beside duckdb-warehouse.test.ts passed without a fault); 32 MB does,
  // and still lets every piece through after a reopen (24 MB stalled).
  it('reports SINK_WAREHOUSE_EXHAUSTED (memory), writes smaller pieces on a reopened file: every row once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'callstream-oom-')), 'w.duckdb');
    const warehouse = await DuckDbWarehouse.open(path, { memoryLimit: '32MB' });
    cleanup.push(() => warehouse.close());
    await warehouse.ensureTables(TABLES);
    const { flusher, faults } = coordinator(warehouse, 2_000);
    const total = 16_000;
    for (let from = 0; from < total; from += 2_000) {
      const added = flusher.add(new Map([[CALL_EVENTS, Array.from({ length: 2_000 }, (_, i) => row(from + i))]]));
      await within(30_000, added, `the flush of rows ${from}..${from + 1_999}`);
    }
    expect(faults.length, 'the memory limit was reached').toBeGreaterThan(0);
    expect(new Set(faults)).toEqual(new Set(['memory']));
    await expectEveryRowOnce(warehouse, total);
  }, 120_000);
});

describe('DuckDB out of disk', () => {
  // 256MB: the WAL cannot grow, the commit fails and the database stays usable. 1MB with flushes
  // of 100 rows: the commits land, but the checkpoint after them fails ("COMMIT succeeded and is
  // durable, but the autocheckpoint failed"), which invalidates the database until it is reopened.
  it.each([
    ['256MB', 500],
    ['1MB', 100],
  ])('checkpoint threshold %s, flushes of %i rows: reports SINK_WAREHOUSE_EXHAUSTED (disk), waits while full, goes on by itself once space is freed: every row once', async (checkpointThreshold, flush) => {
    const disk = SmallDisk.mount(24);
    cleanup.push(() => disk.unmount());
    const warehouse = await DuckDbWarehouse.open(join(disk.dir, 'w.duckdb'), { checkpointThreshold });
    cleanup.push(() => warehouse.close());
    await warehouse.ensureTables(TABLES);
    disk.fill(2560 * 1024);
    const { flusher, faults, written } = coordinator(warehouse, flush);

    // 4,000 rows of 2.5 KB: several times the space left.
    const adds: Promise<unknown>[] = [];
    const total = 4_000;
    for (let from = 0; from < total; from += flush) {
      adds.push(flusher.add(new Map([[CALL_EVENTS, Array.from({ length: flush }, (_, i) => row(from + i))]])));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Full for a while: not everything is written, and queries are still answered.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const during = written();
    expect(during).toBeLessThan(total);
    expect(Number((await warehouse.query('SELECT count(*) AS n FROM call_events'))[0].n)).toBeGreaterThanOrEqual(during);
    // A checkpoint on the full disk (a query may ask for one, DuckDB takes them by itself) fails and
    // invalidates the database: from then on only a reopen lets a write in, whatever the space.
    await expect(warehouse.query('SELECT * FROM checkpoint()')).rejects.toThrow(/No space left on device/);

    disk.unfill();
    await within(30_000, Promise.all(adds), 'the writes after space was freed');
    expect(written()).toBe(total);
    await expectEveryRowOnce(warehouse, total);
    expect(faults[0], 'the fault was reported as exhaustion of the disk').toBe('disk');
  }, 120_000);
});
