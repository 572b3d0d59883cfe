import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { loadConfig, loadConnector, type BigQuerySettings, type Config } from '../config/index.js';
import { CallstreamError, describeError } from '../errors.js';
import { createLogger } from '../logger.js';
import { duckDbPath, Pipeline, queryOverSocket, querySocketPath } from '../pipeline/index.js';
import { DuckDbWarehouse } from '../warehouse/index.js';
import { Partitioners } from 'kafkajs';
import { AvroCodec, schemasDir } from '../codec/index.js';
import { createKafka, Publisher } from '../kafka/index.js';
import { AccessPolicy } from '../receiver/index.js';
import { applyReplay, assertGroupInactive, formatPlan, parseOffsets, planReplay, replayRaw, type RawReplayReport, type ReplayTarget } from '../replay/index.js';
import { formatTable } from './format-table.js';

const USAGE = `Usage: callstream <command> [options]

Commands:
  start [--connector F]   Run the whole pipeline: local broker (unless KAFKA_BROKERS is set), receiver, sink.
  receiver              Run only the HTTP receiver (publishes to Kafka).
  sink [--connector F]  Run only the sink connector (Kafka -> warehouse), e.g. --connector connectors/bigquery-sink.json.
  replay (--to-earliest | --from <ISO time> | --offsets <p>:<o>,...) [--topic T] [--group G] [--dry-run] [--yes]
                        Rewind the sink's consumer group to reprocess records (the sink must be stopped).
  replay-raw [--from <ISO>] [--to <ISO>] [--codes C1,C2] [--dry-run] [--yes]
                        Re-validate requests the receiver refused for their content (kept in the audit
                        topic) and re-publish the ones valid now.
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
      case 'replay':
        return await replay(rest);
      case 'replay-raw':
        return await replayRawCommand(rest);
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

async function replay(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'to-earliest': { type: 'boolean', default: false },
      from: { type: 'string' },
      offsets: { type: 'string' },
      topic: { type: 'string' },
      group: { type: 'string' },
      connector: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
    },
  });
  const chosen = [values['to-earliest'], values.from !== undefined, values.offsets !== undefined].filter(Boolean).length;
  if (chosen !== 1) {
    console.error('Usage: callstream replay (--to-earliest | --from <ISO time> | --offsets <partition>:<offset>,...) [--topic T] [--group G] [--dry-run] [--yes]');
    return 2;
  }
  let target: ReplayTarget;
  if (values['to-earliest']) target = { kind: 'earliest' };
  else if (values.from !== undefined) {
    const at = new Date(values.from);
    if (Number.isNaN(at.getTime())) throw new CallstreamError('CFG_INVALID', `--from: expected an ISO time such as 2026-11-27T09:00:00Z, got "${values.from}"`);
    target = { kind: 'time', at };
  } else target = { kind: 'offsets', offsets: parseOffsets(values.offsets!) };

  const { config } = configure(values.connector ? ['--connector', values.connector] : []);
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const groupId = values.group ?? config.consumerGroup;
  const topic = values.topic ?? config.topicEvents;
  const admin = createKafka(config, logger, '-replay').admin();
  await admin.connect();
  try {
    await assertGroupInactive(admin, groupId);
    const plan = await planReplay(admin, groupId, topic, target);
    console.log(formatPlan(plan));
    if (values['dry-run']) {
      console.log('Dry run: nothing changed.');
      return 0;
    }
    if (!values.yes && !(await confirm('Rewind the group now? [y/N] '))) {
      console.log('Nothing changed.');
      return 1;
    }
    await applyReplay(admin, plan);
    console.log(`Rewound ${groupId}. Start the sink (npm start or callstream sink) to reprocess; its /metrics show the progress (callstream_sink_consumer_lag).`);
    return 0;
  } finally {
    await admin.disconnect();
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    console.error('Not a terminal: pass --yes to confirm (or --dry-run to look only).');
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

async function replayRawCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      codes: { type: 'string', default: 'RCV_SCHEMA_INVALID' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
    },
  });
  const time = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) throw new CallstreamError('CFG_INVALID', `--${flag}: expected an ISO time such as 2026-11-27T09:00:00Z, got "${value}"`);
    return at;
  };
  const options = { from: time('from', values.from), to: time('to', values.to), codes: values.codes.split(',').map((c) => c.trim()).filter(Boolean) };
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const kafka = createKafka(config, logger, '-replay-raw');
  const codec = AvroCodec.fromDirectory(schemasDir());
  const access = new AccessPolicy(config);
  // Without --yes, show what would happen first and ask.
  if (values['dry-run'] || !values.yes) {
    const dry = await replayRaw({ kafka, config, codec, access, logger }, { ...options, dryRun: true });
    console.log(formatRawReport(config.topicRaw, dry, true));
    if (values['dry-run'] || dry.eligible === 0) return 0;
    if (!(await confirm(`Re-publish the requests valid now to ${config.topicEvents}? [y/N] `))) {
      console.log('Nothing changed.');
      return 1;
    }
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const publisher = new Publisher(producer, logger, { lingerMs: 5 });
    const report = await replayRaw({ kafka, config, codec, access, publisher, logger }, { ...options, dryRun: false });
    console.log(formatRawReport(config.topicRaw, report, false));
    return 0;
  } finally {
    await producer.disconnect();
  }
}

function formatRawReport(topic: string, report: RawReplayReport, dryRun: boolean): string {
  const refused = Object.entries(report.stillRefused).map(([code, n]) => `${code}: ${n}`).join(', ') || 'none';
  const valid = report.eligible - Object.values(report.stillRefused).reduce((a, b) => a + b, 0);
  return [
    `Audit topic ${topic}: ${report.scanned} request(s) read, ${report.eligible} refused for their content in the range.`,
    dryRun ? `  ${valid} would be accepted now and re-published; still refused: ${refused}.` : `  ${report.republished} re-published; still refused: ${refused}.`,
  ].join('\n');
}
