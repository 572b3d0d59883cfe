import { afterAll, beforeAll, describe, it } from 'vitest';
import { PiiPolicy } from '../../src/sink/index.js';
import type { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline, waitForCaughtUp } from '../support/pipeline-harness.js';
import { eraseBobAndCallZero, expectErasedGone, expectJoinsOnHashes, expectNoRawNumbers, replayEverything, sendErasedAgain, sendPrivacyScenario, waitForStored } from './privacy-scenario.js';
import { writeVendorsFile } from './telephony-scenario.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: BigQueryWarehouse;

beforeAll(async () => {
  await requireEmulator();
  warehouse = emulatorWarehouse();
  const config = isolatedConfig({ telephonyVendors: writeVendorsFile(), flushIntervalMs: 500, warehouse: 'bigquery', piiMode: 'hash', piiHashKey: 'e2e-pii-hash-key-0123456789abcdef0123' });
  t = await startTestPipeline({ warehouse, config });
});
afterAll(async () => {
  await t?.pipeline.stop();
});

describe('CALLSTREAM_PII_MODE=hash on BigQuery (emulator), end to end', () => {
  it('stores no raw number in any column of any table, and joins and counts work on the hashes', async () => {
    await sendPrivacyScenario(t.url);
    await waitForStored(warehouse, bigQueryDialect);
    await expectNoRawNumbers(warehouse, bigQueryDialect);
    const pii = PiiPolicy.fromConfig(t.config);
    await expectJoinsOnHashes(warehouse, bigQueryDialect, (n) => pii.storedNumber(n));
  });

  it('erases a number and a call from every table, and the sink writes none of their rows again: redeliveries, late events', async () => {
    await eraseBobAndCallZero(t.pipeline, warehouse, bigQueryDialect);
    await sendErasedAgain(t.url);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);
    await expectErasedGone(warehouse, bigQueryDialect);
  });

  it('keeps the erased rows gone after a replay of every topic the sink reads (a rewind of its group, as kafka-consumer-groups does)', async () => {
    await t.pipeline.stop();
    await replayEverything(t.config, warehouse);
    await expectErasedGone(warehouse, bigQueryDialect);
    await expectNoRawNumbers(warehouse, bigQueryDialect, 12);
  });
});
