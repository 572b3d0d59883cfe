import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/logger.js';
import { duckDbPath, querySocketPath, serveQueries } from '../../../src/pipeline/index.js';
import { CALL_EVENTS, TABLES } from '../../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
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

async function warehouseWithOneCall(dataDir: string) {
  const warehouse = await DuckDbWarehouse.open(duckDbPath(loadConfig({ CALLSTREAM_DATA_DIR: dataDir })));
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
    expect(refused.out).toMatch(/WH_QUERY_FAILED/);
  });

  it('opens the file itself when no pipeline runs, and says so when there is none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    await (await warehouseWithOneCall(dataDir)).close();
    expect(JSON.parse((await query(dataDir, '--json', 'SELECT count(*) AS n FROM call_events')).out)).toEqual([{ n: '1' }]);
    const empty = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    expect(await query(empty, 'SELECT 1')).toMatchObject({ code: 1, out: expect.stringMatching(/No warehouse at .*start the pipeline first/) });
  });
});
