import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CALL_EVENTS, TABLES } from '../../../../src/warehouse/index.js';
import { DuckDbWarehouse, type DuckDbOptions } from '../../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callRow } from '../../../integration/warehouse-contract.js';

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** A warehouse file in a fresh folder with one call in it, as the sink leaves it. */
async function warehouseWithOneCall(options: DuckDbOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'callstream-ro-'));
  const path = join(dir, 'w.duckdb');
  const warehouse = await DuckDbWarehouse.open(path, options);
  cleanup.push(() => warehouse.close());
  await warehouse.ensureTables(TABLES);
  await warehouse.upsert(CALL_EVENTS, [callRow('vs_ro', 1)]);
  return { dir, path, warehouse };
}

/** What a query must not do, whichever process owns the file; `dir` is a folder it may not write to. */
function forbiddenStatements(dir: string): Array<[string, string]> {
  return [
    ['reads a file with read_text', "SELECT * FROM read_text('/etc/hostname')"],
    ['reads a file with read_csv', "SELECT * FROM read_csv('/etc/hostname')"],
    ['lists files with glob', "SELECT * FROM glob('/etc/*')"],
    ['writes a file with COPY … TO', `COPY (SELECT 1) TO '${join(dir, 'x.csv')}'`],
    ['writes files with EXPORT DATABASE', `EXPORT DATABASE '${join(dir, 'export')}'`],
    ['changes a global setting', "SET GLOBAL memory_limit = '10MB'"],
    ['changes a setting', "SET memory_limit = '10MB'"],
    ['changes a setting through PRAGMA', "PRAGMA memory_limit = '10MB'"],
    ['runs a PRAGMA', 'PRAGMA force_checkpoint'],
    ['switches the database', 'USE memory'],
    ['attaches another file', `ATTACH '${join(dir, 'other.duckdb')}' AS other`],
    ['detaches the warehouse', 'DETACH warehouse'],
    ['installs an extension', 'INSTALL httpfs'],
    ['loads an extension', 'LOAD httpfs'],
    ['calls a procedure', 'CALL pragma_version()'],
    ['checkpoints', 'CHECKPOINT'],
    ['sends two statements', 'SELECT 1; SELECT 2'],
    ['hides a write behind a read', 'SELECT 1; DELETE FROM call_events'],
    ['inserts', "INSERT INTO call_events (call_id, event_type) VALUES ('x', 'y')"],
    ['deletes', 'DELETE FROM call_events'],
    ['deletes behind a WITH and a comment', '/* a read */ WITH x AS (SELECT 1) DELETE FROM call_events'],
    ['truncates', 'TRUNCATE call_events'],
    ['creates a table', 'CREATE TABLE sneaky (a INT)'],
    ['drops a table', 'DROP TABLE call_events'],
    ['explains (EXPLAIN ANALYZE runs what it explains)', 'EXPLAIN ANALYZE DELETE FROM call_events'],
  ];
}

