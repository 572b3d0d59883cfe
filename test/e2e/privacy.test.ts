import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mainInProcess } from '../support/main-in-process.js';
import { PiiPolicy } from '../../src/sink/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckdbDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline, waitForCaughtUp } from '../support/pipeline-harness.js';
import { eraseBobAndCallZero, expectErasedGone, expectJoinsOnHashes, expectNoRawNumbers, replayEverything, sendErasedAgain, sendPrivacyScenario, waitForStored } from './privacy-scenario.js';
import { writeVendorsFile } from './telephony-scenario.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: DuckDbWarehouse;

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(join(mkdtempSync(join(tmpdir(), 'callstream-e2e-pii-')), 'w.duckdb'));
  const config = isolatedConfig({ telephonyVendors: writeVendorsFile(), piiMode: 'hash', piiHashKey: 'e2e-pii-hash-key-0123456789abcdef0123' });
  t = await startTestPipeline({ warehouse, config, querySocket: true });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
});

describe('CALLSTREAM_PII_MODE=hash on DuckDB, end to end', () => {
  it('stores no raw number in any column of any table, and joins and counts work on the hashes', async () => {
    await sendPrivacyScenario(t.url);
    await waitForStored(warehouse, duckdbDialect);
    await expectNoRawNumbers(warehouse, duckdbDialect);
    const pii = PiiPolicy.fromConfig(t.config);
    await expectJoinsOnHashes(warehouse, duckdbDialect, (n) => pii.storedNumber(n));
  });

  it('erases a number and a call from every table, and the sink writes none of their rows again: redeliveries, late events', async () => {
    await eraseBobAndCallZero(t.pipeline, warehouse, duckdbDialect);
    await sendErasedAgain(t.url);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);
    await expectErasedGone(warehouse, duckdbDialect);
  });

  it('erases with the CLI through the running pipeline\'s socket (it owns the DuckDB file), printing the receipt', async () => {
    const run = await mainInProcess(['erase', '--call-id', 'vs_2', '--json'], { CALLSTREAM_DATA_DIR: t.config.dataDir });
    expect(run.code, run.all).toBe(0);
    const receipt = JSON.parse(run.out);
    expect(receipt).toMatchObject({ dryRun: false, subject: { kind: 'call', value: 'vs_2' }, key: 'call:vs_2', rows: { call_events: 1, telephony_callbacks: 1, requests: 2 } });
    const left = await warehouse.query('SELECT call_id FROM call_events');
    expect(left).toEqual([{ call_id: 'vs_1' }]);
  });

  it('keeps the erased rows gone after a replay of every topic the sink reads (callstream replay, and offset resets as kafka-consumer-groups does)', async () => {
    await t.pipeline.stop();
    await replayEverything(t.config, warehouse);
    await expectErasedGone(warehouse, duckdbDialect, ['vs_2']);
    await expectNoRawNumbers(warehouse, duckdbDialect, 8);
  });
});
