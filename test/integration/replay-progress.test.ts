import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_NAMES } from '../../src/codec/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callCompleted } from '../support/fixtures.js';
import { groupProgress, isolatedConfig, startTestPipeline, testKafka, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';
import { sendAll } from '../e2e/scenario.js';
import { mainInProcess } from '../support/main-in-process.js';

const config = isolatedConfig();
let warehouse: DuckDbWarehouse;
let running: Awaited<ReturnType<typeof startTestPipeline>> | undefined;

/** Runs the CLI in-process without a terminal on stderr: stdout (console.log) and stderr kept apart. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    KAFKA_BROKERS: config.kafkaBrokers!.join(','),
    CALLSTREAM_TOPIC_EVENTS: config.topicEvents,
    CALLSTREAM_TOPIC_RAW: config.topicRaw,
    CALLSTREAM_CONSUMER_GROUP: config.consumerGroup,
    LOG_LEVEL: 'silent',
  };
  const { code, stdout, stderr } = await mainInProcess(args, env, { stderrWrites: true });
  return { code, stdout, stderr };
}

function refusedRequest(body: object) {
  return {
    request_id: randomUUID(),
    received_at: Date.now() - 60_000,
    flow: 'callaro',
    method: 'POST',
    path: '/callaro/webhooks',
    remote_address: '127.0.0.1',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
    truncated: false,
    status: 422,
    error_code: 'RCV_SCHEMA_INVALID',
    event_key: null,
  };
}

beforeAll(async () => {
  warehouse = await DuckDbWarehouse.open(':memory:');
  running = await startTestPipeline({ config, warehouse });
});
afterAll(async () => {
  await running?.pipeline.stop();
  await warehouse?.close();
});

describe('progress of long replays (no terminal: log lines on stderr)', () => {
  it('replay-raw logs records read of those in range and the re-published count on stderr; stdout is the report alone', async () => {
    // 3 accepted live (their audit records too), 5 refused earlier: 8 records in the audit topic.
    await sendAll(running!.url, Array.from({ length: 3 }, (_, n) => callCompleted(n)));
    const records = Array.from({ length: 5 }, (_, n) => refusedRequest(callCompleted(10 + n, { call_id: `vp_${n}` })));
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: config.topicRaw, messages: records.map((r) => ({ key: r.request_id, value: running!.pipeline.codec.encode(SCHEMA_NAMES.rawRequest, r) })) });
    await producer.disconnect();

    const dry = await cli('replay-raw', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(`Audit topic ${config.topicRaw}: 8 request(s) read, 5 refused for their content in the range.\n  5 would be accepted now and re-published; still refused: none.\n`);
    expect(dry.stderr).toMatch(/^replay-raw \(dry run\): 8\/8 records \(100%\), [\d.]+ records\/s, in \d+s, 5 eligible$/m);

    const run = await cli('replay-raw', '--yes');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`Audit topic ${config.topicRaw}: 8 request(s) read, 5 refused for their content in the range.\n  5 re-published; still refused: none.\n`);
    expect(run.stderr).toMatch(/^replay-raw: 8\/8 records \(100%\), [\d.]+ records\/s, in \d+s, 5 re-published$/m);
    expect(run.stderr).not.toMatch(/\x1b/);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
  });

  it('replay --wait follows the group after the rewind until the sink has read the records again', async () => {
    await running!.pipeline.stop();
    running = undefined;
    const replaying = cli('replay', '--to-earliest', '--yes', '--wait');
    // Once the group is rewound, the sink starts and reprocesses while replay watches.
    await waitFor(() => groupProgress(config.consumerGroup, config.topicEvents), (p) => p.committed === 0, 30_000, 'the rewind');
    running = await startTestPipeline({ config, warehouse, receiver: false });
    const { code, stdout, stderr } = await replaying;
    expect(code).toBe(0);
    expect(stdout).toMatch(/8 record\(s\) will be read again/);
    expect(stdout).toMatch(/^Rewound .*\nCaught up: test-\S+ has read the 8 rewound record\(s\) again\.\n$/m);
    expect(stderr).toMatch(/^replay test-\S+: 8\/8 records \(100%\), [\d.]+ records\/s, in \d+s$/m);
  });

  it('refuses --wait with --dry-run', async () => {
    const { code, stderr } = await cli('replay', '--to-earliest', '--dry-run', '--wait');
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot be used with/);
  });
});
