import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALL_EVENTS, DEAD_LETTERS, newestPerKey, REQUESTS, type Row, type TableSpec } from '../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckdbDialect } from '../support/dialects.js';
import { rowFor } from '../support/table-rows.js';
import { gapsContract } from './gaps-contract.js';
import { viewsContract } from './views-contract.js';
import { warehouseContract } from './warehouse-contract.js';

const viewsFile = join(mkdtempSync(join(tmpdir(), 'callstream-views-')), 'w.duckdb');

warehouseContract('duckdb', () => DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-duck-')), 'w.duckdb')), duckdbDialect);

describe('DuckDbWarehouse', () => {
  it('adds new nullable columns when the table spec gains them, keeping the rows', async () => {
    const warehouse = await DuckDbWarehouse.open(':memory:');
    const v1: TableSpec = { name: 'evolving', keyColumns: ['call_id', 'event_type'], clusterBy: ['call_id'], columns: [
      { name: 'call_id', type: 'STRING', required: true, description: '' },
      { name: 'event_type', type: 'STRING', required: true, description: '' },
    ] };
    await warehouse.ensureTables([v1]);
    const v2: TableSpec = { ...v1, columns: [...v1.columns, { name: 'sentiment', type: 'STRING', description: '' }] };
    await warehouse.ensureTables([v2]);
    const columns = await warehouse.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'evolving' ORDER BY ordinal_position");
    expect(columns.map((c) => c.column_name)).toEqual(['call_id', 'event_type', 'sentiment']);
    await warehouse.close();
  });

  it('gives a requests table made before trace_id the column at start: old rows null, new rows their trace id', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callstream-duck-migrate-')), 'w.duckdb');
    const before: TableSpec = { ...REQUESTS, columns: REQUESTS.columns.filter((c) => c.name !== 'trace_id') };
    const old = await DuckDbWarehouse.open(file);
    await old.ensureTables([before]);
    await old.upsert(before, [rowFor(before, { request_id: 'r-old', flow: 'callaro', status: 202 })]);
    await old.close();

    const warehouse = await DuckDbWarehouse.open(file);
    await warehouse.ensureTables([REQUESTS]);
    const columns = await warehouse.query("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'requests' ORDER BY ordinal_position");
    expect(columns.map((c) => c.column_name)).toEqual(REQUESTS.columns.map((c) => c.name));
    expect(columns.at(-1)).toEqual({ column_name: 'trace_id', data_type: 'VARCHAR', is_nullable: 'YES' });
    await warehouse.upsert(REQUESTS, [rowFor(REQUESTS, { request_id: 'r-new', flow: 'callaro', status: 202, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' })]);
    expect(await warehouse.query('SELECT request_id, trace_id FROM requests ORDER BY request_id')).toEqual([
      { request_id: 'r-new', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
      { request_id: 'r-old', trace_id: null },
    ]);
    await warehouse.close();
  });

  it('caps its buffer pool at memoryLimit (CALLSTREAM_DUCKDB_MEMORY_LIMIT), 256 MB by default, and checkpoints at a quarter of it', async () => {
    for (const [options, memory, checkpoint] of [[{}, '244.1 MiB', '61.0 MiB'], [{ memoryLimit: '64MB' }, '61.0 MiB', '15.2 MiB'], [{ memoryLimit: '2GiB' }, '2.0 GiB', '244.1 MiB']] as const) {
      const warehouse = await DuckDbWarehouse.open(':memory:', options);
      expect(await warehouse.query("SELECT current_setting('memory_limit') AS m, current_setting('checkpoint_threshold') AS c")).toEqual([{ m: memory, c: checkpoint }]);
      await warehouse.close();
    }
  });

  it('has its allocator give memory back after 16 MB, with background threads (not 128 MB / 512 MB)', async () => {
    const warehouse = await DuckDbWarehouse.open(':memory:');
    expect(await warehouse.query("SELECT current_setting('allocator_flush_threshold') AS f, current_setting('allocator_bulk_deallocation_flush_threshold') AS b, current_setting('allocator_background_threads') AS t")).toEqual([{ f: '15.2 MiB', b: '15.2 MiB', t: true }]);
    await warehouse.close();
  });

  it('does not vacuum at checkpoints: row groups of separate writes stay as written (max_vacuum_tasks 0)', async () => {
    // Merging row groups (after deletes, or small ones a large insert made) took most of each
    // checkpoint on a file holding history, while writes waited (docs/performance.md). Four writes
    // of 5,000 rows, each checkpointed at close: DuckDB's default vacuum merges them into two.
    const file = join(mkdtempSync(join(tmpdir(), 'callstream-vacuum-')), 'w.duckdb');
    for (let write = 0; write < 4; write++) {
      const warehouse = await DuckDbWarehouse.open(file);
      await warehouse.ensureTables([CALL_EVENTS]);
      await warehouse.upsert(CALL_EVENTS, Array.from({ length: 5_000 }, (_, i) => rowFor(CALL_EVENTS, { call_id: `v${write}_${i}`, event_type: 'call.completed', request_id: `r${write}`, received_at: Date.UTC(2026, 5, 1), event_time: Date.UTC(2026, 5, 1) })));
      await warehouse.close();
    }
    const warehouse = await DuckDbWarehouse.open(file, { readOnly: true });
    expect(await warehouse.query("SELECT current_setting('max_vacuum_tasks') AS v, (SELECT count(*) FROM call_events) AS n")).toEqual([{ v: '0', n: '20000' }]);
    expect(await warehouse.query("SELECT count(DISTINCT row_group_id) AS groups FROM pragma_storage_info('call_events')")).toEqual([{ groups: '4' }]);
    await warehouse.close();
  });

  it('runs queries read-only', async () => {
    const warehouse = await DuckDbWarehouse.open(':memory:');
    await expect(warehouse.query('CREATE TABLE sneaky (a INT)')).rejects.toMatchObject({ code: 'WH_QUERY_REFUSED' });
    await warehouse.close();
  });
});
/**
 * The write path that does not scan history (writePath 'filtered'): a key the table never held
 * is inserted without a lookup, a key it may hold is looked up among the rows at least as recent
 * as the incoming ones, and what is not found there goes through the whole-table MERGE. Every
 * branch must give what the version rule says, whatever the versions' event times (a newer
 * version on an earlier or a later day), across a reopen of the file (the key filter is rebuilt
 * from the stored rows) and for every table's key shape.
 */
describe('DuckDbWarehouse: the filtered write path', () => {
  const DAY = 86_400_000;
  const T0 = Date.parse('2026-06-01T00:00:00Z');
  const openFile = (file: string) => DuckDbWarehouse.open(file);

  it('keeps one row per key, the newest, whatever the event times, across reopens (random histories)', async () => {
    const version = fc.record({ request: fc.nat(5), day: fc.integer({ min: -400, max: 400 }), batch: fc.nat(3) });
    const histories = fc.sample(fc.array(version, { minLength: 1, maxLength: 6 }), { numRuns: 250, seed: 7 });
    const batches: Row[][] = [[], [], [], []];
    histories.forEach((versions, n) => {
      for (const v of versions) {
        const at = T0 + v.request * 1000;
        batches[v.batch].push(rowFor(CALL_EVENTS, { call_id: `fk_${n}`, event_type: 'call.completed', request_id: `r${v.request}`, received_at: at, event_time: T0 + v.day * DAY, agent_id: v.request }, at));
      }
    });
    const file = join(mkdtempSync(join(tmpdir(), 'callstream-filtered-')), 'w.duckdb');
    for (const batch of batches) {
      // A fresh instance per batch: its key filter is built from the rows stored so far.
      const warehouse = await openFile(file);
      await warehouse.ensureTables([CALL_EVENTS]);
      if (batch.length > 0) await warehouse.upsert(CALL_EVENTS, batch);
      await warehouse.close();
    }
    const warehouse = await openFile(file);
    await warehouse.ensureTables([CALL_EVENTS]);
    const stored = await warehouse.query('SELECT call_id, request_id, count(*) OVER (PARTITION BY call_id) AS n FROM call_events');
    const expected = new Map(newestPerKey(CALL_EVENTS, batches.flat()).map((r) => [String(r.call_id), String(r.request_id)]));
    expect(stored.filter((r) => Number(r.n) !== 1)).toEqual([]);
    expect(new Map(stored.map((r) => [String(r.call_id), String(r.request_id)]))).toEqual(expected);
    // Replaying everything again, in one batch, changes nothing.
    expect(await warehouse.upsert(CALL_EVENTS, batches.flat())).toBe(0);
    await warehouse.close();
  });

  it('finds a stored version on a later day than the newer one (no upper bound), and one on an earlier day (the MERGE)', async () => {
    const warehouse = await DuckDbWarehouse.open(':memory:');
    await warehouse.ensureTables([CALL_EVENTS]);
    const row = (id: string, request: number, day: number) => rowFor(CALL_EVENTS, { call_id: id, event_type: 'call.completed', request_id: `r${request}`, received_at: T0 + request, event_time: T0 + day * DAY });
    await warehouse.upsert(CALL_EVENTS, [row('later', 1, 1), row('earlier', 1, -30)]);
    expect(await warehouse.upsert(CALL_EVENTS, [row('later', 2, 0), row('earlier', 2, 0)])).toBe(2);
    expect(await warehouse.upsert(CALL_EVENTS, [row('later', 0, -5), row('earlier', 0, 5)])).toBe(0);
    const rows = await warehouse.query('SELECT call_id, request_id FROM call_events ORDER BY call_id');
    expect(rows).toEqual([{ call_id: 'earlier', request_id: 'r2' }, { call_id: 'later', request_id: 'r2' }]);
    await warehouse.close();
  });

  it('keys every table by its own columns (one text column, integers) in the filter and in SQL', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callstream-filtered-')), 'w.duckdb');
    const dead = (offset: number, request: string, at: number) => rowFor(DEAD_LETTERS, { source_topic: 't', source_partition: 1, source_offset: offset, request_id: request, received_at: at, event_time: at }, at);
    const request = (id: string, status: number, at: number) => rowFor(REQUESTS, { request_id: id, status, received_at: at, event_time: at }, at);
    let warehouse = await openFile(file);
    await warehouse.ensureTables([REQUESTS, DEAD_LETTERS]);
    await warehouse.upsert(DEAD_LETTERS, [dead(1, 'a', T0), dead(12, 'a', T0)]);
    await warehouse.upsert(REQUESTS, [request('q1', 202, T0)]);
    await warehouse.close();
    warehouse = await openFile(file);
    await warehouse.ensureTables([REQUESTS, DEAD_LETTERS]);
    // Offsets 1 and 12 are different keys (no "1" + "12" = "11" + "2" mix-up); 12 again is the same one.
    expect(await warehouse.upsert(DEAD_LETTERS, [dead(11, 'b', T0 + 1), dead(12, 'b', T0 + 1)])).toBe(2);
    expect(await warehouse.upsert(REQUESTS, [request('q1', 503, T0 + 1), request('q2', 202, T0 + 1)])).toBe(2);
    expect(await warehouse.query('SELECT source_offset, request_id FROM dead_letters ORDER BY 1')).toEqual([
      { source_offset: '1', request_id: 'a' }, { source_offset: '11', request_id: 'b' }, { source_offset: '12', request_id: 'b' },
    ]);
    expect(await warehouse.query('SELECT request_id, status FROM requests ORDER BY 1')).toEqual([{ request_id: 'q1', status: '503' }, { request_id: 'q2', status: '202' }]);
    await warehouse.close();
  });

  it('starts from the key filter saved at a clean close, and builds it again when the table changed since', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callstream-filtered-')), 'w.duckdb');
    const row = (id: string, request: number) => rowFor(CALL_EVENTS, { call_id: id, event_type: 'call.completed', request_id: `r${request}`, received_at: T0 + request, event_time: T0 - 30 * DAY });
    let warehouse = await openFile(file);
    await warehouse.ensureTables([CALL_EVENTS]);
    await warehouse.upsert(CALL_EVENTS, [row('a', 1), row('b', 1)]);
    await warehouse.close();
    const saved = async () => Number((await warehouse.query("SELECT count(*) AS n FROM callstream_state.key_filters WHERE table_name = 'call_events'"))[0].n);
    // Another writer (here the whole-table MERGE, which knows nothing of the filter) adds a key.
    warehouse = await DuckDbWarehouse.open(file, { writePath: 'merge' });
    await warehouse.ensureTables([CALL_EVENTS]);
    expect(await saved()).toBe(1);
    await warehouse.upsert(CALL_EVENTS, [row('c', 1)]);
    await warehouse.close();
    warehouse = await openFile(file);
    await warehouse.ensureTables([CALL_EVENTS]);
    // Read and deleted at start: a crash from now on leaves nothing stale behind.
    expect(await saved()).toBe(0);
    // The saved filter knew a and b, not c: it was not used (the table has 3 rows, it was saved at 2).
    expect(await warehouse.upsert(CALL_EVENTS, [row('a', 2), row('b', 0), row('c', 2)])).toBe(2);
    expect(await warehouse.query('SELECT call_id, request_id FROM call_events ORDER BY 1')).toEqual([
      { call_id: 'a', request_id: 'r2' }, { call_id: 'b', request_id: 'r1' }, { call_id: 'c', request_id: 'r2' },
    ]);
    await warehouse.close();
    warehouse = await openFile(file);
    await warehouse.ensureTables([CALL_EVENTS]);
    expect(await warehouse.upsert(CALL_EVENTS, [row('c', 3), row('d', 3)])).toBe(2);
    expect(Number((await warehouse.query('SELECT count(*) AS n FROM call_events'))[0].n)).toBe(4);
    await warehouse.close();
  });

  it('writes 120,000 rows of 2 KB under a 64 MB pool (checkpoints at a quarter of it)', { timeout: 120_000 }, async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callstream-small-pool-')), 'w.duckdb');
    const warehouse = await DuckDbWarehouse.open(file, { memoryLimit: '64MB' });
    await warehouse.ensureTables([CALL_EVENTS]);
    const payload = JSON.stringify({ transcript: 'words '.repeat(340) });
    for (let b = 0; b < 120; b++) {
      const rows = Array.from({ length: 1_000 }, (_, i) => rowFor(CALL_EVENTS, { call_id: `p_${b}_${i}`, event_type: 'call.completed', request_id: `r${b}`, received_at: T0 + b, event_time: T0 + b, payload }));
      // Every tenth row again, newer: the lookup path too.
      if (b > 0) rows.push(...Array.from({ length: 100 }, (_, i) => rowFor(CALL_EVENTS, { call_id: `p_${b - 1}_${i * 10}`, event_type: 'call.completed', request_id: `r${b}`, received_at: T0 + b, event_time: T0 + b - 1, payload })));
      await warehouse.upsert(CALL_EVENTS, rows);
    }
    expect(await warehouse.query('SELECT count(*) AS n, count(DISTINCT call_id) AS keys FROM call_events')).toEqual([{ n: '120000', keys: '120000' }]);
    expect(await warehouse.query("SELECT current_setting('checkpoint_threshold') AS c")).toEqual([{ c: '15.2 MiB' }]);
    await warehouse.close();
  });

  it('stores a batch whole or not at all', async () => {
    const warehouse = await DuckDbWarehouse.open(':memory:');
    await warehouse.ensureTables([CALL_EVENTS]);
    const row = (id: string, request: number, extra: Partial<Row> = {}) => rowFor(CALL_EVENTS, { call_id: id, event_type: 'call.completed', request_id: `r${request}`, received_at: T0 + request, event_time: T0, ...extra });
    await warehouse.upsert(CALL_EVENTS, [row('known', 1)]);
    // A new key, a newer version of a stored one, and a row DuckDB refuses (not JSON): nothing of it lands.
    await expect(warehouse.upsert(CALL_EVENTS, [row('fresh', 2), row('known', 2), row('bad', 2, { payload: '{not json' })])).rejects.toMatchObject({ code: 'SINK_ROW_REJECTED' });
    expect(await warehouse.query('SELECT call_id, request_id FROM call_events')).toEqual([{ call_id: 'known', request_id: 'r1' }]);
    // The same rows without the bad one, after the failure: written as if nothing had happened.
    expect(await warehouse.upsert(CALL_EVENTS, [row('fresh', 2), row('known', 2)])).toBe(2);
    await warehouse.close();
  });
});

viewsContract('duckdb', (views) => DuckDbWarehouse.open(viewsFile, { views }), duckdbDialect);

const gapsFile = join(mkdtempSync(join(tmpdir(), 'callstream-gaps-')), 'w.duckdb');
gapsContract('duckdb', (views) => DuckDbWarehouse.open(gapsFile, { views }), duckdbDialect);
