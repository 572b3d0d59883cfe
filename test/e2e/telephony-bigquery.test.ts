import { afterAll, beforeAll, describe, it } from 'vitest';
import type { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline } from '../support/pipeline-harness.js';
import { expectLifecycleJoined, sendTelephonyScenario, writeVendorsFile } from './telephony-scenario.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: BigQueryWarehouse;

beforeAll(async () => {
  await requireEmulator();
  warehouse = emulatorWarehouse();
  t = await startTestPipeline({ warehouse, config: isolatedConfig({ flushIntervalMs: 500, warehouse: 'bigquery', telephonyVendors: writeVendorsFile() }) });
});
afterAll(async () => {
  await t?.pipeline.stop();
});

describe('provider callbacks -> Kafka -> BigQuery (official client, emulator), end to end', () => {
  it('stores one row per (vendor, call, status) that joins to call_events on call_sid in SQL', async () => {
    await expectLifecycleJoined(warehouse, bigQueryDialect, await sendTelephonyScenario(t.url, 6));
  });
});
