import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_EVENTS, TELEPHONY_CALLBACKS, type Warehouse } from '../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect, duckdbDialect, type Dialect } from '../support/dialects.js';
import { callCompleted } from '../support/fixtures.js';
import { mainInProcess } from '../support/main-in-process.js';
import { isolatedConfig, startTestPipeline, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';
import { post } from '../e2e/scenario.js';
import { statusCallback, twilioCallback, writeVendorsFile } from '../e2e/telephony-scenario.js';

/**
 * `callstream replay --call-id` (issue 24.4): one call repaired from the audit topic without
 * rewinding the sink's group, on both warehouses: a row deleted by hand comes back as it was, no
 * other row changes, a newer version is never replaced by an older one, and a second run changes
 * nothing. `--call-sid` repairs the call's provider callbacks too (the telephony flow's audit topic).
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
  const config = isolatedConfig({ telephonyVendors: writeVendorsFile() });

  async function cli(...args: string[]) {
    const env = {
      KAFKA_BROKERS: config.kafkaBrokers!.join(','),
      CALLSTREAM_TOPIC_EVENTS: config.topicEvents,
      CALLSTREAM_TOPIC_RAW: config.topicRaw,
      CALLSTREAM_TOPIC_TELEPHONY: config.topicTelephony,
      CALLSTREAM_TOPIC_TELEPHONY_RAW: config.topicTelephonyRaw,
      CALLSTREAM_TELEPHONY_VENDORS: config.telephonyVendors!,
      LOG_LEVEL: 'silent',
    };
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

  it('--call-sid restores the call\'s provider callbacks deleted by hand, changes no other row, and a second run changes nothing', async () => {
    const callbacks = dialect.table(warehouse, 'telephony_callbacks');
    // What the restored rows must hold again: all but where the sink read them (kafka_partition, kafka_offset, ingested_at).
    const callbackRows = async (sid: string) =>
      (
        await warehouse.query(
          `SELECT vendor_slug, provider_call_id, callback_status, call_sid, content_type, ${dialect.jsonText('fields')} AS fields, raw_body, ${dialect.epochMs('occurred_at')} AS occurred_at, ${dialect.epochMs('event_time')} AS event_time, request_id, ${dialect.epochMs('received_at')} AS received_at FROM ${callbacks} WHERE call_sid = '${sid}' ORDER BY callback_status`,
        )
      ).map((r) => ({ ...r, occurred_at: Number(r.occurred_at), event_time: Number(r.event_time), received_at: Number(r.received_at) }));
    const callbacksBut = async (sid: string) => (await warehouse.query(`SELECT ${dialect.rowText()} AS r FROM ${callbacks} t WHERE call_sid != '${sid}' ORDER BY request_id`)).map((row) => String(row.r));
    const checksum = async (table: string) => (await warehouse.query(dialect.checksum(warehouse, table)))[0];

    const sent = [
      await twilioCallback(t.url, statusCallback('CA-replay-sid', 'ringing', 1)),
      await twilioCallback(t.url, statusCallback('CA-replay-sid', 'in-progress', 2)),
      await twilioCallback(t.url, { ...statusCallback('CA-replay-sid', 'completed', 3), CallDuration: '31' }),
      await twilioCallback(t.url, statusCallback('CA-replay-other', 'ringing', 4)),
      await twilioCallback(t.url, statusCallback('CA-replay-other', 'completed', 5)),
      await post(t.url, callCompleted(7, { call_sid: 'CA-replay-sid' })),
    ];
    expect(sent.map((s) => s.status)).toEqual(sent.map(() => 202));
    await waitForCaughtUp(config.consumerGroup, config.topicTelephony);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    await waitFor(async () => (await callbackRows('CA-replay-sid')).length, (n) => n === 3, 30_000, 'three callbacks stored');
    const before = await callbackRows('CA-replay-sid');
    const others = await callbacksBut('CA-replay-sid');
    const events = await checksum('call_events');
    expect(await warehouse.eraseRows(TELEPHONY_CALLBACKS, [{ column: 'call_sid', in: ['CA-replay-sid'] }], { dryRun: false })).toBe(3);

    const dry = await cli('--call-sid', 'CA-replay-sid', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain(`Audit topic ${config.topicTelephonyRaw}: 5 callback(s) read, 3 accepted about telephony call id CA-replay-sid in the range.`);
    const run = await cli('--call-sid', 'CA-replay-sid', '--yes');
    expect(run.code).toBe(0);
    expect(run.out).toContain('1 about telephony call id CA-replay-sid in the range'); // its call.completed, the same version again
    expect(run.out).toContain("3 re-published; the sink's group was not touched");

    await waitFor(() => callbackRows('CA-replay-sid'), (rows) => rows.length === 3, 30_000, 'the callbacks back in telephony_callbacks');
    expect(await callbackRows('CA-replay-sid')).toEqual(before);
    expect(await callbacksBut('CA-replay-sid')).toEqual(others);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    expect(await checksum('call_events')).toEqual(events);

    const all = await checksum('telephony_callbacks');
    expect((await cli('--call-sid', 'CA-replay-sid', '--yes')).out).toContain("3 re-published; the sink's group was not touched");
    await waitForCaughtUp(config.consumerGroup, config.topicTelephony);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    expect(await checksum('telephony_callbacks')).toEqual(all);
    expect(await checksum('call_events')).toEqual(events);
  }, 120_000);
});
