import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, loadConnector, type BigQuerySettings, type Config } from '../config/index.js';
import { CallstreamError, describeError } from '../errors.js';
import { createLogger } from '../logger.js';
import { duckDbPath, Pipeline, queryOverSocket, querySocketPath } from '../pipeline/index.js';
import { DuckDbWarehouse } from '../warehouse/index.js';
import { formatTable } from './format-table.js';

const USAGE = `Usage: callstream <command> [options]

Commands:
  start [--connector F]   Run the whole pipeline: local broker (unless KAFKA_BROKERS is set), receiver, sink.
  receiver              Run only the HTTP receiver (publishes to Kafka).
  sink [--connector F]  Run only the sink connector (Kafka -> warehouse), e.g. --connector connectors/bigquery-sink.json.
  query "<SQL>" [--json]  Run a read-only query on the embedded warehouse (through the running pipeline if there is one).
  help                  Show this text.

Configuration comes from environment variables; see the README's configuration table.`;

/** Entry point of bin/callstream.js; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await run(rest, {});
      case 'receiver':
        return await run(rest, { sink: false });
      case 'sink':
        return await run(rest, { receiver: false });
      case 'query':
        return await query(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`Unknown command "${command}".\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof CallstreamError) {
      console.error(`callstream: ${err.code}: ${describeError(err).replace(`${err.code}: `, '')}`);
      return 1;
    }
    throw err;
  }
}

/** Config from the environment, overridden by a connector file (--connector or CALLSTREAM_CONNECTOR). */
function configure(args: string[]): { config: Config; bigquery?: BigQuerySettings } {
  const { values } = parseArgs({ args, options: { connector: { type: 'string' } }, allowPositionals: false });
  const file = values.connector ?? loadConfig().connectorFile;
  if (!file) return { config: loadConfig() };
  const { connector, overrides } = loadConnector(file);
  return { config: loadConfig(process.env, { ...overrides, connectorFile: file }), bigquery: connector.bigquery };
}

async function run(args: string[], parts: { receiver?: boolean; sink?: boolean }): Promise<number> {
  const { config, bigquery } = configure(args);
  const logger = createLogger({ level: config.logLevel });
  const pipeline = new Pipeline({ config, logger, bigquery, ...parts });
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, 'signal received');
    const force = setTimeout(() => {
      logger.error('graceful shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    void pipeline.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    await pipeline.start();
  } catch (err) {
    logger.fatal({ err, error: describeError(err) }, 'start failed');
    await pipeline.stop();
    return 1;
  }
  await new Promise(() => undefined); // runs until a signal arrives
  return 0;
}

async function query(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  const sql = positionals.join(' ').trim();
  if (!sql) {
    console.error('Usage: callstream query "<SQL>" [--json]');
    return 2;
  }
  const config = loadConfig();
  let rows = await queryOverSocket(querySocketPath(config.dataDir), sql);
  if (rows === undefined) {
    // No pipeline runs: open the file ourselves.
    const path = duckDbPath(config);
    if (!existsSync(path)) {
      console.error(`No warehouse at ${path}: start the pipeline first (npm start), or set CALLSTREAM_DATA_DIR.`);
      return 1;
    }
    const warehouse = await DuckDbWarehouse.open(path);
    try {
      rows = await warehouse.query(sql);
    } finally {
      await warehouse.close();
    }
  }
  console.log(values.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
  return 0;
}
