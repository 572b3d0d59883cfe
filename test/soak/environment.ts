import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config, type OptionKey } from '../../src/config/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { startCluster, type KafkaCluster } from '../support/kafka-cluster.js';
import { requireBroker, TEST_BROKERS } from '../support/pipeline-harness.js';
import { envFor, freeBrokerPort, freePort } from '../support/processes.js';
import { FlakyWarehouse } from '../support/flaky-warehouse.js';
import { dedicatedBroker, InProcessSink, ProcessSink, Supervised, type DedicatedBroker, type SinkHandle } from './components.js';
import type { Schedule } from './generator.js';
import { operationsSetup, setReceiverClock, type Operations } from './operations.js';
import { isOperations } from './options.js';
import { writeVendorsFile } from './payloads.js';
import type { Trace } from './trace.js';

/**
 * What a schedule runs against: a receiver process, a sink (a process, or in this process
 * behind a switchable warehouse), and the brokers (the shared one, a dedicated one that
 * may be stopped, or the three-node cluster). Each schedule has its own topics, consumer
 * group and warehouse.
 */

/** Brokers shared by the schedules of one run: a dedicated broker (stopped and started by broker schedules) and the cluster. */
const infra: { dedicated?: DedicatedBroker; cluster?: KafkaCluster } = {};

async function dedicated(): Promise<DedicatedBroker> {
  if (!infra.dedicated) {
    const broker = dedicatedBroker(await freeBrokerPort());
    await broker.start(); // fails (never skips) when Java or the broker's jars are missing
    infra.dedicated = broker;
  }
  return infra.dedicated;
}

export async function stopSharedInfra(): Promise<void> {
  try {
    await infra.dedicated?.stop();
  } finally {
    infra.dedicated = undefined;
    await infra.cluster?.stop();
    infra.cluster = undefined;
  }
}

export interface Stack {
  config: Config;
  brokers: string[];
  receiver: Supervised;
  sink: SinkHandle;
  /** The dedicated broker of a broker schedule. */
  broker?: DedicatedBroker;
  cluster?: KafkaCluster;
  /** Processes that exited without being asked to. */
  crashes: string[];
  /** The topics the checker reads, and those the sink consumes. */
  topics: { consumed: string[]; audit: { callaro: string; telephony: string }; deadLetter: { callaro: string; telephony: string }; erasures: string };
  /** Operations kinds: the receiver's clock, the CLI's environment, what the operators' actions saw. */
  ops?: Operations;
}

export async function startStack(schedule: Schedule, trace: Trace): Promise<Stack> {
  let brokers = TEST_BROKERS;
  let broker: Stack['broker'];
  let cluster: KafkaCluster | undefined;
  if (schedule.kind === 'broker') {
    const b = await dedicated();
    await b.start(); // a no-op when running; an earlier schedule that failed mid-fault may have left it stopped
    broker = b;
    brokers = [b.address];
  } else if (schedule.kind === 'cluster') {
    infra.cluster ??= await startCluster();
    cluster = infra.cluster;
    brokers = cluster.brokers;
  } else {
    await requireBroker(); // fails (never skips) without the shared broker
  }
  const id = `${schedule.seed}-${randomUUID().slice(0, 6)}`;
  const overrides: Partial<Record<OptionKey, unknown>> = {
    kafkaBrokers: brokers,
    port: await freePort(),
    dataDir: mkdtempSync(join(tmpdir(), `callstream-soak-${schedule.seed}-`)),
    topicEvents: `soak.${id}.events`,
    topicRaw: `soak.${id}.raw`,
    topicDeadLetter: `soak.${id}.dlq`,
    topicTelephony: `soak.${id}.telephony`,
    topicTelephonyRaw: `soak.${id}.telephony-raw`,
    topicTelephonyDeadLetter: `soak.${id}.telephony-dlq`,
    topicErasures: `soak.${id}.erasures`,
    topicPartitions: 3,
    topicReplicationFactor: schedule.kind === 'cluster' ? 3 : 1,
    consumerGroup: `soak-${id}`,
    flushIntervalMs: 50,
    sessionTimeoutMs: 6_000,
    publishTimeoutMs: schedule.publishTimeoutMs,
    telephonyVendors: writeVendorsFile(),
    logLevel: process.env.TEST_LOG_LEVEL ?? 'warn',
  };
  const config = loadConfig({}, overrides);
  const env = envFor(config, {
    CALLSTREAM_TOPIC_TELEPHONY: config.topicTelephony,
    CALLSTREAM_TOPIC_TELEPHONY_RAW: config.topicTelephonyRaw,
    CALLSTREAM_TOPIC_TELEPHONY_DLQ: config.topicTelephonyDeadLetter,
    CALLSTREAM_TELEPHONY_VENDORS: config.telephonyVendors!,
    CALLSTREAM_MAX_BODY_BYTES: String(config.maxBodyBytes),
    CALLSTREAM_SHUTDOWN_TIMEOUT_MS: String(config.shutdownTimeoutMs),
    CALLSTREAM_TOPIC_ERASURES: config.topicErasures,
  });
  const crashes: string[] = [];
  const ops = isOperations(schedule.kind) ? await operationsSetup(schedule, config, env, trace) : undefined;
  const receiver = new Supervised('receiver', { ...env, ...ops?.receiverEnv() }, config.port, trace, crashes);
  await receiver.start(); // creates the topics
  let sink: SinkHandle;
  if (ops) {
    sink = new ProcessSink(new Supervised('sink', { ...env, ...ops.sinkEnv }, await freePort(), trace, crashes), config, ops.openWarehouse);
  } else if (schedule.kind === 'warehouse') {
    // In this process (so the warehouse can be switched off), with its health server on a port of its own.
    sink = new InProcessSink(loadConfig({}, { ...overrides, port: 0 }), new FlakyWarehouse(await DuckDbWarehouse.open(':memory:')));
  } else {
    sink = new ProcessSink(new Supervised('sink', env, await freePort(), trace, crashes), config);
  }
  await sink.start();
  if (ops) await setReceiverClock(ops, receiver, trace);
  trace.note(`stack up: ${schedule.kind}, brokers ${brokers.join(',')}, receiver ${receiver.url} (log ${receiver.log}), sink ${sink.mode}, group ${config.consumerGroup}`);
  return {
    config,
    brokers,
    receiver,
    sink,
    broker,
    cluster,
    crashes,
    topics: {
      consumed: [config.topicEvents, config.topicTelephony],
      audit: { callaro: config.topicRaw, telephony: config.topicTelephonyRaw },
      deadLetter: { callaro: config.topicDeadLetter, telephony: config.topicTelephonyDeadLetter },
      erasures: config.topicErasures,
    },
    ops,
  };
}
