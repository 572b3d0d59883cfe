import { randomUUID } from 'node:crypto';
import { parseBigQuerySettings } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { BigQueryWarehouse } from '../../src/warehouse/bigquery/bigquery-warehouse.js';

/** Where the BigQuery REST emulator of scripts/bq-emulator.sh listens. */
export const BQ_EMULATOR = {
  endpoint: `http://127.0.0.1:${process.env.BQ_EMULATOR_PORT ?? 9050}`,
  project: process.env.BQ_EMULATOR_PROJECT ?? 'callstream-local',
};

/** Fails (never skips) when the emulator does not answer: .ci/run starts it; locally run `scripts/bq-emulator.sh start`. */
export async function requireEmulator(): Promise<void> {
  try {
    const res = await fetch(`${BQ_EMULATOR.endpoint}/healthz`, { signal: AbortSignal.timeout(2000) });
    if (res.ok) return;
  } catch {
    // reported below
  }
  throw new Error(`No BigQuery emulator at ${BQ_EMULATOR.endpoint}: start it with \`scripts/bq-emulator.sh start\` (.ci/run does this in CI).`);
}

/** A BigQuery warehouse on the emulator, in a dataset of its own (endpoint overridable, e.g. a fault proxy). */
export function emulatorWarehouse(extra: Record<string, unknown> = {}): BigQueryWarehouse {
  return new BigQueryWarehouse(
    parseBigQuerySettings({
      projectId: BQ_EMULATOR.project,
      dataset: `test_${randomUUID().replace(/-/g, '').slice(0, 10)}`,
      apiEndpoint: BQ_EMULATOR.endpoint,
      credentials: 'none',
      ...extra,
    }),
    createLogger({ level: 'silent' }),
  );
}
