import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CallstreamError } from '../errors.js';
import type { OptionKey } from './options.js';

/**
 * A sink connector config (connectors/*.json), in the spirit of Kafka Connect: which
 * topic and group it reads, how it flushes, and the warehouse it writes. Unknown keys
 * are rejected, naming the key.
 */
const bigQuerySettings = z.strictObject({
  projectId: z.string().min(1).describe('Google Cloud project of the dataset.'),
  dataset: z.string().regex(/^[A-Za-z0-9_]{1,1024}$/, 'expected letters, digits and underscores').describe('Dataset of the tables (created when missing and createTables is true).'),
  location: z.string().default('US').describe('Dataset location, e.g. US, EU, europe-west1.'),
  tablePrefix: z.string().regex(/^[A-Za-z0-9_]*$/).default('').describe('Prefix for the table names (call_events, campaign_events, compliance_events, telephony_callbacks, ...).'),
  createTables: z.boolean().default(true).describe('Create the dataset and tables when missing and add new nullable columns; false only checks.'),
  partitionExpirationDays: z.number().int().positive().nullable().default(null).describe('Expire day partitions older than this (null: keep).'),
  mergeLookbackDays: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Merge mode: bound the MERGE scan to the partitions from this many days before the oldest event_time of the batch and of its keys\' stored versions (looked up first); 0: scan all, no lookup. Staged mode: not used (the MERGE reads the days of the staged rows and of their keys\' stored versions).'),
  maxConcurrentMerges: z.number().int().min(1).max(2).default(2).describe('MERGE statements in flight per table (BigQuery runs 2 at most).'),
  maxRequestBytes: z.number().int().min(10_000).max(10_000_000).default(8_000_000).describe('Largest MERGE request (rows as a parameter); BigQuery\'s limit is 10 MB. Staged mode: largest append (the Storage Write API takes 10 MiB).'),
  writeMode: z
    .enum(['merge', 'staged'])
    .default('merge')
    .describe('"merge": one MERGE per flush with the rows as a query parameter (small tenants). "staged": rows appended through the Storage Write API into <table>__staged, then one MERGE per table every mergeIntervalMs (busy tenants; see docs/bigquery.md).'),
  mergeIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(5_000)
    .describe('Staged mode: least time between two MERGE statements into one table (5000: at most 2 per 10 s).'),
  stagedWritesInFlight: z
    .number()
    .int()
    .min(1)
    .max(1_000)
    .default(16)
    .describe('Staged mode: flushes the sink may have appended, or be appending, while earlier ones wait for their MERGE (they share it). The sink then holds up to (1 + this) × flush.maxRecords records not yet merged, and at most flush.bufferBytes of them.'),
  stagedAppendsInFlight: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('Staged mode: append requests sent on a table\'s write stream before the first is answered (each gets the next offset, so a retry still stores nothing twice).'),
  storageWriteEndpoint: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port')
    .optional()
    .meta({ docDefault: "(Google's)" })
    .describe('Staged mode: another Storage Write API gRPC endpoint (host:port), e.g. an emulator at 127.0.0.1:9060; plaintext when credentials is "none".'),
  credentials: z
    .union([z.literal('adc'), z.literal('none'), z.strictObject({ keyFile: z.string().min(1) })])
    .default('adc')
    .describe('"adc" (Application Default Credentials), {"keyFile": "..."} or "none" (emulators).'),
  apiEndpoint: z.string().url().optional().meta({ docDefault: "(Google's)" }).describe('Another REST endpoint, e.g. an emulator at http://127.0.0.1:9050.'),
});

export type BigQuerySettings = z.output<typeof bigQuerySettings>;

