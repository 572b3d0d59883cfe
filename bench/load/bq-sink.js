// The BigQuery path's shape (its own process): callstream's sink with the BigQuery
// warehouse, as connectors/bigquery-sink.json configures it (flush, concurrency, request
// size), pointed at the local emulator. Every jobs.insert request the client sends is
// observed (its JSON body size, the statement, the rows parameter), and every MERGE's
// start and end, so the report shows rows per MERGE, MERGEs per 10 s per table, MERGEs in
// flight at once and request sizes, to hold against BigQuery's limits. The emulator's
// speed is not BigQuery's: these are counts and sizes, not a throughput.
//
// Usage: node bench/load/bq-sink.js '{"topic":..., "group":..., "dataset":..., "endpoint":..., "project":...}'
// Prints {"msg":"callstream is ready"} once consuming; on SIGTERM stops and prints the report.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, loadConnector, parseBigQuerySettings } from '../../dist/config/index.js';
import { createLogger } from '../../dist/logger.js';
import { Pipeline } from '../../dist/pipeline/index.js';
import { BigQueryWarehouse } from '../../dist/warehouse/bigquery/bigquery-warehouse.js';
import { BROKERS } from '../lib/kafka.js';

const opts = JSON.parse(process.argv[2]);
const dataDir = mkdtempSync(join(tmpdir(), 'callstream-bench-bq-'));
const connectorFile = fileURLToPath(new URL('../../connectors/bigquery-sink.json', import.meta.url));
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
const settings = parseBigQuerySettings({ ...connector.bigquery, projectId: opts.project, dataset: opts.dataset, credentials: 'none', apiEndpoint: opts.endpoint });
const logger = createLogger({ level: 'warn' });
const warehouse = new BigQueryWarehouse(settings, logger);

// Observe the client: jobs.insert bodies (exact JSON size) and each MERGE's start and end.
// Two MERGEs may be in flight at once: a request is matched to its MERGE by the
// request_id of the first row of its rows parameter.
const merges = [];
const client = warehouse.client;
const requests = new Map(); // first row's request_id -> { table, rows, requestBytes }
const request = client.request.bind(client);
client.request = (reqOpts, callback) => {
  const q = reqOpts.method === 'POST' && reqOpts.uri === '/jobs' ? reqOpts.json?.configuration?.query : undefined;
  if (q && /^\s*MERGE/i.test(q.query)) {
    const values = q.queryParameters?.find((p) => p.name === 'rows')?.parameterValue?.arrayValues ?? [];
    requests.set(values[0]?.structValues?.request_id?.value, {
      table: /MERGE\s+`[^`]*\.([^`.]+)`/i.exec(q.query)?.[1] ?? '?',
      rows: values.length,
      requestBytes: Buffer.byteLength(JSON.stringify(reqOpts.json)),
    });
  }
  return request(reqOpts, callback);
};
const createQueryJob = client.createQueryJob.bind(client);
client.createQueryJob = async (query) => {
  if (!/^\s*MERGE/i.test(query.query ?? '')) return createQueryJob(query);
  const start = Date.now();
  const key = query.params?.rows?.[0]?.request_id;
  const result = await createQueryJob(query);
  const info = { ...(requests.get(key) ?? { table: '?', rows: query.params?.rows?.length ?? NaN, requestBytes: NaN }), start };
  requests.delete(key);
  const [job] = result;
  const getQueryResults = job.getQueryResults.bind(job);
  job.getQueryResults = async (...args) => {
    try {
      return await getQueryResults(...args);
    } finally {
      info.end = Date.now();
      merges.push(info);
    }
  };
  return result;
};

const pipeline = new Pipeline({ config, logger, receiver: false, sink: true, warehouse, manageBroker: false, querySocket: false });
await pipeline.start();
console.log(JSON.stringify({ msg: 'callstream is ready', flush: { maxRecords: config.flushMaxRecords, intervalMs: config.flushIntervalMs }, settings: { maxConcurrentMerges: settings.maxConcurrentMerges, maxRequestBytes: settings.maxRequestBytes } }));

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
        flush: { maxRecords: config.flushMaxRecords, intervalMs: config.flushIntervalMs },
        maxConcurrentMerges: settings.maxConcurrentMerges,
        maxRequestBytes: settings.maxRequestBytes,
        peakRssMb: hwm,
      },
    }),
  );
  process.exit(0);
});
