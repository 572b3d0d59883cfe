import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { PiiPolicy } from '../../src/sink/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { duckdbDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline } from '../support/pipeline-harness.js';
import { expectJoinsOnHashes, expectNoRawNumbers, sendPrivacyScenario, waitForStored } from './privacy-scenario.js';
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
});
