import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callCompleted } from '../support/fixtures.js';
import { groupProgress, isolatedConfig, startTestPipeline, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';
import { sendAll } from '../e2e/scenario.js';
import { mainInProcess } from '../support/main-in-process.js';

const config = isolatedConfig();
let warehouse: DuckDbWarehouse;
let running: Awaited<ReturnType<typeof startTestPipeline>> | undefined;
let midpoint: Date;

/** Runs the CLI in-process with the test's topics and group, capturing what it prints. */
async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const env = {
    KAFKA_BROKERS: config.kafkaBrokers!.join(','),
    CALLSTREAM_TOPIC_EVENTS: config.topicEvents,
    CALLSTREAM_CONSUMER_GROUP: config.consumerGroup,
    LOG_LEVEL: 'silent',
  };
  const { code, all } = await mainInProcess(args, env);
  return { code, out: all };
}

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(':memory:');
  running = await startTestPipeline({ config, warehouse });
  await sendAll(running.url, Array.from({ length: 30 }, (_, n) => callCompleted(n)));
  await new Promise((r) => setTimeout(r, 50));
  midpoint = new Date();
  await new Promise((r) => setTimeout(r, 50));
  await sendAll(running.url, Array.from({ length: 20 }, (_, n) => callCompleted(100 + n)));
  await waitForCaughtUp(config.consumerGroup, config.topicEvents);
});
afterAll(async () => {
  await running?.pipeline.stop();
  await warehouse?.close();
});

describe('callstream replay', () => {
  it('refuses while the sink group has active members, saying how to stop them', async () => {
    const { code, out } = await cli('replay', '--to-earliest', '--yes');
    expect(code).toBe(1);
    expect(out).toMatch(/active member\(s\).*stop every sink of this group/);
    expect((await groupProgress(config.consumerGroup, config.topicEvents)).committed).toBe(50);
  });

  it('shows per partition what a replay would reprocess, changing nothing with --dry-run', async () => {
    await running!.pipeline.stop();
    running = undefined;
    const { code, out } = await cli('replay', '--to-earliest', '--dry-run');
    expect(code).toBe(0);
    expect(out).toMatch(/50 record\(s\) will be read again/);
    expect(out.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+$/.test(l))).toHaveLength(3);
    expect(out).toContain('Dry run: nothing changed.');
    expect((await groupProgress(config.consumerGroup, config.topicEvents)).committed).toBe(50);
  });

  it('asks for confirmation when not given --yes (and refuses without a terminal)', async () => {
    const { code, out } = await cli('replay', '--to-earliest');
    expect(code).toBe(1);
    expect(out).toMatch(/pass --yes/);
  });

  it('rewinds to a point in time: only the later records are read again', async () => {
    const { code, out } = await cli('replay', '--from', midpoint.toISOString(), '--yes');
    expect(code).toBe(0);
    expect(out).toMatch(/20 record\(s\) will be read again/);
    expect((await groupProgress(config.consumerGroup, config.topicEvents)).committed).toBe(30);
  });

  it('rewinds to explicit offsets', async () => {
    const { code } = await cli('replay', '--offsets', '0:0,1:0,2:0', '--yes');
    expect(code).toBe(0);
    expect((await groupProgress(config.consumerGroup, config.topicEvents)).committed).toBe(0);
    expect((await cli('replay', '--offsets', '0:x')).out).toMatch(/expected <partition>:<offset>/);
  });

  it('reprocesses the rewound records without changing the warehouse, counting them as replayed', async () => {
    const before = await warehouse.query('SELECT count(*) AS n, CAST(bit_xor(hash(to_json(t))) AS VARCHAR) AS x FROM call_events t');
    running = await startTestPipeline({ config, warehouse, receiver: false });
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    const metrics = await waitFor(
      async () => (await fetch(`${running!.url}/metrics`)).text(),
      (text) => /^callstream_sink_replayed_records_total 50$/m.test(text),
      20_000,
      'replayed records metric',
    );
    expect(metrics).toMatch(/^callstream_sink_records_consumed_total 50$/m);
    expect(await warehouse.query('SELECT count(*) AS n, CAST(bit_xor(hash(to_json(t))) AS VARCHAR) AS x FROM call_events t')).toEqual(before);
  });
});
