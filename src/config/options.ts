import { z } from 'zod';
import { FIELD_NAME, parseCallsFields, type CallsField } from './view-settings.js';

/** The smallest DuckDB buffer pool CALLSTREAM_DUCKDB_MEMORY_LIMIT takes (128 MB). */
const MIN_DUCKDB_MEMORY = 128 * 1_000_000;

/** A DuckDB size setting (256MB, 1GiB, ...) in bytes; DuckDB reads MB and GB as powers of 1,000 (and KiB... of 1,024). */
export function sizeInBytes(size: string): number {
  const [, amount, unit, binary] = /^(\d+(?:\.\d+)?)\s*([KMG])(i?)B$/i.exec(size.trim()) ?? [];
  if (!amount) return Number.NaN;
  const power = { K: 1, M: 2, G: 3 }[unit.toUpperCase() as 'K' | 'M' | 'G'];
  return Number(amount) * (binary ? 1024 : 1000) ** power;
}

/**
 * Every option callstream reads from the environment, in one place: its variable,
 * its schema (with the default) and a description. docs/configuration.md's
 * table is checked against this list by test/unit/config/options.test.ts.
 */
export interface OptionSpec<T extends z.ZodType = z.ZodType> {
  env: string;
  schema: T;
  description: string;
  /** How the default reads in docs/configuration.md (for values that are computed). */
  shownDefault?: string;
}

const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  return v;
}, z.boolean());
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const list = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(z.string().min(1)).min(1),
);

