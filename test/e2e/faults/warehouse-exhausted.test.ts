import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/index.js';
import type { StatusReport } from '../../../src/status/index.js';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ContractSender, deliveriesFor } from '../../support/contract-sender.js';
import { expectExactlyAcknowledged, versionedCall } from '../../support/expect-acknowledged.js';
import { mainInProcess } from '../../support/main-in-process.js';
import { groupProgress, startTestPipeline, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';
import { SmallDisk } from '../../support/small-disk.js';

let disk: SmallDisk | undefined;
let warehouse: DuckDbWarehouse | undefined;
let t: Awaited<ReturnType<typeof startTestPipeline>>;

beforeAll(async () => {
  disk = SmallDisk.mount(32);
  warehouse = await DuckDbWarehouse.open(join(disk.dir, 'w.duckdb'));
  t = await startTestPipeline({ warehouse });
});
afterAll(async () => {
  await t?.pipeline.stop();
  await warehouse?.close();
  disk?.unmount();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

async function status(config: Config): Promise<{ code: number; report: StatusReport }> {
  const env = {
    KAFKA_BROKERS: config.kafkaBrokers!.join(','),
    CALLSTREAM_TOPIC_EVENTS: config.topicEvents,
    CALLSTREAM_TOPIC_TELEPHONY: config.topicTelephony,
    CALLSTREAM_TOPIC_DLQ: config.topicDeadLetter,
    CALLSTREAM_TOPIC_TELEPHONY_DLQ: config.topicTelephonyDeadLetter,
    CALLSTREAM_CONSUMER_GROUP: config.consumerGroup,
  };
  const run = await mainInProcess(['status', '--json', '--url', t.url, '--window', '0'], env);
  return { code: run.code, report: JSON.parse(run.out) as StatusReport };
}

describe('fault: the disk under the DuckDB warehouse fills up', () => {
  it('shows SINK_WAREHOUSE_EXHAUSTED (disk) in /metrics and status, commits nothing unwritten, and goes on by itself once space is freed: every acknowledged event once', async () => {
    const { consumerGroup, topicEvents } = t.config;
    disk!.fill(512 * 1024);
    const sender = new ContractSender(t.url, { concurrency: 8 });
    await sender.run(deliveriesFor(400, versionedCall));
    await waitFor(() => metric('callstream_sink_warehouse_exhausted\\{resource="disk"\\}'), (v) => v === 1, 30_000, 'the exhausted gauge for disk');

    const during = await groupProgress(consumerGroup, topicEvents);
    expect(during.committed).toBeLessThan(during.end);
    const { code, report } = await status(t.config);
    expect(code).toBe(1);
    expect(report.exhaustion.now).toEqual(['disk']);
    expect(report.problems.find((p) => p.startsWith('warehouse out of disk (SINK_WAREHOUSE_EXHAUSTED)'))).toBeDefined();

    disk!.unfill();
    await waitForCaughtUp(consumerGroup, topicEvents, 90_000);
    await expectExactlyAcknowledged(warehouse!, sender);
    expect(await metric('callstream_sink_warehouse_exhausted\\{resource="disk"\\}')).toBe(0);
    expect(await metric('callstream_sink_warehouse_exhausted_total\\{resource="disk"\\}')).toBeGreaterThan(0);
  }, 150_000);
});
