// The BigQuery path's shape (its own process): callstream's sink with the BigQuery
// warehouse, as connectors/bigquery-sink.json configures it (flush, concurrency, request
// size), pointed at the local emulator. Every jobs.insert request the client sends is
// observed (its JSON body size, the statement, the rows parameter), and every MERGE's
// start and end, so the report shows rows per MERGE, MERGEs per 10 s per table, MERGEs in
// flight at once and request sizes, to hold against BigQuery's limits. The emulator's
// speed is not BigQuery's: these are counts and sizes, not a throughput.
//
// With "mode":"staged" it runs the staged write mode as connectors/bigquery-staged-sink.json
// configures it, on the emulator's Storage Write API ("grpc": host:port), and also observes
// every append request (rows, encoded bytes, start and end) on its way to the gRPC stream.
//
// Usage: node bench/load/bq-sink.js '{"topic":..., "group":..., "dataset":..., "endpoint":..., "project":..., ["mode":"staged", "grpc":...]}'
// Prints {"msg":"callstream is ready"} once consuming; on SIGTERM stops and prints the report.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, loadConnector, parseBigQuerySettings } from '../../dist/config/index.js';
import { createLogger } from '../../dist/logger.js';
import { Pipeline } from '../../dist/pipeline/index.js';
import { BigQueryWarehouse } from '../../dist/warehouse/bigquery/bigquery-warehouse.js';
import { StagedBigQueryWarehouse } from '../../dist/warehouse/bigquery/staged-warehouse.js';
import { managedwriter, protos } from '@google-cloud/bigquery-storage';
import { BROKERS } from '../lib/kafka.js';
import { observeMerges } from '../lib/merge-observer.js';

const opts = JSON.parse(process.argv[2]);
const dataDir = mkdtempSync(join(tmpdir(), 'callstream-bench-bq-'));
const staged = opts.mode === 'staged';
const connectorFile = fileURLToPath(new URL(staged ? '../../connectors/bigquery-staged-sink.json' : '../../connectors/bigquery-sink.json', import.meta.url));
const { connector, overrides } = loadConnector(connectorFile);
const config = loadConfig(
  {},
  {
    ...overrides,
    kafkaBrokers: BROKERS,
    topicEvents: opts.topic,
    topicRaw: `${opts.topic}.raw`,
    topicDeadLetter: `${opts.topic}.dlq`,
    topicReplicationFactor: 1,
    consumerGroup: opts.group,
    port: 0,
    dataDir,
    logLevel: 'warn',
  },
);
const settings = parseBigQuerySettings({
  ...connector.bigquery,
  projectId: opts.project,
  dataset: opts.dataset,
  credentials: 'none',
  apiEndpoint: opts.endpoint,
  ...(staged ? { storageWriteEndpoint: opts.grpc } : {}),
});
const logger = createLogger({ level: 'warn' });
const warehouse = staged ? new StagedBigQueryWarehouse(settings, logger) : new BigQueryWarehouse(settings, logger);

// Staged: every append request as it goes onto its gRPC stream, and when its answer came.
// Its size is bounded from above without encoding it again: the encoded rows, each one's
// field tag and length (≤ 4 bytes at these sizes), the writer schema (the proto descriptor,
// encoded once per connection) and 256 bytes for the stream name, trace id and offset.
const appends = [];
/** Milliseconds since the epoch on the monotonic clock: appends and MERGEs are timed alike. */
const epochMs = () => performance.timeOrigin + performance.now();
if (staged) {
  const { DescriptorProto } = protos.google.protobuf;
  const connect = managedwriter.WriterClient.prototype.createStreamConnection;
  managedwriter.WriterClient.prototype.createStreamConnection = async function (...args) {
    const connection = await connect.apply(this, args);
    const write = connection.write.bind(connection);
    let schemaBytes;
    connection.write = (req) => {
      schemaBytes ??= DescriptorProto.encode(DescriptorProto.fromObject(req.protoRows?.writerSchema?.protoDescriptor ?? {})).finish().length;
      const rows = req.protoRows?.rows?.serializedRows ?? [];
      const info = { rows: rows.length, bytes: rows.reduce((n, r) => n + r.length + 4, 0) + schemaBytes + 256, start: epochMs() };
      const pending = write(req);
      pending
        .getResult()
        .then(
          (r) => (info.ok = !r.error || r.error.code === 0),
          () => (info.ok = false),
        )
        .finally(() => {
          info.end = epochMs();
          appends.push(info);
        });
      return pending;
    };
    return connection;
  };
}