/** CALLSTREAM_VIEWS_CALLS_FIELDS: `name:TYPE,...` parsed into fields (unset: none). */
const callsFields = z
  .string()
  .default('')
  .transform((text, ctx): CallsField[] => {
    try {
      return parseCallsFields(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

function option<T extends z.ZodType>(env: string, schema: T, description: string, shownDefault?: string): OptionSpec<T> {
  return { env, schema, description, shownDefault };
}

export const OPTIONS = {
  host: option('HOST', z.string().default('127.0.0.1'), 'Address the receiver listens on.'),
  port: option('PORT', int(0, 65535).default(8080), 'Port of the receiver (0 picks a free port).'),
  dataDir: option('CALLSTREAM_DATA_DIR', z.string().default('./data'), 'Folder for the embedded DuckDB warehouse and the query socket.'),
  logLevel: option('LOG_LEVEL', z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'), 'pino log level.'),
  kafkaBrokers: option(
    'KAFKA_BROKERS',
    list.optional(),
    'Comma-separated bootstrap servers of an existing cluster. Unset: `npm start` starts a local single-node broker on 127.0.0.1:9092.',
    '(local broker)',
  ),
  kafkaClientId: option('KAFKA_CLIENT_ID', z.string().default('callstream'), 'Kafka client id (shows up in broker logs and quotas).'),
  kafkaSsl: option('KAFKA_SSL', bool.default(false), 'Connect to the brokers over TLS.'),
  kafkaSslCaFile: option('KAFKA_SSL_CA_FILE', z.string().optional(), 'PEM file with the CA that signed the brokers\' certificates (TLS).', '(system CAs)'),
  kafkaSaslMechanism: option('KAFKA_SASL_MECHANISM', z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(), 'SASL mechanism; unset means no SASL.', '(none)'),
  kafkaSaslUsername: option('KAFKA_SASL_USERNAME', z.string().optional(), 'SASL user name.', '(none)'),
  kafkaSaslPassword: option('KAFKA_SASL_PASSWORD', z.string().optional(), 'SASL password (never logged).', '(none)'),
  schemaRegistryUrl: option(
    'CALLSTREAM_SCHEMA_REGISTRY_URL',
    z.string().url().refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL').optional(),
    'Confluent-compatible schema registry. Set: records are written in Confluent\'s wire format (schema id from the registry, subjects `<topic>-value`), so Connect, ksqlDB and other Confluent deserializers read the topics. Unset: Avro single-object frames, no registry needed. The sink reads both.',
    '(none)',
  ),
  schemaRegistryUsername: option('CALLSTREAM_SCHEMA_REGISTRY_USERNAME', z.string().optional(), 'Basic-auth user of the schema registry (Confluent Cloud: the API key).', '(none)'),
  schemaRegistryPassword: option('CALLSTREAM_SCHEMA_REGISTRY_PASSWORD', z.string().optional(), 'Basic-auth password of the schema registry (Confluent Cloud: the API secret; never logged).', '(none)'),
  schemaRegistryAutoRegister: option(
    'CALLSTREAM_SCHEMA_REGISTRY_AUTO_REGISTER',
    bool.default(true),
    'Register callstream\'s schemas at start. false: only look up their ids (schemas registered by your own process; start-up fails if one is missing).',
  ),
  topicEvents: option('CALLSTREAM_TOPIC_EVENTS', z.string().default('callstream.callaro.events'), 'Topic of validated Callaro events (Avro, keyed by call_id or entity id).'),
  topicRaw: option('CALLSTREAM_TOPIC_RAW', z.string().default('callstream.callaro.raw'), 'Audit topic of the Callaro flow: every request\'s raw bytes, receipt time and headers, valid or not.'),
  topicDeadLetter: option('CALLSTREAM_TOPIC_DLQ', z.string().default('callstream.callaro.dlq'), 'Dead-letter topic for Callaro events the sink cannot decode or write.'),
  topicTelephony: option(
    'CALLSTREAM_TOPIC_TELEPHONY',
    z.string().default('callstream.telephony.callbacks'),
    'Topic of verified provider callbacks (/api/v1/webhooks/telephony/{vendor_slug}; Avro, keyed by the provider\'s call id).',
  ),
  topicTelephonyRaw: option('CALLSTREAM_TOPIC_TELEPHONY_RAW', z.string().default('callstream.telephony.raw'), 'Audit topic of the provider-callback flow: every request to it, verified or not.'),
  topicTelephonyDeadLetter: option('CALLSTREAM_TOPIC_TELEPHONY_DLQ', z.string().default('callstream.telephony.dlq'), 'Dead-letter topic for provider callbacks the sink cannot decode or write.'),
  topicErasures: option(
    'CALLSTREAM_TOPIC_ERASURES',
    z.string().default('callstream.erasures'),
    'Compacted topic of the erasures `callstream erase` recorded (keyed by subject, JSON): the sink reads it whole at start and follows it, and never writes an erased subject\'s rows again.',
  ),
  telephonyVendors: option(
    'CALLSTREAM_TELEPHONY_VENDORS',
    z.string().optional(),
    'JSON file of the telephony vendors (slug, verification scheme, secrets), e.g. connectors/telephony-vendors.json. Unset: every vendor slug answers 404.',
    '(none)',
  ),
  requestLog: option(
    'CALLSTREAM_REQUEST_LOG',
    bool.default(true),
    'The sink also indexes the audit and dead-letter topics into the requests and dead_letters tables (no bodies): what `callstream trace` and refusal rates in SQL read. false: the sink reads the event topics only.',
  ),
  jsCrc32c: option(
    'CALLSTREAM_JS_CRC32C',
    bool.default(false),
    'Compute the checksum of produced Kafka record batches in JavaScript (kafkajs\'s own) instead of natively (@node-rs/crc32): for before-and-after measurements. Read when the Kafka modules load (src/kafka/crc32c.ts).',
  ),
  topicPartitions: option('CALLSTREAM_TOPIC_PARTITIONS', int(1, 10000).default(6), 'Partitions of the events and callbacks topics when callstream creates them.'),
  topicReplicationFactor: option('CALLSTREAM_TOPIC_REPLICATION', int(-1, 10).default(-1), 'Replication factor for created topics (-1: the broker\'s default).'),
  retentionEventsDays: option(
    'CALLSTREAM_RETENTION_EVENTS_DAYS',
    int(-1, 36_500).refine((d) => d !== 0, 'expected -1 (keep for ever) or a number of days').default(30),
    'retention.ms of the events and callbacks topics when callstream creates them, in days (-1: for ever): how far back `callstream replay` can go. Holds phone numbers in the clear (see "Privacy").',
  ),
  retentionRawDays: option(
    'CALLSTREAM_RETENTION_RAW_DAYS',
    int(-1, 36_500).refine((d) => d !== 0, 'expected -1 (keep for ever) or a number of days').default(14),
    'retention.ms of the audit topics (every request\'s raw bytes and headers) when callstream creates them, in days (-1: for ever): how far back `replay-raw` and `trace --bodies` reach.',
  ),
  retentionDeadLetterDays: option(
    'CALLSTREAM_RETENTION_DLQ_DAYS',
    int(-1, 36_500).refine((d) => d !== 0, 'expected -1 (keep for ever) or a number of days').default(30),
    'retention.ms of the dead-letter topics when callstream creates them, in days (-1: for ever).',
  ),
  createTopics: option('CALLSTREAM_CREATE_TOPICS', bool.default(true), 'Create missing topics at start (auto-create on the broker is never relied on).'),
  consumerGroup: option('CALLSTREAM_CONSUMER_GROUP', z.string().default('callstream-sink'), 'Consumer group of the sink; replay rewinds this group.'),
  sessionTimeoutMs: option(
    'CALLSTREAM_SESSION_TIMEOUT_MS',
    int(6_000, 300_000).default(30_000),
    'Consumer-group session timeout: how long a sink that died silently holds its partitions.',
  ),
  maxBodyBytes: option('CALLSTREAM_MAX_BODY_BYTES', int(1, 64 * 1024 * 1024).default(1024 * 1024), 'Largest accepted request body in bytes (413 above).'),
  authTokens: option(
    'CALLSTREAM_AUTH_TOKENS',
    list.optional(),
    'Comma-separated bearer tokens; when set, the webhook route needs `Authorization: Bearer <one of them>` (several for rotation).',
    '(none)',
  ),
  secretPath: option(
    'CALLSTREAM_SECRET_PATH',
    z.string().regex(/^[A-Za-z0-9_-]{16,}$/, 'expected at least 16 letters, digits, - or _').optional(),
    'A secret path segment: the webhook route becomes /callaro/webhooks/<secret>.',
    '(none)',
  ),
  hmacSecrets: option('CALLSTREAM_HMAC_SECRETS', list.optional(), 'Comma-separated HMAC-SHA256 secrets; when set, every request must carry a valid signature over its raw body.', '(none)'),
  hmacHeader: option('CALLSTREAM_HMAC_HEADER', z.string().default('x-callaro-signature'), 'Header carrying the HMAC signature (an optional `sha256=` prefix is accepted).'),
  hmacEncoding: option('CALLSTREAM_HMAC_ENCODING', z.enum(['hex', 'base64']).default('hex'), 'Encoding of the HMAC signature.'),
  hmacTimestampHeader: option(
    'CALLSTREAM_HMAC_TIMESTAMP_HEADER',
    z.string().optional(),
    'Header with a Unix timestamp (seconds); when set, the signature covers `<timestamp>.<body>` and old timestamps are refused.',
    '(none)',
  ),
  standardWebhooksSecrets: option(
    'CALLSTREAM_STANDARD_WEBHOOKS_SECRETS',
    list.optional(),
    'Comma-separated `whsec_` secrets: verify the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature).',
    '(none)',
  ),
  signatureToleranceSeconds: option('CALLSTREAM_SIGNATURE_TOLERANCE_SECONDS', int(1, 86_400).default(300), 'Largest age (and clock skew) of a signed timestamp.'),
  tenantAllowlist: option('CALLSTREAM_TENANT_ALLOWLIST', list.optional(), 'Comma-separated tenant_ids accepted; others get 403.', '(all)'),
  sourceCidrs: option('CALLSTREAM_SOURCE_CIDRS', list.optional(), 'Comma-separated CIDR blocks (IPv4 or IPv6) allowed to send; others get 403.', '(all)'),
  trustedProxyHops: option(
    'CALLSTREAM_TRUSTED_PROXY_HOPS',
    int(0, 10).default(0),
    'Proxies in front of the receiver whose X-Forwarded-For entries are trusted (0: use the socket address).',
  ),
  bodyTimeoutMs: option('CALLSTREAM_BODY_TIMEOUT_MS', int(100).default(10_000), 'Time a client has to send its whole body (408 after).'),
  publishTimeoutMs: option('CALLSTREAM_PUBLISH_TIMEOUT_MS', int(100).default(5_000), 'Longest wait for the broker\'s ack before answering 503 with Retry-After.'),
  publishLingerMs: option('CALLSTREAM_PUBLISH_LINGER_MS', int(0, 1000).default(2), 'How long the producer gathers concurrent requests into one batch.'),
  flushMaxRecords: option('CALLSTREAM_FLUSH_MAX_RECORDS', int(1).default(5_000), 'The sink writes as soon as this many records are buffered.'),
  flushIntervalMs: option('CALLSTREAM_FLUSH_INTERVAL_MS', int(0).default(100), 'The sink writes at the latest this long after the first buffered record.'),
  sinkBufferBytes: option(
    'CALLSTREAM_SINK_BUFFER_BYTES',
    int(1024 * 1024).default(64 * 1024 * 1024),
    'Memory budget of the sink, in bytes of Kafka records (key + value) fetched and not yet written: it writes once its buffer holds a share of it (half with DuckDB; 1/(1 + writes in flight)) and fetches no more while it is full; kafkajs fetches up to a quarter of it ahead (at most 16 MiB). A record larger than the budget is still written, alone. The process holds about twice these bytes, besides the warehouse\'s own memory (docs/operations.md).',
    '`67108864` (64 MiB)',
  ),
  warehouse: option('CALLSTREAM_WAREHOUSE', z.enum(['duckdb', 'bigquery']).default('duckdb'), 'Warehouse of the sink: the embedded DuckDB or BigQuery (see connectors/).'),
  duckdbMemoryLimit: option(
    'CALLSTREAM_DUCKDB_MEMORY_LIMIT',
    z
      .string()
      .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, { message: 'expected a size such as 256MB or 1GiB', abort: true })
      .refine((size) => sizeInBytes(size) >= MIN_DUCKDB_MEMORY, `expected at least 128MB: a smaller pool cannot be relied on to hold a flush and its checkpoint (32MB failed one at about 8,000 calls; docs/performance.md)`)
      .default('256MB'),
    'Buffer pool of the embedded DuckDB (its memory_limit), at least 128MB; larger work spills to `<file>.tmp`. With the default the sink\'s RSS measured about 350 MB on an empty warehouse and 850 MB with 10 million calls stored; 160MB saves about 150 MB but fails sooner on large events, and events of 64 KB and more need a larger pool (docs/performance.md).',
  ),
  viewsOutcomeField: option(
    'CALLSTREAM_VIEWS_OUTCOME_FIELD',
    z.string().regex(FIELD_NAME, 'expected a top-level extracted_data field name (letters, digits, _)').default('outcome'),
    'Which extracted_data field is a call\'s outcome in the analysts\' views (calls.outcome, call_outcomes_daily; see docs/analytics.md).',
  ),
  viewsCallsFields: option(
    'CALLSTREAM_VIEWS_CALLS_FIELDS',
    callsFields,
    'extracted_data fields the calls view flattens into typed columns: comma-separated name:TYPE, TYPE one of STRING, INT64, FLOAT64, BOOL, TIMESTAMP, e.g. `sentiment:STRING,score:INT64` (a value that does not convert is NULL).',
    '(none)',
  ),
  gapsUnreportedMinutes: option(
    'CALLSTREAM_GAPS_UNREPORTED_MINUTES',
    int(1, 525_600).default(30),
    'Minutes after a call ended (its provider\'s terminal status) with no call.completed, or after a call.completed with no callback, before the call_gaps view lists it (unreported, no_provider). Callaro retries for a while; senders that give up do so within minutes.',
  ),
  gapsStuckHours: option(
    'CALLSTREAM_GAPS_STUCK_HOURS',
    int(1, 8_760).default(4),
    'Hours after a call\'s last provider status (queued, ringing, in-progress: not terminal) before call_gaps lists it as stuck. Longer than any call you place.',
  ),
  gapsWindowDays: option(
    'CALLSTREAM_GAPS_WINDOW_DAYS',
    int(1, 366).default(7),
    'How many days back, by event time, the call_gaps view reads (BigQuery: the partitions it scans). Older calls are never listed.',
  ),
  gapsCheckIntervalMs: option(
    'CALLSTREAM_GAPS_CHECK_INTERVAL_MS',
    int(0).optional(),
    'How often the sink counts the call_gaps view into the gauge callstream_call_gaps: one query over the view\'s window (on BigQuery a billed query each time; of several sinks in a group only the one holding partition 0 of the events topic counts: docs/operations.md). 0: never.',
    '60000 on DuckDB, 900000 on BigQuery',
  ),
  queryTimeoutMs: option(
    'CALLSTREAM_QUERY_TIMEOUT_MS',
    int(100).default(10_000),
    'Longest run of one `callstream query` statement; it is then interrupted (WH_QUERY_TIMEOUT).',
  ),
  queryMaxRows: option(
    'CALLSTREAM_QUERY_MAX_ROWS',
    int(1).default(10_000),
    'Most rows one `callstream query` answer holds; the rest are cut and the answer says `truncated`.',
  ),
  piiMode: option(
    'CALLSTREAM_PII_MODE',
    z.enum(['clear', 'hash']).default('clear'),
    'clear: phone numbers reach the warehouse as sent. hash: the sink stores a keyed HMAC-SHA256 of each number (`<key id>:<hex>`) and its last four digits instead, in every table and JSON column (see "Privacy").',
  ),
  piiHashKey: option(
    'CALLSTREAM_PII_HASH_KEY',
    z.string().optional(),
    'The HMAC key of CALLSTREAM_PII_MODE=hash: at least 32 characters (e.g. `openssl rand -hex 32`); never logged. Required in hash mode.',
    '(none)',
  ),
  piiHashKeyId: option(
    'CALLSTREAM_PII_HASH_KEY_ID',
    z.string().regex(/^[a-z0-9]{1,8}$/, 'expected 1 to 8 lower-case letters or digits').default('k1'),
    'Names the key in every hash (`k1:...`), so rows hashed under an old key are told apart after a rotation.',
  ),
  piiHashPaths: option(
    'CALLSTREAM_PII_HASH_PATHS',
    list.optional(),
    'Comma-separated JSON paths hashed like numbers in hash mode: `column.key.key`, `*` for any key or array element, column one of extracted_data, runtime_vars, tool_calls, fields; also applied to the copy inside payload. E.g. `extracted_data.customer_name,tool_calls.*.arguments.address`.',
    '(none)',
  ),
  piiDropPaths: option(
    'CALLSTREAM_PII_DROP_PATHS',
    list.optional(),
    'Comma-separated JSON paths (same form as CALLSTREAM_PII_HASH_PATHS) removed before storage, in either mode.',
    '(none)',
  ),
  otelTracesExporter: option(
    'OTEL_TRACES_EXPORTER',
    z.enum(['none', 'otlp', 'console']).default('none'),
    'OpenTelemetry traces (docs/tracing.md): `otlp` exports spans over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT, `console` prints them, `none` (the default) turns tracing off: no SDK is loaded, no `traceparent` is written.',
  ),
  otelServiceName: option('OTEL_SERVICE_NAME', z.string().min(1).default('callstream'), 'The `service.name` of the spans (OTEL_RESOURCE_ATTRIBUTES adds more resource attributes).'),
  otelTracesSampler: option(
    'OTEL_TRACES_SAMPLER',
    z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']).default('parentbased_always_on'),
    'Which requests are traced: `parentbased_*` follows the sampled flag of an incoming `traceparent`, and the root sampler decides for requests without one.',
  ),
  otelTracesSamplerArg: option('OTEL_TRACES_SAMPLER_ARG', z.coerce.number().min(0).max(1).default(1), 'The ratio of the `*traceidratio` samplers (0 to 1).'),
  otelExporterOtlpEndpoint: option(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    z.string().url().optional(),
    'Base URL of the OTLP/HTTP receiver (a collector); spans go to `<endpoint>/v1/traces`. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL), OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TIMEOUT are read by the exporter too.',
    '`http://localhost:4318`',
  ),
  otelExporterOtlpProtocol: option(
    'OTEL_EXPORTER_OTLP_PROTOCOL',
    z.enum(['http/json', 'http/protobuf']).optional(),
    'How spans travel to the OTLP/HTTP receiver: `http/json`, or `http/protobuf` (about 2.5 times smaller on the wire; every OpenTelemetry Collector\'s OTLP/HTTP receiver takes both). OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, when set, wins. `grpc` is refused at start rather than silently not exported.',
    '`http/json`',
  ),
  otelExporterOtlpTracesProtocol: option(
    'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
    z.enum(['http/json', 'http/protobuf']).optional(),
    'OTEL_EXPORTER_OTLP_PROTOCOL for traces only (the OpenTelemetry rule: the signal\'s own setting wins).',
    '(OTEL_EXPORTER_OTLP_PROTOCOL)',
  ),
  connectorFile: option('CALLSTREAM_CONNECTOR', z.string().optional(), 'A connector config file (connectors/*.json); its settings override these defaults.', '(none)'),
  shutdownTimeoutMs: option('CALLSTREAM_SHUTDOWN_TIMEOUT_MS', int(100).default(15_000), 'Longest graceful shutdown before the process exits anyway.'),
} satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof OPTIONS;
export type Config = { readonly [K in OptionKey]: z.output<(typeof OPTIONS)[K]['schema']> };
