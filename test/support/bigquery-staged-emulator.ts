import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { parseBigQuerySettings } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { StagedBigQueryWarehouse } from '../../src/warehouse/bigquery/staged-warehouse.js';
import { BQ_EMULATOR, requireEmulator } from './bigquery-emulator.js';

/** The emulator's Storage Write API (gRPC), by default on its REST port + 10 (scripts/bq-emulator.sh). */
export const GRPC_ENDPOINT = `127.0.0.1:${process.env.BQ_EMULATOR_GRPC_PORT ?? Number(process.env.BQ_EMULATOR_PORT ?? 9050) + 10}`;

/** Fails (never skips) when the emulator's REST or gRPC port does not answer. */
export async function requireStorageWrite(): Promise<void> {
  await requireEmulator();
  const [host, port] = GRPC_ENDPOINT.split(':');
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port: Number(port), timeout: 2000 }, () => {
      socket.destroy();
      resolve();
    });
    const fail = () => {
      socket.destroy();
      reject(new Error(`No Storage Write API at ${GRPC_ENDPOINT}: start the emulator with \`scripts/bq-emulator.sh start\` (.ci/run does this in CI).`));
    };
    socket.on('error', fail);
    socket.on('timeout', fail);
  });
}

/** A staged-mode warehouse on the emulator, in a dataset of its own (endpoints overridable, e.g. fault proxies). */
export function stagedWarehouse(extra: Record<string, unknown> = {}): StagedBigQueryWarehouse {
  return new StagedBigQueryWarehouse(
    parseBigQuerySettings({
      projectId: BQ_EMULATOR.project,
      dataset: `staged_${randomUUID().replace(/-/g, '').slice(0, 10)}`,
      apiEndpoint: BQ_EMULATOR.endpoint,
      storageWriteEndpoint: GRPC_ENDPOINT,
      credentials: 'none',
      writeMode: 'staged',
      mergeIntervalMs: 0,
      ...extra,
    }),
    createLogger({ level: 'silent' }),
  );
}
