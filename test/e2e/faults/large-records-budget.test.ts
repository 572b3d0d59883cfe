import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_NAMES } from '../../../src/codec/index.js';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { Row, TableSpec, Warehouse } from '../../../src/warehouse/index.js';
import { DelegatingWarehouse } from '../../support/delegating-warehouse.js';
import { sampleEventRecord } from '../../support/fixtures.js';
import { isolatedConfig, startTestPipeline, testKafka, waitForCaughtUp } from '../../support/pipeline-harness.js';

const MiB = 1024 * 1024;

/** A slow warehouse: every write waits before it starts (a warehouse behind a slow network, say), and counts the rows it wrote. */
class SlowWarehouse extends DelegatingWarehouse {
  written = 0;
  writes = 0;
  constructor(
    inner: Warehouse,
    private readonly delayMs: number,
    private readonly onWriteStart: () => void,
  ) {
    super(inner);
  }

  override async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    this.onWriteStart();
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const changed = await this.inner.upsert(spec, rows);
    this.written += rows.length;
    this.writes++;
    return changed;
  }
}

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

/** Produces `count` call.completed records of about `bytes` each, one record per record batch, a few requests at a time. */
async function produceLarge(codec: { encode(name: string, record: unknown): Buffer }, topic: string, count: number, bytes: number): Promise<number> {
  const filler = randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes);
  const producer = testKafka().producer();
  await producer.connect();
  let size = 0;
  try {
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < count; i++) {
      const id = `big-${i}`;
      const value = codec.encode(SCHEMA_NAMES.callaroEvent, sampleEventRecord({ call_id: id, entity_id: id, request_id: `req-${id}`, payload: `{"call_id":"${id}","transcript":"${filler}"}` }));
      size = Math.max(size, value.length + id.length);
      const sent: Promise<unknown> = producer.send({ topic, messages: [{ key: id, value }] }).finally(() => inFlight.delete(sent));
      inFlight.add(sent);
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
  return size;
}

/**
 * Runs a sink with the given budget over a slow warehouse, produces `count` records of
 * about `bytes` each, waits until every one is committed; returns the most records it held
 * unwritten (its consumed counter less the rows the warehouse wrote, sampled every 5 ms and
 * at each write), the largest record's bytes, the writes and the rows in the table.
 */
async function drain(budget: number, count: number, bytes: number) {
  const config = isolatedConfig({ sinkBufferBytes: budget, requestLog: false });
  let consumed = 0;
  let maxHeldRecords = 0;
  const sample = () => (maxHeldRecords = Math.max(maxHeldRecords, consumed - warehouse.written));
  const warehouse = new SlowWarehouse(await DuckDbWarehouse.open(join(config.dataDir, 'budget.duckdb')), 100, sample);
  const { pipeline } = await startTestPipeline({ warehouse, config, receiver: false });
  cleanup.push(
    () => warehouse.close(),
    () => pipeline.stop(),
  );
  const poll = setInterval(() => {
    void pipeline.metrics.recordsConsumed.get().then((m) => {
      consumed = m.values[0]?.value ?? 0;
      sample();
    });
  }, 5);
  try {
    const recordBytes = await produceLarge(pipeline.codec, config.topicEvents, count, bytes);
    await waitForCaughtUp(config.consumerGroup, config.topicEvents, 180_000);
    const [{ n }] = await warehouse.query('SELECT count(*)::INTEGER AS n FROM call_events');
    return { maxHeldRecords, recordBytes, writes: warehouse.writes, rows: n };
  } finally {
    clearInterval(poll);
  }
}

describe('fault: a backlog of large records and a slow warehouse', () => {
  it('holds no more record bytes than CALLSTREAM_SINK_BUFFER_BYTES (+ one record) unwritten, and every record lands', async () => {
    const budget = 8 * MiB;
    const count = 200;
    const { maxHeldRecords, recordBytes, writes, rows } = await drain(budget, count, MiB);
    const heldBytes = maxHeldRecords * recordBytes;
    expect(heldBytes, `at most ${maxHeldRecords} records of ${recordBytes} bytes held unwritten`).toBeLessThanOrEqual(budget + recordBytes);
    // The budget did bind (the warehouse is the slow part), and the buffer's share of it made the flushes.
    expect(heldBytes).toBeGreaterThan(budget / 2);
    expect(writes).toBeGreaterThanOrEqual(count / Math.ceil(budget / recordBytes));
    expect(rows).toBe(count);
  }, 240_000);

  it('records larger than the whole budget still land, each held alone', async () => {
    const count = 6;
    const { maxHeldRecords, rows } = await drain(1 * MiB, count, 1.5 * MiB);
    expect(maxHeldRecords).toBe(1);
    expect(rows).toBe(count);
  }, 120_000);
});