const connectorSchema = z.strictObject({
  name: z.string().min(1).describe('The connector\'s name, for people and logs.'),
  warehouse: z.enum(['duckdb', 'bigquery']).describe('Where the sink writes: the embedded DuckDB or BigQuery (then the "bigquery" section is required).'),
  topic: z.string().min(1).optional().meta({ docDefault: 'CALLSTREAM_TOPIC_EVENTS' }).describe('The Callaro events topic the sink reads.'),
  telephonyTopic: z.string().min(1).optional().meta({ docDefault: 'CALLSTREAM_TOPIC_TELEPHONY' }).describe('The providers\' callbacks topic the sink reads.'),
  consumerGroup: z.string().min(1).optional().meta({ docDefault: 'CALLSTREAM_CONSUMER_GROUP' }).describe('The sink\'s consumer group: the group `callstream replay` rewinds.'),
  flush: z
    .strictObject({
      maxRecords: z.number().int().min(1).optional().meta({ docDefault: 'CALLSTREAM_FLUSH_MAX_RECORDS' }).describe('A flush (merge mode: a MERGE; staged: an append) runs when this many records wait ...'),
      intervalMs: z.number().int().min(0).optional().meta({ docDefault: 'CALLSTREAM_FLUSH_INTERVAL_MS' }).describe('... or this long after the first of them.'),
      bufferBytes: z
        .number()
        .int()
        .min(1024 * 1024)
        .optional()
        .meta({ docDefault: 'CALLSTREAM_SINK_BUFFER_BYTES' })
        .describe('... or when the buffer holds its share of this memory budget (bytes of records fetched and not yet written; the sink fetches no more while it is full). Staged mode: the flushes waiting for their MERGE count against it.'),
    })
    .optional(),
  dataDir: z.string().optional().meta({ docDefault: 'CALLSTREAM_DATA_DIR' }).describe('Folder of the DuckDB file and the query socket.'),
  /** Like Kafka Connect's value.converter.schema.registry.url; credentials stay in the environment. */
  schemaRegistry: z
    .strictObject({
      url: z
        .string()
        .url()
        .refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL')
        .describe('The schema registry (as CALLSTREAM_SCHEMA_REGISTRY_URL; its credentials only come from the environment).'),
      autoRegister: z.boolean().optional().meta({ docDefault: 'CALLSTREAM_SCHEMA_REGISTRY_AUTO_REGISTER' }).describe('Register callstream\'s schemas when missing.'),
    })
    .optional(),
  bigquery: bigQuerySettings.optional(),
});

/** The connector file's schema, for the generated key table (docs/bigquery.md). */
export const CONNECTOR_SCHEMA = connectorSchema;

export type ConnectorConfig = z.output<typeof connectorSchema>;

/** Parses a connector file; returns it plus the option overrides it implies. */
export function loadConnector(path: string): { connector: ConnectorConfig; overrides: Partial<Record<OptionKey, unknown>> } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CallstreamError('CFG_INVALID', `Cannot read connector file ${path}: ${(cause as Error).message}`, { cause });
  }
  const parsed = connectorSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CallstreamError('CFG_INVALID', `Connector file ${path}: ${problems}`);
  }
  const connector = parsed.data;
  if (connector.warehouse === 'bigquery' && !connector.bigquery) {
    throw new CallstreamError('CFG_INVALID', `Connector file ${path}: warehouse "bigquery" needs a "bigquery" section`);
  }
  const overrides: Partial<Record<OptionKey, unknown>> = { warehouse: connector.warehouse };
  if (connector.topic) overrides.topicEvents = connector.topic;
  if (connector.telephonyTopic) overrides.topicTelephony = connector.telephonyTopic;
  if (connector.consumerGroup) overrides.consumerGroup = connector.consumerGroup;
  if (connector.flush?.maxRecords !== undefined) overrides.flushMaxRecords = connector.flush.maxRecords;
  if (connector.flush?.intervalMs !== undefined) overrides.flushIntervalMs = connector.flush.intervalMs;
  if (connector.flush?.bufferBytes !== undefined) overrides.sinkBufferBytes = connector.flush.bufferBytes;
  if (connector.dataDir) overrides.dataDir = connector.dataDir;
  if (connector.schemaRegistry) {
    overrides.schemaRegistryUrl = connector.schemaRegistry.url;
    if (connector.schemaRegistry.autoRegister !== undefined) overrides.schemaRegistryAutoRegister = connector.schemaRegistry.autoRegister;
  }
  return { connector, overrides };
}

/** Parses BigQuery settings given in code (tests, embedding). */
export function parseBigQuerySettings(input: unknown): BigQuerySettings {
  return bigQuerySettings.parse(input);
}
