import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { callCompleted } from '../support/fixtures.js';
import { mainInProcess } from '../support/main-in-process.js';
import { isolatedConfig, readTopic, startTestPipeline, testKafka, waitForCaughtUp } from '../support/pipeline-harness.js';
import { topicEnv } from '../support/processes.js';
import { post } from '../e2e/scenario.js';

/**
 * A replay meets a record its topic no longer takes: the events topic's max.message.bytes was
 * lowered after the call was accepted (or the audit topic holds the 202 of a request whose event
 * the broker then refused, answered 413). The broker would refuse the record and end the whole
 * replay, so the other calls were not repaired either; the replay reports it still refused
 * (RCV_RECORD_TOO_LARGE) and re-publishes the rest.
 */
describe('callstream replay with a record over the events topic\'s limit', () => {
  const config = isolatedConfig();
  const tenant = 7_000 + Math.floor(Math.random() * 1_000);
  let warehouse: DuckDbWarehouse;
  let t: Awaited<ReturnType<typeof startTestPipeline>>;

  const cli = async (...args: string[]) => mainInProcess(args, { KAFKA_BROKERS: config.kafkaBrokers!.join(','), ...topicEnv(config), LOG_LEVEL: 'silent' });

  beforeAll(async () => {
    warehouse = await DuckDbWarehouse.open(':memory:');
    t = await startTestPipeline({ config, warehouse });
    const large = callCompleted(1, { tenant_id: tenant, extracted_data: { notes: 'n'.repeat(60_000) } });
    for (const body of [large, callCompleted(2, { tenant_id: tenant }), callCompleted(3, { tenant_id: tenant })]) expect((await post(t.url, body)).status).toBe(202);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: config.topicEvents, configEntries: [{ name: 'max.message.bytes', value: '20000' }] }] });
    } finally {
      await admin.disconnect();
    }
  });
  afterAll(async () => {
    await t?.pipeline.stop();
    await warehouse?.close();
  });

  it('says the large one is still refused, in the dry run and the run, and re-publishes the others', async () => {
    const dry = await cli('replay', '--tenant', String(tenant), '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain(`3 about tenant ${tenant} in the range`);
    expect(dry.out).toContain('2 would be re-published');
    expect(dry.out).toContain(`Still refused: RCV_RECORD_TOO_LARGE: 1 (over the max.message.bytes of ${config.topicEvents})`);

    const run = await cli('replay', '--tenant', String(tenant), '--yes');
    expect(run.code, run.all).toBe(0);
    expect(run.out).toContain('2 re-published');
    expect(run.out).toContain('RCV_RECORD_TOO_LARGE: 1');
    const republished = (await readTopic(config.topicEvents)).filter((m) => m.headers['callstream-republished'] === 'replay-tenant');
    expect(republished.map((m) => m.key).sort()).toEqual(['vs_2', 'vs_3']);
  });
});
