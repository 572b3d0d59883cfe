import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
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
  t = await startTestPipeline({ warehouse, config });
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

  it('keeps the erased rows gone after a replay of every topic the sink reads (a rewind of its group, as kafka-consumer-groups does)', async () => {
    await t.pipeline.stop();
    await replayEverything(t.config, warehouse);
    await expectErasedGone(warehouse, duckdbDialect);
    await expectNoRawNumbers(warehouse, duckdbDialect, 12);
  });
});
