import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { BQ_EMULATOR, emulatorWarehouse, requireEmulator } from '../../support/bigquery-emulator.js';
import { callCompleted } from '../../support/fixtures.js';
import { isolatedConfig, startTestPipeline, TEST_BROKERS, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';
import { sendAll } from '../scenario.js';
import { GatedWarehouse } from './gated-warehouse.js';

// `callstream erase` on BigQuery runs in another process than the sink: it records the erasure,
// deletes, and deletes once more a few seconds later. Rows the sink took in before it learned the
// erasure, and still holds (retrying a failed write, or in a write under way), must not land after.
const dataset = `test_erase_race_${Date.now().toString(36)}`;
let t: Awaited<ReturnType<typeof startTestPipeline>>;
let warehouse: GatedWarehouse;

beforeAll(async () => {
  await requireEmulator();
  warehouse = new GatedWarehouse(emulatorWarehouse({ dataset }));
  t = await startTestPipeline({ warehouse, config: isolatedConfig({ warehouse: 'bigquery', flushIntervalMs: 200 }) });
  expect((await sendAll(t.url, [callCompleted(1)])).map((s) => s.status)).toEqual([202]);
  await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
});
afterAll(async () => {
  warehouse?.open();
  await t?.pipeline.stop();
});

/** `callstream erase --call-id <id>` from the command line, against the emulator: another process's view. */
async function eraseWithCli(callId: string): Promise<Record<string, unknown>> {
  const connector = join(t.config.dataDir, 'bigquery-erase.json');
  const bigquery = { projectId: BQ_EMULATOR.project, dataset, apiEndpoint: BQ_EMULATOR.endpoint, credentials: 'none' };
  writeFileSync(connector, JSON.stringify({ name: 'erase-race', warehouse: 'bigquery', bigquery }));
  for (const [name, value] of Object.entries({ KAFKA_BROKERS: TEST_BROKERS.join(','), CALLSTREAM_TOPIC_ERASURES: t.config.topicErasures, LOG_LEVEL: 'silent' })) vi.stubEnv(name, value);
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
  try {
    expect(await main(['erase', '--call-id', callId, '--json', '--connector', connector])).toBe(0);
  } finally {
    log.mockRestore();
    vi.unstubAllEnvs();
  }
  return JSON.parse(lines.join('\n')) as Record<string, unknown>;
}

async function rowsOf(callId: string): Promise<{ calls: number; requests: number }> {
  const [calls] = await warehouse.query(`SELECT COUNT(*) AS n FROM \`${dataset}.call_events\` WHERE call_id = '${callId}'`);
  const [requests] = await warehouse.query(`SELECT COUNT(*) AS n FROM \`${dataset}.requests\` WHERE entity_key = '${callId}'`);
  return { calls: Number(calls.n), requests: Number(requests.n) };
}

describe('fault: erase on BigQuery while the sink holds rows of the subject', () => {
  it('drops the rows of a write being retried when the erasure comes: they never land after erase returned', async () => {
    warehouse.failing = true;
    const refusedBefore = warehouse.refused;
    expect((await sendAll(t.url, [callCompleted(7)])).map((s) => s.status)).toEqual([202]);
    await waitFor(async () => warehouse.refused, (n) => n > refusedBefore, 30_000, 'the write of vs_7 to fail once');
    await eraseWithCli('vs_7');
    warehouse.failing = false;
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicRaw);
    expect(await rowsOf('vs_7')).toEqual({ calls: 0, requests: 0 });
    expect((await rowsOf('vs_1')).calls).toBe(1);
  }, 120_000);

  it('deletes, after it ended, what a write under way when the erasure came wrote: nothing of the subject is left', async () => {
    warehouse.shut();
    expect((await sendAll(t.url, [callCompleted(8)])).map((s) => s.status)).toEqual([202]);
    await waitFor(async () => warehouse.held, (n) => n > 0, 30_000, 'the write of vs_8 to be held');
    const receipt = await eraseWithCli('vs_8');
    expect(receipt).toMatchObject({ key: 'call:vs_8', rows: { call_events: 0 } });
    // The write under way since before the erasure lands only now, after erase returned.
    warehouse.open();
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await waitFor(() => rowsOf('vs_8'), (n) => n.calls === 0 && n.requests === 0, 20_000, 'the rows of vs_8 to be gone');
    expect((await rowsOf('vs_1')).calls).toBe(1);
  }, 120_000);
});
