import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { PiiPolicy } from '../../src/sink/index.js';
import type { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';
import { BQ_EMULATOR, emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { isolatedConfig, startTestPipeline, TEST_BROKERS, waitForCaughtUp } from '../support/pipeline-harness.js';
import { ALICE, calleeOf, eraseBobAndCallZero, expectErasedGone, expectJoinsOnHashes, expectNoRawNumbers, replayEverything, sendErasedAgain, sendPrivacyScenario, waitForStored } from './privacy-scenario.js';
import { writeVendorsFile } from './telephony-scenario.js';
import { post } from './scenario.js';
import { callCompleted } from '../support/fixtures.js';

type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: BigQueryWarehouse;
const dataset = `test_pii_${Date.now().toString(36)}`;
const KEY = 'e2e-pii-hash-key-0123456789abcdef0123';

beforeAll(async () => {
  await requireEmulator();
  warehouse = emulatorWarehouse({ dataset });
  const config = isolatedConfig({ telephonyVendors: writeVendorsFile(), flushIntervalMs: 500, warehouse: 'bigquery', piiMode: 'hash', piiHashKey: KEY });
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

  it('erases with the CLI from another process\'s point of view (BigQuery): the running sink follows the erasures topic', async () => {
    const connector = join(t.config.dataDir, 'bigquery-sink.json');
    const bigquery = { projectId: BQ_EMULATOR.project, dataset, apiEndpoint: BQ_EMULATOR.endpoint, credentials: 'none' };
    writeFileSync(connector, JSON.stringify({ name: 'e2e-erase', warehouse: 'bigquery', bigquery }));
    const env = { KAFKA_BROKERS: TEST_BROKERS.join(','), CALLSTREAM_TOPIC_ERASURES: t.config.topicErasures, CALLSTREAM_PII_MODE: 'hash', CALLSTREAM_PII_HASH_KEY: KEY, LOG_LEVEL: 'silent' };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
    try {
      expect(await main(['erase', '--call-id', 'vs_2', '--json', '--connector', connector])).toBe(0);
    } finally {
      log.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ key: 'call:vs_2', rows: { call_events: 1, telephony_callbacks: 1, requests: 2 } });
    // A late event for it, after the CLI recorded the erasure: the sink (another client of the topic) refuses it.
    await sendErasedAgain(t.url);
    expect((await post(t.url, callCompleted(2, { from_e164: ALICE, to_e164: calleeOf(2) }))).status).toBe(202);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await expectErasedGone(warehouse, bigQueryDialect, ['vs_2']);
  }, 90_000);

  it('keeps the erased rows gone after a replay of every topic the sink reads (callstream replay, and offset resets as kafka-consumer-groups does)', async () => {
    await t.pipeline.stop();
    await replayEverything(t.config, warehouse);
    await expectErasedGone(warehouse, bigQueryDialect, ['vs_2']);
    await expectNoRawNumbers(warehouse, bigQueryDialect, 8);
  });
});
