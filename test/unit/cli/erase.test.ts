import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { duckDbPath } from '../../../src/config/index.js';
import { CALL_EVENTS, TABLES } from '../../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callRow } from '../../integration/warehouse-contract.js';
import { runCli, STACK_LINE } from './run-cli.js';

/** A DuckDB data folder with two calls, no pipeline running. */
async function dataDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'callstream-erase-'));
  const warehouse = await DuckDbWarehouse.open(duckDbPath(loadConfig({ CALLSTREAM_DATA_DIR: dir })));
  await warehouse.ensureTables(TABLES);
  await warehouse.upsert(CALL_EVENTS, [callRow('vs_a', 1), callRow('vs_b', 2, { from_e164: '+14155550199' })]);
  await warehouse.close();
  return dir;
}

describe('callstream erase', () => {
  it.each([
    [[], /expected exactly one of --phone, --call-id, --tenant/],
    [['--phone', '+14155550100', '--tenant', '44'], /expected exactly one of/],
    [['--phone', '4155550100'], /is not an E.164 number/],
    [['--tenant', 'acme'], /is not a tenant id/],
  ])('refuses %j on one line with exit 2', (args, message) => {
    const run = runCli(['erase', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it('refuses hash mode without a key on one line, naming the variable', () => {
    const run = runCli(['erase', '--phone', '+14155550100', '--dry-run'], { CALLSTREAM_PII_MODE: 'hash' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/CALLSTREAM_PII_HASH_KEY/);
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it('--dry-run counts per table from the file when no pipeline runs, and changes nothing', async () => {
    const dir = await dataDir();
    const first = runCli(['erase', '--phone', '+14155550199', '--dry-run', '--json'], { CALLSTREAM_DATA_DIR: dir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const receipt = JSON.parse(first.stdout);
    expect(receipt).toMatchObject({ dryRun: true, subject: { kind: 'phone', value: '+14155550199' }, matched: { callIds: ['vs_b'], callSids: ['CAvs_b'] }, total: 1 });
    expect(receipt.rows.call_events).toBe(1);
    const again = runCli(['erase', '--call-id', 'vs_b', '--dry-run'], { CALLSTREAM_DATA_DIR: dir });
    expect(again.stdout).toMatch(/Dry run: would erase call vs_b/);
    expect(again.stdout).toMatch(/call_events\s+1/);
  });
});