describe('callstream query on DuckDB', () => {
  it('refuses every statement but one read-only SELECT, with WH_QUERY_REFUSED, and nothing changes', async () => {
    const { dir, warehouse } = await warehouseWithOneCall();
    const before = await warehouse.query("SELECT current_setting('memory_limit') AS memory, (SELECT count(*) FROM call_events) AS calls");
    for (const [what, sql] of forbiddenStatements(dir)) {
      await expect(warehouse.query(sql), what).rejects.toMatchObject({ code: 'WH_QUERY_REFUSED', message: expect.stringMatching(/^Only one read-only SELECT statement is allowed; /) });
    }
    expect(await warehouse.query("SELECT current_setting('memory_limit') AS memory, (SELECT count(*) FROM call_events) AS calls")).toEqual(before);
    for (const file of ['x.csv', 'export', 'other.duckdb']) expect(existsSync(join(dir, file)), file).toBe(false);
  });

  it('names what it got', async () => {
    const { warehouse } = await warehouseWithOneCall();
    await expect(warehouse.query("COPY (SELECT 1) TO '/tmp/callstream-never.csv'")).rejects.toThrow(/no file or network access/);
    await expect(warehouse.query("SET GLOBAL memory_limit = '10MB'")).rejects.toThrow('Only one read-only SELECT statement is allowed; got SET');
    await expect(warehouse.query('INSTALL httpfs')).rejects.toThrow(/; got LOAD$/);
    await expect(warehouse.query('SELECT 1; SELECT 2')).rejects.toThrow(/; got 2 statements$/);
    await expect(warehouse.query('DELETE FROM call_events')).rejects.toThrow(/; got DELETE$/);
    await expect(warehouse.query('EXPLAIN SELECT 1')).rejects.toThrow(/; got EXPLAIN$/);
    await expect(warehouse.query('-- only a comment\n;')).rejects.toThrow(/; got no statement$/);
  });

  it('answers SELECTs in their forms, and keeps WH_QUERY_FAILED for a query that is wrong', async () => {
    const { warehouse } = await warehouseWithOneCall();
    expect(await warehouse.query("SELECT call_id, extracted_data->>'intent' AS intent FROM call_events")).toEqual([{ call_id: 'vs_ro', intent: 'demo' }]);
    expect(await warehouse.query('WITH c AS (FROM call_events) SELECT count(*) AS n FROM c')).toEqual([{ n: '1' }]);
    // DuckDB parses these into a SELECT of a table function: they only read.
    expect((await warehouse.query('DESCRIBE call_events')).length).toBeGreaterThan(10);
    expect(await warehouse.query("SELECT name FROM pragma_table_info('call_events') WHERE name = 'call_id'")).toEqual([{ name: 'call_id' }]);
    expect(await warehouse.query('-- a comment\nSELECT 1 AS one;')).toEqual([{ one: 1 }]);
    await expect(warehouse.query('SELEC 1')).rejects.toMatchObject({ code: 'WH_QUERY_FAILED' });
    await expect(warehouse.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: 'WH_QUERY_FAILED' });
  });

  it('cuts an answer at the row cap and says so', async () => {
    const { warehouse } = await warehouseWithOneCall({ queryMaxRows: 4096 });
    const over = await warehouse.boundedQuery('SELECT * FROM range(100000000000)');
    expect(over.rows).toHaveLength(4096);
    expect(over.rows[4095]).toEqual({ range: '4095' });
    expect(over.truncated).toBe(true);
    expect(await warehouse.boundedQuery('SELECT * FROM range(4097)')).toMatchObject({ rows: { length: 4096 }, truncated: true });
    expect(await warehouse.boundedQuery('SELECT * FROM range(4096)')).toMatchObject({ rows: { length: 4096 }, truncated: false });
    expect(await warehouse.boundedQuery('SELECT count(*) AS n FROM call_events')).toEqual({ rows: [{ n: '1' }], truncated: false });
  });

  it('interrupts a query at the time limit with WH_QUERY_TIMEOUT, and answers the next one', async () => {
    const { warehouse } = await warehouseWithOneCall({ queryTimeoutMs: 300 });
    await expect(warehouse.query('SELECT count(*) FROM range(100000000000)')).rejects.toMatchObject({
      code: 'WH_QUERY_TIMEOUT',
      message: expect.stringContaining('300 ms (CALLSTREAM_QUERY_TIMEOUT_MS)'),
    });
    expect(await warehouse.query('SELECT count(*) AS n FROM call_events')).toEqual([{ n: '1' }]);
  });

  it('lets a write through while a long query runs: the upsert is done before the query\'s deadline', async () => {
    const { warehouse } = await warehouseWithOneCall({ queryTimeoutMs: 3_000 });
    const done: string[] = [];
    const long = warehouse.query('SELECT count(*) FROM range(100000000000)').then(
      () => done.push('query answered'),
      (err) => done.push(`query ${err.code}`),
    );
    const write = warehouse.upsert(CALL_EVENTS, [callRow('vs_during_query', 2)]).then(() => done.push('upsert'));
    await Promise.all([long, write]);
    expect(done).toEqual(['upsert', 'query WH_QUERY_TIMEOUT']);
    expect(await warehouse.query("SELECT call_id FROM call_events WHERE call_id = 'vs_during_query'")).toEqual([{ call_id: 'vs_during_query' }]);
  });

  it('keeps the sink\'s writes and checkpoints working with file access off and settings locked', async () => {
    const { path, warehouse } = await warehouseWithOneCall();
    await warehouse.ensureTables(TABLES);
    expect(await warehouse.upsert(CALL_EVENTS, [callRow('vs_ro', 5), callRow('vs_second', 1)])).toBe(2);
    await warehouse.close();
    cleanup = [];
    expect(existsSync(`${path}.wal`), 'the WAL is checkpointed into the file at close').toBe(false);
    const reopened = await DuckDbWarehouse.open(path);
    cleanup.push(() => reopened.close());
    expect(await reopened.query('SELECT call_id, kafka_offset FROM call_events ORDER BY call_id')).toEqual([
      { call_id: 'vs_ro', kafka_offset: '5' },
      { call_id: 'vs_second', kafka_offset: '1' },
    ]);
  });
});

describe('callstream query on the file itself (no pipeline runs)', () => {
  async function readOnlyCopy(options: DuckDbOptions = {}) {
    const { dir, path, warehouse } = await warehouseWithOneCall();
    await warehouse.close();
    cleanup = [];
    const readOnly = await DuckDbWarehouse.open(path, { ...options, readOnly: true });
    cleanup.push(() => readOnly.close());
    return { dir, readOnly };
  }

  it('opens the file read-only and applies the same rules', async () => {
    const { dir, readOnly } = await readOnlyCopy();
    expect(await readOnly.query('SELECT call_id FROM call_events')).toEqual([{ call_id: 'vs_ro' }]);
    for (const [what, sql] of forbiddenStatements(dir)) {
      await expect(readOnly.query(sql), what).rejects.toMatchObject({ code: 'WH_QUERY_REFUSED' });
    }
    await expect(readOnly.ensureTables(TABLES), 'the file itself is attached READ_ONLY').rejects.toThrow(/attached in read-only mode/);
    expect(await readOnly.query('SELECT count(*) AS n FROM call_events')).toEqual([{ n: '1' }]);
  });

  it('applies the same limits', async () => {
    const { readOnly } = await readOnlyCopy({ queryMaxRows: 10, queryTimeoutMs: 300 });
    expect(await readOnly.boundedQuery('SELECT * FROM range(11)')).toMatchObject({ rows: { length: 10 }, truncated: true });
    await expect(readOnly.query('SELECT count(*) FROM range(100000000000)')).rejects.toMatchObject({ code: 'WH_QUERY_TIMEOUT' });
  });
});
