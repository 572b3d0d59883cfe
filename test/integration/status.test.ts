import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import type { StatusReport } from '../../src/status/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { GatedWarehouse } from '../e2e/faults/gated-warehouse.js';
import { post, sendAll } from '../e2e/scenario.js';
import { callCompleted } from '../support/fixtures.js';
import { mainInProcess } from '../support/main-in-process.js';
import { groupProgress, isolatedConfig, startTestPipeline, testKafka, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';
import { runCli } from '../unit/cli/run-cli.js';

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

/** The variables that point `callstream status` at a test config's cluster, topics and group. */
function envOf(config: Config): Record<string, string> {
  return {
    KAFKA_BROKERS: config.kafkaBrokers!.join(','),
    CALLSTREAM_TOPIC_EVENTS: config.topicEvents,
    CALLSTREAM_TOPIC_TELEPHONY: config.topicTelephony,
    CALLSTREAM_TOPIC_DLQ: config.topicDeadLetter,
    CALLSTREAM_TOPIC_TELEPHONY_DLQ: config.topicTelephonyDeadLetter,
    CALLSTREAM_CONSUMER_GROUP: config.consumerGroup,
  };
}

/** Runs `callstream status …` in-process (the pipeline under test runs in this process too), capturing what it prints. */
function status(config: Config, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return mainInProcess(['status', ...args], envOf(config));
}

async function statusJson(config: Config, ...args: string[]): Promise<{ code: number; report: StatusReport }> {
  const run = await status(config, '--json', ...args);
  return { code: run.code, report: JSON.parse(run.out) as StatusReport };
}

async function postCalls(url: string, from: number, count: number): Promise<void> {
  const sent = await sendAll(url, Array.from({ length: count }, (_, i) => callCompleted(from + i)), 4);
  expect(sent.filter((s) => s.status !== 202 && s.status !== 200)).toEqual([]);
}

/** Records in a topic (end minus start offsets). */
async function depth(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** A port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('callstream status', () => {
  it('a running pipeline that caught up: exit 0, lag 0, the dead letters counted (a warning), the last write and the refusals', async () => {
    const t = await startTestPipeline();
    cleanup.push(() => t.pipeline.stop());
    await postCalls(t.url, 0, 5);
    // One record no schema reads, straight onto the events topic: the sink dead-letters it.
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: t.config.topicEvents, messages: [{ key: 'garbage', value: Buffer.from('{"not":"avro"}'), partition: 0 }] });
    await producer.disconnect();
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await waitFor(() => depth(t.config.topicDeadLetter), (n) => n === 1, 20_000, 'the dead letter');

    // Two refusals while status waits between its two scrapes of /metrics.
    const refused = (async () => {
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 2; i++) expect((await post(t.url, '{"event":')).status).toBe(400);
    })();
    const { code, report } = await statusJson(t.config, '--url', t.url, '--window', '2');
    await refused;

    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    expect(report.healthy).toBe(true);
    expect(report.process).toMatchObject({ url: t.url, up: true, ready: true, httpStatus: 200, components: { receiver: true, producer: true, sink: true } });
    expect(report.kafka).toMatchObject({ up: true, brokers: expect.any(Number) });
    expect(report.group).toMatchObject({ id: t.config.consumerGroup, state: 'Stable', members: [expect.objectContaining({ clientId: expect.any(String), warehouse: expect.stringContaining(`DuckDB file ${join(t.config.dataDir, 'callstream.duckdb')} on `) })] });
    expect(report.lag.total).toBe(0);
    const events = report.lag.topics.find((x) => x.topic === t.config.topicEvents)!;
    expect(events).toMatchObject({ exists: true, total: 0 });
    expect(events.partitions).toHaveLength(t.config.topicPartitions);
    expect(events.partitions.reduce((n, p) => n + p.end, 0)).toBe(6);
    expect(report.lag.topics.find((x) => x.topic === t.config.topicTelephony)).toMatchObject({ exists: true, total: 0 });
    expect(report.deadLetters).toEqual({
      total: 1,
      topics: [
        { topic: t.config.topicDeadLetter, setting: 'CALLSTREAM_TOPIC_DLQ', exists: true, records: 1 },
        { topic: t.config.topicTelephonyDeadLetter, setting: 'CALLSTREAM_TOPIC_TELEPHONY_DLQ', exists: true, records: 0 },
      ],
    });
    expect(report.warnings).toEqual([expect.stringMatching(new RegExp(`^1 dead letter\\(s\\) \\(${t.config.topicDeadLetter.replace(/\./g, '\\.')} 1\\)`))]);
    expect(report.lastWrite.known).toBe(true);
    expect(Date.now() - Date.parse(report.lastWrite.at!)).toBeLessThan(60_000);
    expect(report.refusals).toMatchObject({ known: true, windowSeconds: 2, total: 2, inWindow: 2, byCode: [{ code: 'RCV_MALFORMED_JSON', total: 2, inWindow: 2, perSecond: expect.any(Number) }] });

    // Dead letters over the threshold make it unhealthy.
    const strict = await statusJson(t.config, '--url', t.url, '--window', '0', '--max-dead-letters', '0');
    expect(strict.code).toBe(1);
    expect(strict.report.problems).toEqual([expect.stringMatching(/^1 dead letter\(s\) .*; above --max-dead-letters 0$/)]);
    expect(strict.report.refusals).toMatchObject({ total: 2, inWindow: null });

    // The readable form says the same.
    const text = await status(t.config, '--url', t.url, '--window', '0');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^callstream status: HEALTHY \(0 problems, 1 warning;/);
    expect(text.out).toContain(`${t.config.consumerGroup}: Stable, 1 member`);
    expect(text.out).toMatch(new RegExp(`^  ${t.config.topicEvents.replace(/\./g, '\\.')}\\s+total\\s+0$`, 'm'));
    expect(text.out).toMatch(new RegExp(`^  ${t.config.topicDeadLetter.replace(/\./g, '\\.')}\\s+1$`, 'm'));
    expect(text.out).toMatch(/^  RCV_MALFORMED_JSON\s+2$/m);
    expect(text.err).toBe('');
  });

  it('the sink stopped and a backlog: exit 1, naming the lag and the empty group', async () => {
    const config = isolatedConfig();
    const first = await startTestPipeline({ config });
    cleanup.push(() => first.pipeline.stop());
    await postCalls(first.url, 0, 3);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    await first.pipeline.stop();
    // Only the receiver from here: what it takes waits in the topic.
    const receiver = await startTestPipeline({ config, sink: false });
    cleanup.push(() => receiver.pipeline.stop());
    await postCalls(receiver.url, 10, 4);

    const { code, report } = await statusJson(config, '--url', receiver.url, '--window', '0');
    expect(code).toBe(1);
    expect(report.healthy).toBe(false);
    expect(report.process).toMatchObject({ ready: true, components: { receiver: true, producer: true } });
    expect(report.group).toMatchObject({ state: 'Empty', members: [] });
    expect(report.lag.total).toBe(4);
    const events = report.lag.topics.find((x) => x.topic === config.topicEvents)!;
    expect(events.total).toBe(4);
    expect(events.partitions.reduce((n, p) => n + p.lag, 0)).toBe(4);
    expect(events.partitions.reduce((n, p) => n + (p.committed ?? 0), 0)).toBe(3);
    expect(report.problems).toEqual([`no sink consumes: group ${config.consumerGroup} has no members (Empty); 4 record(s) wait`]);
    expect(report.lastWrite).toMatchObject({ known: false, reason: expect.stringContaining('runs no sink') });

    const strict = await status(config, '--url', receiver.url, '--window', '0', '--max-lag', '3');
    expect(strict.code).toBe(1);
    expect(strict.out).toMatch(/^callstream status: UNHEALTHY \(2 problems/);
    expect(strict.out).toContain(`  - lag 4 record(s) above --max-lag 3 (${config.topicEvents} 4, ${config.topicTelephony} 0)`);
    expect(strict.out).toMatch(new RegExp(`^  ${config.topicEvents.replace(/\./g, '\\.')}\\s+total\\s+4$`, 'm'));
  });

  it('a sink that stopped writing while records wait: exit 1 once --max-idle is exceeded', async () => {
    const warehouse = new GatedWarehouse(await DuckDbWarehouse.open(':memory:'));
    const t = await startTestPipeline({ warehouse });
    cleanup.push(
      () => warehouse.close(),
      () => t.pipeline.stop(),
      async () => warehouse.open(),
    );
    await postCalls(t.url, 0, 2);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    warehouse.shut();
    await postCalls(t.url, 2, 3);
    await waitFor(async () => warehouse.held, (n) => n > 0, 20_000, 'a write held at the gate');
    await new Promise((r) => setTimeout(r, 1_200));

    const { code, report } = await statusJson(t.config, '--url', t.url, '--window', '0', '--max-idle', '1');
    expect(code).toBe(1);
    expect(report.lag.total).toBe(3);
    expect(report.lastWrite.idleSeconds).toBeGreaterThan(1);
    expect(report.problems).toEqual([expect.stringMatching(/^no warehouse write for \d+ s \(last .*\) while 3 record\(s\) wait; above --max-idle 1 s$/)]);
    // The default --max-idle (300 s) is not exceeded yet: the backlog alone is no problem.
    expect((await statusJson(t.config, '--url', t.url, '--window', '0')).code).toBe(0);

    warehouse.open();
    await waitFor(() => groupProgress(t.config.consumerGroup, t.config.topicEvents), (p) => p.committed === p.end, 20_000, 'the backlog to be written');
  });

  it('nothing running at the URL (the built CLI, as a probe runs it): exit 1, saying the receiver is down', async () => {
    const config = isolatedConfig();
    const port = await freePort();
    const run = runCli(['status', '--window', '0'], { ...envOf(config), PORT: String(port) });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^callstream status: UNHEALTHY/);
    expect(run.stdout).toContain(`  - receiver down: nothing answers at http://127.0.0.1:${port}/readyz (connect ECONNREFUSED 127.0.0.1:${port})`);
    expect(run.stdout).toContain(`process     http://127.0.0.1:${port}: DOWN`);

    const json = runCli(['status', '--json', '--window', '0', '--url', `http://127.0.0.1:${port}`], envOf(config));
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as StatusReport;
    expect(report.process).toEqual({ url: `http://127.0.0.1:${port}`, up: false, ready: false, error: `connect ECONNREFUSED 127.0.0.1:${port}` });
    expect(report.problems[0]).toMatch(/^receiver down: /);
    // Kafka still answers: its part is reported (this config's topics were never created).
    expect(report.kafka.up).toBe(true);
    expect(report.problems).toContain(`topic ${config.topicEvents} (CALLSTREAM_TOPIC_EVENTS) does not exist: check the name, or start the pipeline once (it creates its topics)`);
  });
});
