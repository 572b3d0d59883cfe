import { existsSync, mkdtempSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/logger.js';
import { duckDbPath } from '../../../src/config/index.js';
import { askOverSocket, querySocketPath, serveQueries } from '../../../src/query-socket/index.js';
import { CALL_EVENTS, TABLES } from '../../../src/warehouse/index.js';
import { DuckDbWarehouse, type DuckDbOptions } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callRow } from '../../integration/warehouse-contract.js';

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** Runs `callstream query …` in-process against a data folder, capturing what it prints. */
async function query(dataDir: string, ...args: string[]) {
  const saved = process.env.CALLSTREAM_DATA_DIR;
  process.env.CALLSTREAM_DATA_DIR = dataDir;
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void lines.push(a.join(' ')));
  try {
    return { code: await main(['query', ...args]), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    if (saved === undefined) delete process.env.CALLSTREAM_DATA_DIR;
    else process.env.CALLSTREAM_DATA_DIR = saved;
  }
}

/** Sets environment variables for the length of `work`. */
async function withEnv<T>(vars: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await work();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A few of what test/unit/warehouse/duckdb/read-only-query.test.ts refuses, end to end. */
const forbidden = (dataDir: string) => [
  "SELECT * FROM read_text('/etc/hostname')",
  "SELECT * FROM read_csv('/etc/hostname')",
  `COPY (SELECT 1) TO '${join(dataDir, 'x.csv')}'`,
  "SET GLOBAL memory_limit = '10MB'",
  'PRAGMA force_checkpoint',
  `ATTACH '${join(dataDir, 'other.duckdb')}' AS other`,
  'INSTALL httpfs',
  'LOAD httpfs',
  'SELECT 1; SELECT 2',
  "INSERT INTO call_events (call_id, event_type) VALUES ('x', 'y')",
  'CREATE TABLE sneaky (a INT)',
];

async function expectAllRefused(dataDir: string) {
  for (const sql of forbidden(dataDir)) {
    const answer = await query(dataDir, sql);
    expect(answer, sql).toMatchObject({ code: 1, out: expect.stringMatching(/^callstream: WH_QUERY_REFUSED: Only one read-only SELECT statement is allowed; /) });
  }
  for (const file of ['x.csv', 'other.duckdb']) expect(existsSync(join(dataDir, file)), file).toBe(false);
}

async function warehouseWithOneCall(dataDir: string, options: DuckDbOptions = {}) {
  const warehouse = await DuckDbWarehouse.open(duckDbPath(loadConfig({ CALLSTREAM_DATA_DIR: dataDir })), options);
  await warehouse.ensureTables(TABLES);
  await warehouse.upsert(CALL_EVENTS, [callRow('vs_cli', 1)]);
  return warehouse;
}

describe('callstream query', () => {
  it('goes through the running pipeline\'s socket (DuckDB allows no second process on the file)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    const warehouse = await warehouseWithOneCall(dataDir);
    const server: Server = await serveQueries(querySocketPath(dataDir), warehouse, createLogger({ level: 'silent' }));
    cleanup.push(() => warehouse.close(), () => new Promise((r) => server.close(r)));

    const table = await query(dataDir, 'SELECT call_id, event_type, direction FROM call_events');
    expect(table.code).toBe(0);
    expect(table.out.split('\n')).toEqual(['call_id | event_type     | direction', '--------+----------------+----------', 'vs_cli  | call.completed | outbound', '(1 row)']);

    const json = await query(dataDir, '--json', 'SELECT call_id, agent_id FROM call_events');
    expect(JSON.parse(json.out)).toEqual([{ call_id: 'vs_cli', agent_id: '42' }]);

    const refused = await query(dataDir, 'DELETE FROM call_events');
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/WH_QUERY_REFUSED: Only one read-only SELECT statement is allowed; got DELETE/);
  });

  it('serves its socket to the owner alone (mode 0600)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    const warehouse = await warehouseWithOneCall(dataDir);
    const server: Server = await serveQueries(querySocketPath(dataDir), warehouse, createLogger({ level: 'silent' }));
    cleanup.push(() => warehouse.close(), () => new Promise((r) => server.close(r)));
    expect((statSync(querySocketPath(dataDir)).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses through the socket what is not one read-only SELECT, and the sink\'s database keeps its settings', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    const warehouse = await warehouseWithOneCall(dataDir);
    const server: Server = await serveQueries(querySocketPath(dataDir), warehouse, createLogger({ level: 'silent' }));
    cleanup.push(() => warehouse.close(), () => new Promise((r) => server.close(r)));
    const settings = () => warehouse.query("SELECT current_setting('memory_limit') AS m, current_setting('enable_external_access') AS e");
    const before = await settings();
    await expectAllRefused(dataDir);
    expect(await settings()).toEqual(before);
    expect(await warehouse.query('SELECT count(*) AS n FROM call_events')).toEqual([{ n: '1' }]);
  });

  it('answers at most the row cap through the socket, saying that rows were cut, and interrupts a query at the time limit', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    const warehouse = await warehouseWithOneCall(dataDir, { queryMaxRows: 3, queryTimeoutMs: 300 });
    const server: Server = await serveQueries(querySocketPath(dataDir), warehouse, createLogger({ level: 'silent' }));
    cleanup.push(() => warehouse.close(), () => new Promise((r) => server.close(r)));

    expect(await askOverSocket(querySocketPath(dataDir), 'SELECT * FROM range(10)')).toEqual({ rows: [{ range: '0' }, { range: '1' }, { range: '2' }], truncated: true });
    expect(await askOverSocket(querySocketPath(dataDir), 'SELECT * FROM range(3)')).toMatchObject({ truncated: false });
    const table = await query(dataDir, 'SELECT * FROM range(10)');
    expect(table.code).toBe(0);
    expect(table.out.split('\n').slice(-2)).toEqual(['(3 rows)', expect.stringMatching(/^callstream: truncated: only the first 3 rows \(CALLSTREAM_QUERY_MAX_ROWS\)/)]);

    const long = await query(dataDir, 'SELECT count(*) FROM range(100000000000)');
    expect(long).toMatchObject({ code: 1, out: expect.stringMatching(/^callstream: WH_QUERY_TIMEOUT: The query ran longer than 300 ms/) });
  });

  it('opens the file itself when no pipeline runs, and says so when there is none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    await (await warehouseWithOneCall(dataDir)).close();
    expect(JSON.parse((await query(dataDir, '--json', 'SELECT count(*) AS n FROM call_events')).out)).toEqual([{ n: '1' }]);
    const empty = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    expect(await query(empty, 'SELECT 1')).toMatchObject({ code: 1, out: expect.stringMatching(/No warehouse at .*start the pipeline first/) });
  });

  it('applies the same rules and limits when it opens the file itself', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    await (await warehouseWithOneCall(dataDir)).close();
    await expectAllRefused(dataDir);
    expect(JSON.parse((await query(dataDir, '--json', 'SELECT count(*) AS n FROM call_events')).out)).toEqual([{ n: '1' }]);

    const capped = await withEnv({ CALLSTREAM_QUERY_MAX_ROWS: '3' }, () => query(dataDir, 'SELECT * FROM range(10)'));
    expect(capped.out.split('\n').slice(-2)).toEqual(['(3 rows)', expect.stringMatching(/^callstream: truncated: only the first 3 rows/)]);
    const long = await withEnv({ CALLSTREAM_QUERY_TIMEOUT_MS: '300' }, () => query(dataDir, 'SELECT count(*) FROM range(100000000000)'));
    expect(long).toMatchObject({ code: 1, out: expect.stringMatching(/^callstream: WH_QUERY_TIMEOUT: /) });
  });
});
