import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mainInProcess } from '../support/main-in-process.js';
import { duckDbPath } from '../../src/config/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callCompleted } from '../support/fixtures.js';
import { isolatedConfig, startTestPipeline, TEST_BROKERS, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';
import { post } from './scenario.js';
import { statusCallback, twilioCallback, writeVendorsFile } from './telephony-scenario.js';

/**
 * What an erasure reaches, end to end on DuckDB: its subject and nothing else (a call id learned
 * from an erased tenant's call does not swallow another tenant's call with that id), and a rerun
 * of `erase` only ever grows it.
 */
type Started = Awaited<ReturnType<typeof startTestPipeline>>;
let t: Started;
let warehouse: DuckDbWarehouse;
const config = isolatedConfig({ telephonyVendors: writeVendorsFile() });

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(duckDbPath(config));
  t = await startTestPipeline({ warehouse, config, querySocket: true });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close().catch(() => undefined); // the last test closed it already
});

const callOf = (callId: string, tenant: number, callSid = `CA${callId}`) => callCompleted(0, { call_id: callId, call_sid: callSid, tenant_id: tenant });

async function caughtUp(): Promise<void> {
  await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
  await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);
}

describe('an erasure reaches its subject and nothing else', () => {
  it('refuses a call of an erased tenant, and stores another tenant\'s call with the same id', async () => {
    await t.pipeline.erase({ kind: 'tenant', value: '44' }, { dryRun: false });
    expect((await post(t.url, callOf('V1', 44, 'CAV1_44'))).status).toBe(202);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents); // refused: the sink learned V1
    expect((await post(t.url, callOf('V1', 45, 'CAV1_45'))).status).toBe(202);
    expect((await twilioCallback(t.url, statusCallback('CAV1_44', 'completed', 1))).status).toBe(202);
    expect((await twilioCallback(t.url, statusCallback('CAV1_45', 'completed', 2))).status).toBe(202);
    await caughtUp();
    expect(await warehouse.query("SELECT call_id, tenant_id, call_sid FROM call_events WHERE call_id = 'V1'")).toEqual([{ call_id: 'V1', tenant_id: '45', call_sid: 'CAV1_45' }]);
    expect(await warehouse.query("SELECT call_sid FROM telephony_callbacks WHERE call_sid LIKE 'CAV1%'")).toEqual([{ call_sid: 'CAV1_45' }]);
  });
});

describe('running erase again', () => {
  const calls = ['e46_1', 'e46_2', 'e46_3'];
  const sids = calls.map((c) => `CA${c}`);
  /** The CLI in this process, with the test's topics; through the pipeline's socket while it runs. */
  const cli = (args: string[]) => mainInProcess(['erase', ...args, '--json'], { CALLSTREAM_DATA_DIR: config.dataDir, KAFKA_BROKERS: TEST_BROKERS.join(','), CALLSTREAM_TOPIC_ERASURES: config.topicErasures, LOG_LEVEL: 'silent' });

  it('merges with the recorded erasure: the calls the first run matched stay erased, and a late callback of one is refused', async () => {
    for (const id of calls) expect((await post(t.url, callOf(id, 46))).status).toBe(202);
    await waitFor(() => warehouse.query("SELECT call_id FROM call_events WHERE tenant_id = 46"), (rows) => rows.length === 3, 30_000, 'the calls of tenant 46');
    const firstRun = await t.pipeline.erase({ kind: 'tenant', value: '46' }, { dryRun: false });
    expect(firstRun.matched).toEqual({ callIds: calls, callSids: sids });
    const again = await cli(['--tenant', '46']);
    expect(again.code, again.all).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ key: 'tenant:46', matched: { callIds: calls, callSids: sids }, total: 0 });
    expect((await twilioCallback(t.url, statusCallback('CAe46_3', 'completed', 3))).status).toBe(202);
    await caughtUp();
    expect(await warehouse.query("SELECT call_sid FROM telephony_callbacks WHERE call_sid = 'CAe46_3'")).toEqual([]);
  });

  it('without a running pipeline, reads the recorded erasure from the erasures topic and merges with it', async () => {
    await t.pipeline.stop();
    await warehouse.close();
    const run = await cli(['--tenant', '46']);
    expect(run.code, run.all).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ key: 'tenant:46', matched: { callIds: calls, callSids: sids } });
  });
});
