import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StagedBigQueryWarehouse } from '../../../src/warehouse/bigquery/staged-warehouse.js';
import { CALL_EVENTS } from '../../../src/warehouse/index.js';
import { BQ_EMULATOR } from '../../support/bigquery-emulator.js';
import { GRPC_ENDPOINT, requireStorageWrite, stagedWarehouse } from '../../support/bigquery-staged-emulator.js';
import { bigQueryDialect } from '../../support/dialects.js';
import { ContractSender, deliveriesFor } from '../../support/contract-sender.js';
import { versionedCall } from '../../support/expect-acknowledged.js';
import { groupProgress, isolatedConfig, startTestPipeline, waitFor, waitForCaughtUp } from '../../support/pipeline-harness.js';
import { envFor, freePort, spawnCallstream, stopProcess, type Spawned } from '../../support/processes.js';
import { expectReplayChangesNothing } from '../replay.js';

/**
 * The staged write mode's crash case: a sink process (connectors/bigquery-staged-sink.json
 * pointed at the emulator) is SIGKILLed while rows it appended to the staging table wait for
 * a MERGE (mergeIntervalMs of a minute), i.e. after the append and before the MERGE. Its
 * offsets were not committed, so the next sink reads those records again; at its start-up it
 * merges the orphaned staged rows (a no-op by the version guard where they were replayed).
 */
const config = isolatedConfig({ flushIntervalMs: 50, sessionTimeoutMs: 6_000, warehouse: 'bigquery' });
const dataset = `killed_${config.consumerGroup.replace(/[^A-Za-z0-9]/g, '')}`;
const exampleFile = fileURLToPath(new URL('../../../connectors/bigquery-staged-sink.json', import.meta.url));
let receiver: Awaited<ReturnType<typeof startTestPipeline>>;
let sink: Spawned | undefined;
let probe: StagedBigQueryWarehouse;
const warehouses: StagedBigQueryWarehouse[] = [];

/** The committed staged example, aimed at this test's topics, group and dataset on the emulator. */
function connectorFile(mergeIntervalMs: number): string {
  const example = JSON.parse(readFileSync(exampleFile, 'utf8'));
  const connector = {
    ...example,
    topic: config.topicEvents,
    telephonyTopic: config.topicTelephony,
    consumerGroup: config.consumerGroup,
    bigquery: { ...example.bigquery, projectId: BQ_EMULATOR.project, dataset, credentials: 'none', apiEndpoint: BQ_EMULATOR.endpoint, storageWriteEndpoint: GRPC_ENDPOINT, mergeIntervalMs },
  };
  const file = join(mkdtempSync(join(tmpdir(), 'callstream-staged-connector-')), 'connector.json');
  writeFileSync(file, JSON.stringify(connector));
  return file;
}

async function count(sql: string): Promise<number> {
  return Number((await probe.query(sql))[0].n);
}

/**
 * One comparable line per stored row, in key order: all but ingested_at (when the sink wrote
 * it) and kafka_offset (a request delivered twice has two offsets; which one's row is stored
 * first depends on the batches, not on faults).
 */
async function storedRows(warehouse: StagedBigQueryWarehouse): Promise<string[]> {
  const rows = await warehouse.query(
    `SELECT call_id, event_type, request_id, UNIX_MILLIS(received_at) AS received_at, kafka_partition, TO_JSON_STRING(payload) AS payload FROM ${warehouse.tableRef(CALL_EVENTS)}`,
  );
  return rows.map((r) => JSON.stringify([r.call_id, r.event_type, r.request_id, r.received_at, r.kafka_partition, r.payload])).sort();
}

beforeAll(async () => {
  await requireStorageWrite();
  receiver = await startTestPipeline({ config, sink: false });
  probe = stagedWarehouse({ dataset });
  warehouses.push(probe);
});
afterAll(async () => {
  if (sink) await stopProcess(sink, 'SIGKILL');
  await receiver?.pipeline.stop();
  for (const w of warehouses) await w.close();
});

describe('fault: a staged-mode sink is killed with SIGKILL between an append and its MERGE', () => {
  it('loses nothing and doubles nothing; the staging table ends empty; a full replay changes nothing and equals a run without the fault', async () => {
    const port = await freePort();
    const sender = new ContractSender(receiver.url, { concurrency: 8 });

    // The first MERGE of a process runs at once, the next a minute later.
    sink = await spawnCallstream('sink', envFor(config, { CALLSTREAM_CONNECTOR: connectorFile(60_000) }), port);
    await sender.run(deliveriesFor(50, versionedCall, 0));
    await waitFor(() => groupProgress(config.consumerGroup, config.topicEvents), (p) => p.committed > 0, 60_000, 'the first MERGE to commit offsets');
    await sender.run(deliveriesFor(150, versionedCall, 50));
    const stagingRef = probe.stagingRef(CALL_EVENTS);
    // Appended, not merged: the rows wait in the staging table for the next MERGE.
    await waitFor(() => count(`SELECT COUNT(*) AS n FROM ${stagingRef}`), (n) => n > 0, 60_000, 'appended rows waiting for their MERGE');
    const atKill = await groupProgress(config.consumerGroup, config.topicEvents);
    await stopProcess(sink, 'SIGKILL');
    expect(atKill.committed).toBeLessThan(atKill.end);
    const orphaned = await count(`SELECT COUNT(*) AS n FROM ${stagingRef}`);
    expect(orphaned).toBeGreaterThan(0);

    sink = await spawnCallstream('sink', envFor(config, { CALLSTREAM_CONNECTOR: connectorFile(500) }), port);
    await sender.run(deliveriesFor(50, versionedCall, 200));
    await waitForCaughtUp(config.consumerGroup, config.topicEvents, 120_000);
    await stopProcess(sink, 'SIGTERM');
    expect(readFileSync(sink.log, 'utf8')).toContain('merged staged rows left by an earlier run');
    sink = undefined;

    expect(await count(`SELECT COUNT(*) AS n FROM ${stagingRef}`)).toBe(0);
    const target = probe.tableRef(CALL_EVENTS);
    expect(await count(`SELECT COUNT(*) AS n FROM (SELECT call_id, event_type FROM ${target} GROUP BY 1, 2 HAVING COUNT(*) > 1)`)).toBe(0);
    const stored = await probe.query(`SELECT call_id, TO_JSON_STRING(extracted_data) AS extracted FROM ${target} WHERE event_type = 'call.completed'`);
    const versions = new Map(stored.map((r) => [String(r.call_id), JSON.parse(String(r.extracted)).version as number]));
    const wanted = new Map([...sender.newest].map(([key, body]) => [key, (body as { extracted_data: { version: number } }).extracted_data.version]));
    expect(versions).toEqual(wanted);

    // The same topic into a fresh dataset, no fault: the same rows.
    const clean = stagedWarehouse({ mergeIntervalMs: 0 });
    warehouses.push(clean);
    const cleanConfig = { ...config, consumerGroup: `${config.consumerGroup}-clean` };
    const replay = await startTestPipeline({ config: cleanConfig, warehouse: clean, receiver: false });
    try {
      await waitForCaughtUp(cleanConfig.consumerGroup, config.topicEvents, 120_000);
    } finally {
      await replay.pipeline.stop();
    }
    expect(await storedRows(probe)).toEqual(await storedRows(clean));

    await expectReplayChangesNothing(config, probe, bigQueryDialect);
    expect(await count(`SELECT COUNT(*) AS n FROM ${stagingRef}`)).toBe(0);
  }, 360_000);
});
