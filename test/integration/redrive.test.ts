import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallstreamError } from '../../src/errors.js';
import type { Row, TableSpec, Warehouse } from '../../src/warehouse/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { DelegatingWarehouse } from '../support/delegating-warehouse.js';
import { bigQueryDialect, duckdbDialect, type Dialect } from '../support/dialects.js';
import { callCompleted } from '../support/fixtures.js';
import { mainInProcess } from '../support/main-in-process.js';
import { isolatedConfig, readDeadLetters, startTestPipeline, waitFor, waitForCaughtUp } from '../support/pipeline-harness.js';
import { post } from '../e2e/scenario.js';

/** A table that refuses some calls' rows for their content (too narrow a column, say) until it is fixed. */
class NarrowTable extends DelegatingWarehouse {
  readonly refuse = new Set<string>();
  override upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    if (rows.some((r) => this.refuse.has(String(r.call_id)))) throw new CallstreamError('SINK_ROW_REJECTED', 'value too long for column (injected)');
    return this.inner.upsert(spec, rows);
  }
}

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

/**
 * `callstream redrive` (issue 24.3) through the real pipeline: a record dead-lettered for a table
 * fault, the table fixed, the record redriven and landed; a second redrive changes nothing; a
 * record refused again after a redrive is reported, not cycled.
 */
describe.each(engines)('callstream redrive on $name', ({ open, dialect }) => {
  let table: NarrowTable;
  let inner: Warehouse;
  let t: Awaited<ReturnType<typeof startTestPipeline>>;
  const config = isolatedConfig();

  const cli = async (...args: string[]) => {
    const env = { KAFKA_BROKERS: config.kafkaBrokers!.join(','), CALLSTREAM_TOPIC_EVENTS: config.topicEvents, CALLSTREAM_TOPIC_DLQ: config.topicDeadLetter, CALLSTREAM_TOPIC_TELEPHONY: config.topicTelephony, CALLSTREAM_TOPIC_TELEPHONY_DLQ: config.topicTelephonyDeadLetter, CALLSTREAM_TOPIC_RAW: config.topicRaw, CALLSTREAM_TOPIC_TELEPHONY_RAW: config.topicTelephonyRaw, LOG_LEVEL: 'silent' };
    return mainInProcess(['redrive', ...args], env);
  };
  const calls = async () => (await table.query(`SELECT call_id FROM ${dialect.table(inner, 'call_events')} ORDER BY call_id`)).map((r) => String(r.call_id));
  const checksum = async () => JSON.stringify(await table.query(dialect.checksum(inner, 'call_events')));
  const settle = async () => {
    await waitForCaughtUp(config.consumerGroup, config.topicEvents);
    await waitForCaughtUp(config.consumerGroup, config.topicDeadLetter);
  };

  beforeAll(async () => {
    inner = await open();
    table = new NarrowTable(inner);
    t = await startTestPipeline({ config, warehouse: table, querySocket: inner.kind === 'duckdb' });
  });
  afterAll(async () => {
    await t?.pipeline.stop();
    await table?.close();
  });

  it('re-publishes a record dead-lettered for a table fault once the table is fixed, and it lands', async () => {
    table.refuse.add('vs_2');
    for (const n of [1, 2]) expect((await post(t.url, callCompleted(n))).status).toBe(202);
    await readDeadLetters(config.topicDeadLetter, 1, (m) => m.key === 'vs_2');
    await settle();
    expect(await calls()).toEqual(['vs_1']);

    table.refuse.clear(); // the column widened
    const dry = await cli('--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('Would re-publish 1 to the topics they came from (SINK_ROW_REJECTED: 1)');
    const run = await cli('--codes', 'SINK_ROW_REJECTED', '--yes');
    expect(run.code).toBe(0);
    expect(run.out).toContain('Re-published 1');
    await waitFor(calls, (c) => c.includes('vs_2'), 30_000, 'vs_2 to land');
    expect(await calls()).toEqual(['vs_1', 'vs_2']);
    if (inner.kind === 'duckdb') {
      // callstream trace tells it: the row was stored after its dead letter.
      const env = { CALLSTREAM_DATA_DIR: config.dataDir, CALLSTREAM_TOPIC_EVENTS: config.topicEvents, CALLSTREAM_TOPIC_DLQ: config.topicDeadLetter, CALLSTREAM_TOPIC_RAW: config.topicRaw, LOG_LEVEL: 'silent' };
      const story = await waitFor(async () => (await mainInProcess(['trace', 'vs_2'], env)).out, (out) => out.includes('redriven'), 30_000, 'the trace of vs_2 to show the redrive');
      expect(story).toMatch(/row\s+call_events call_id=vs_2 .*; redriven: stored after its dead letter at \S+\.dlq \d+@\d+/);
    }
  }, 120_000);

  it('changes nothing when run again, and passes over other codes', async () => {
    const before = await checksum();
    expect((await cli('--yes')).out).toContain('Re-published 1');
    await settle();
    expect(await checksum()).toBe(before);
    const other = await cli('--codes', 'SINK_DECODE_FAILED', '--dry-run');
    expect(other.out).toContain('Would re-publish 0');
    expect(other.out).toContain('Passed over (another code than --codes): 1');
    expect((await cli('--codes', 'NO_SUCH_CODE')).code).toBe(2);
  }, 120_000);

  it('reports a record refused again after a redrive with its reason, and does not cycle it', async () => {
    table.refuse.add('vs_3'); // a cause not fixed
    expect((await post(t.url, callCompleted(3))).status).toBe(202);
    await readDeadLetters(config.topicDeadLetter, 1, (m) => m.key === 'vs_3');
    await settle();
    expect((await cli('--yes')).out).toContain('Re-published 2'); // vs_2 again (idempotent) and vs_3
    await readDeadLetters(config.topicDeadLetter, 2, (m) => m.key === 'vs_3');
    await settle();
    const again = await cli('--dry-run');
    expect(again.out).toContain('Would re-publish 1 '); // vs_2 only
    expect(again.out).toMatch(/Refused again after an earlier redrive.*: 1\n\s+\S+\.dlq\[\d+\]@\d+: SINK_ROW_REJECTED value too long for column \(injected\)$/m);
    expect(await calls()).toEqual(['vs_1', 'vs_2']);
  }, 120_000);
});
