import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_NAMES } from '../../src/codec/index.js';
import type { Config } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { sampleEventRecord } from '../support/fixtures.js';
import { startTestPipeline, testKafka, waitForCaughtUp } from '../support/pipeline-harness.js';

// Two pipelines on one broker with the same consumer group and each its own DuckDB file (a second
// checkout, a second `npm start` with another CALLSTREAM_DATA_DIR): the second used to join the
// group and take half the partitions, so records the first had acknowledged were written into the
// other file, and committed there.
let first: Awaited<ReturnType<typeof startTestPipeline>>;
let second: Pipeline | undefined;

beforeAll(async () => {
  first = await startTestPipeline({ receiver: false });
});
afterAll(async () => {
  await second?.stop();
  await first?.pipeline.stop();
});

describe('a consumer group is bound to the warehouse its sinks write', () => {
  it('refuses a second sink writing to another DuckDB file, naming both, and the first keeps every record', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'callstream-test-other-'));
    const otherConfig: Config = Object.freeze({ ...first.config, dataDir: otherDir });
    second = new Pipeline({ config: otherConfig, logger: createLogger({ level: otherConfig.logLevel }), manageBroker: false, receiver: false, querySocket: false });
    const refusal = await second.start().then(
      () => undefined,
      (err: unknown) => err,
    );

    const producer = testKafka().producer();
    await producer.connect();
    const record = (id: string) => first.pipeline.codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ call_id: id, entity_id: id, request_id: `req-${id}` }));
    await producer.send({ topic: first.config.topicEvents, messages: Array.from({ length: 30 }, (_, i) => ({ key: `bound-${i}`, value: record(`bound-${i}`), partition: i % 3 })) });
    await producer.disconnect();
    await waitForCaughtUp(first.config.consumerGroup, first.config.topicEvents);

    expect(await first.pipeline.warehouse!.query("SELECT count(*)::INT AS n FROM call_events WHERE call_id LIKE 'bound-%'")).toEqual([{ n: 30 }]);
    expect(refusal).toMatchObject({ code: 'SINK_GROUP_SHARED' });
    const message = (refusal as Error).message;
    expect(message).toContain(first.config.consumerGroup);
    expect(message).toContain(join(first.config.dataDir, 'callstream.duckdb'));
    expect(message).toContain(join(otherDir, 'callstream.duckdb'));
  });

  it('lets a sink of the same warehouse join after a restart: the identity is kept in the file', async () => {
    const before = await first.pipeline.warehouse!.identity();
    await first.pipeline.stop();
    first = await startTestPipeline({ config: first.config, receiver: false });
    expect(await first.pipeline.warehouse!.identity()).toEqual(before);
  });
});
