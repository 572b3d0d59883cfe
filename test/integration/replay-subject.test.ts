import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_EVENTS, type Warehouse } from '../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect, duckdbDialect, type Dialect } from '../support/dialects.js';
import { callCompleted } from '../support/fixtures.js';
import { mainInProcess } from '../support/main-in-process.js';
import { isolatedConfig, startTestPipeline, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';
import { post } from '../e2e/scenario.js';

/**
 * `callstream replay --call-id` (issue 24.4): one call repaired from the audit topic without
 * rewinding the sink's group, on both warehouses: a row deleted by hand comes back as it was, no
 * other row changes, a newer version is never replaced by an older one, and a second run changes
 * nothing.
 */
const engines: Array<{ name: string; open: () => Promise<Warehouse>; dialect: Dialect }> = [
  { name: 'duckdb', open: () => DuckDbWarehouse.open(':memory:'), dialect: duckdbDialect },
  {
    name: 'bigquery (emulator)',
    open: async () => {
      await requireEmulator();
      return emulatorWarehouse();
    },
    dialect: bigQueryDialect,
  },
];

describe.each(engines)('callstream replay --call-id on $name', ({ open, dialect }) => {
  let warehouse: Warehouse;
  let t: Awaited<ReturnType<typeof startTestPipeline>>;
  const config = isolatedConfig();

  async function cli(...args: string[]) {
    const env = { KAFKA_BROKERS: config.kafkaBrokers!.join(','), CALLSTREAM_TOPIC_EVENTS: config.topicEvents, CALLSTREAM_TOPIC_RAW: config.topicRaw, LOG_LEVEL: 'silent' };
    return mainInProcess(['replay', ...args], env);
  }
  /** Every call_events row but one, each as the whole row's JSON text: what "no other row changed" compares. */
  const rowsBut = async (callId: string) =>
    (await warehouse.query(`SELECT call_id, ${dialect.rowText()} AS r FROM ${dialect.table(warehouse, 'call_events')} t WHERE call_id != '${callId}' ORDER BY call_id`)).map((row) => String(row.r));
  const rowOf = async (callId: string) => (await warehouse.query(`SELECT ${dialect.jsonValue('extracted_data', '$.v')} AS v, ${dialect.epochMs('received_at')} AS received_at FROM ${dialect.table(warehouse, 'call_events')} WHERE call_id = '${callId}'`))[0];
  const groupCommitted = async () => (await import('../support/pipeline-harness.js')).groupProgress(config.consumerGroup, config.topicEvents);

  beforeAll(async () => {
    warehouse = await open();
    t = await startTestPipeline({ config, warehouse });
    const sent = [
      ...[1, 2, 3, 4].map((n) => callCompleted(n, { extracted_data: { v: 1 } })),
      callCompleted(5, { tenant_id: 45, extracted_data: { v: 1 } }),
      callCompleted(2, { extracted_data: { v: 2 } }),
    ];
    for (const body of sent) expect((await post(t.url, body)).status).toBe(202);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    await waitFor(async () => (await warehouse.query(`SELECT COUNT(*) AS n FROM ${dialect.table(warehouse, 'call_events')}`))[0].n, (n) => Number(n) === 5, 30_000, 'five calls stored');
  });
  afterAll(async () => {
    await t?.pipeline.stop();
    await warehouse?.close();
  });

  it('restores a row deleted by hand, as it was, and changes no other row; the group is not rewound', async () => {
    const before = await rowOf('vs_3');
    const others = await rowsBut('vs_3');
    expect(await warehouse.eraseRows(CALL_EVENTS, [{ column: 'call_id', in: ['vs_3'] }], { dryRun: false })).toBe(1);
    const committed = await groupCommitted();

    const dry = await cli('--call-id', 'vs_3', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('1 about call vs_3 in the range');
    const run = await cli('--call-id', 'vs_3', '--yes');
    expect(run.code).toBe(0);
    expect(run.out).toContain("1 re-published; the sink's group was not touched");

    await waitFor(() => rowOf('vs_3'), (row) => row !== undefined, 30_000, 'vs_3 back in call_events');
    expect(await rowOf('vs_3')).toEqual(before);
    expect(await rowsBut('vs_3')).toEqual(others);
    // The sink read the one re-published record, after the offsets it had committed: nothing was re-read.
    expect((await groupCommitted()).committed).toBe(committed.committed + 1);
  }, 120_000);

  it('never puts an older version back: both versions of a call are re-published, the newer stays', async () => {
    const all = await rowsBut('');
    const run = await cli('--call-id', 'vs_2', '--yes');
    expect(run.out).toContain('2 re-published');
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    expect(Number((await rowOf('vs_2')).v)).toBe(2);
    expect(await rowsBut('')).toEqual(all);
  }, 120_000);

  it('narrows by tenant, and refuses what would mix a repair with a rewind', async () => {
    expect((await cli('--tenant', '45', '--dry-run')).out).toContain('1 about tenant 45 in the range');
    expect((await cli('--tenant', '44', '--dry-run')).out).toContain('5 about tenant 44 in the range');
    const mixed = await cli('--call-id', 'vs_3', '--to-earliest');
    expect(mixed.code).toBe(2);
    expect((await cli('--call-id', 'vs_3', '--wait')).code).toBe(2);
    expect((await cli('--to', '2026-12-01T00:00:00Z', '--to-earliest')).code).toBe(2);
  }, 120_000);
});