// Observe the client: jobs.insert bodies (exact JSON size) and each MERGE's start and end.
// Two MERGEs may be in flight at once: a request is matched to its MERGE by the
// request_id of the first row of its rows parameter.
const merges = [];
const client = warehouse.client;
const requests = new Map(); // first row's request_id -> { table, rows, requestBytes }
const request = client.request.bind(client);
client.request = (reqOpts, callback) => {
  const q = reqOpts.method === 'POST' && reqOpts.uri === '/jobs' ? reqOpts.json?.configuration?.query : undefined;
  if (q && staged && /^\s*MERGE/i.test(q.query)) {
    const table = /MERGE\s+`[^`]*\.([^`.]+)`/i.exec(q.query)?.[1] ?? '?';
    requests.set(`staged:${table}`, { table, requestBytes: Buffer.byteLength(JSON.stringify(reqOpts.json)) });
  } else if (q && /^\s*MERGE/i.test(q.query)) {
    const values = q.queryParameters?.find((p) => p.name === 'rows')?.parameterValue?.arrayValues ?? [];
    requests.set(values[0]?.structValues?.request_id?.value, {
      table: /MERGE\s+`[^`]*\.([^`.]+)`/i.exec(q.query)?.[1] ?? '?',
      rows: values.length,
      requestBytes: Buffer.byteLength(JSON.stringify(reqOpts.json)),
    });
  }
  return request(reqOpts, callback);
};
// Staged: a MERGE's rows are the staged rows it covers (mergeStaged's argument); one MERGE
// per table at a time, so the table names it.
const stagedRows = new Map(); // table -> rows of the staged MERGE about to run
if (staged) {
  const mergeStaged = warehouse.mergeStaged.bind(warehouse);
  warehouse.mergeStaged = (spec, ids, days, rows, ...rest) => {
    stagedRows.set(warehouse.tableName(spec), { rows, appends: ids.length });
    return mergeStaged(spec, ids, days, rows, ...rest);
  };
}
// A MERGE's start and end in epoch milliseconds, on the appends' clock (epochMs).
observeMerges(client, {
  created: (query, table, startedAt) => {
    const key = staged ? undefined : query.params?.rows?.[0]?.request_id;
    const observed = staged ? { table, ...stagedRows.get(table), requestBytes: requests.get(`staged:${table}`)?.requestBytes ?? NaN } : requests.get(key);
    requests.delete(staged ? `staged:${table}` : key);
    return { ...(observed ?? { table: '?', rows: query.params?.rows?.length ?? NaN, requestBytes: NaN }), start: performance.timeOrigin + startedAt };
  },
  finished: (info) => merges.push({ ...info, end: epochMs() }),
});

const pipeline = new Pipeline({ config, logger, receiver: false, sink: true, warehouse, manageBroker: false, querySocket: false });
await pipeline.start();
console.log(JSON.stringify({ msg: 'callstream is ready', flush: { maxRecords: config.flushMaxRecords, intervalMs: config.flushIntervalMs }, settings: { maxConcurrentMerges: settings.maxConcurrentMerges, maxRequestBytes: settings.maxRequestBytes, writeMode: settings.writeMode, mergeIntervalMs: settings.mergeIntervalMs, stagedWritesInFlight: settings.stagedWritesInFlight, stagedAppendsInFlight: settings.stagedAppendsInFlight } }));

process.on('SIGTERM', async () => {
  await pipeline.stop();
  try {
    await warehouse.client.dataset(settings.dataset).delete({ force: true });
  } catch {
    // the emulator is in-memory; a leftover dataset goes with its restart
  }
  rmSync(dataDir, { recursive: true, force: true });
  const hwm = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
  console.log(
    JSON.stringify({
      report: {
        merges,
        appends,
        staged: staged ? warehouse.staged : undefined,
        flush: { maxRecords: config.flushMaxRecords, intervalMs: config.flushIntervalMs },
        maxConcurrentMerges: settings.maxConcurrentMerges,
        maxRequestBytes: settings.maxRequestBytes,
        peakRssMb: hwm,
      },
    }),
  );
  process.exit(0);
});
