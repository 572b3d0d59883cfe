import { afterAll, beforeAll, describe, it } from 'vitest';
import { PiiPolicy } from '../../src/sink/index.js';
import type { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline } from '../support/pipeline-harness.js';
import { expectJoinsOnHashes, expectNoRawNumbers, sendPrivacyScenario, waitForStored } from './privacy-scenario.js';
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
});
