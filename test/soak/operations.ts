import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { parseBigQuerySettings, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { duckDbPath } from '../../src/config/index.js';
import { StagedBigQueryWarehouse } from '../../src/warehouse/bigquery/staged-warehouse.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { Warehouse } from '../../src/warehouse/index.js';
import { BQ_EMULATOR } from '../support/bigquery-emulator.js';
import { GRPC_ENDPOINT, requireStorageWrite } from '../support/bigquery-staged-emulator.js';
import { ensureBuilt, freePort } from '../support/processes.js';
import type { Stack } from './environment.js';
import type { FaultAction, Schedule } from './generator.js';
import { groupMembers, kafkaFor } from './observe.js';
import { sleep } from './sender.js';
import type { Trace } from './trace.js';

// kafkajs is CommonJS, and Node's ESM loader does not find this export by name.
const { ConfigResourceTypes } = kafkajs;

/**
 * Operators' actions on a running pipeline (the operations kinds, issue 23), each through the
 * CLI as an operator runs it (`bin/callstream.js`, spawned, on the real clock):
 * - erase: `callstream erase --phone|--call-id|--tenant ... --json`, sometimes twice;
 * - replay: `callstream replay --from T --yes` for both flows' topics, T before the UTC midnight
 *   the receiver's clock crossed (the sink stopped meanwhile, as the command requires);
 * - replay-raw: `callstream replay-raw --from T1 --to T2 --yes` across that midnight;
 * - clock-back: the receiver restarted onto a clock stepped back (its receipt floor keeps the order);
 * - second-sink: a sink of another warehouse started in the group (SINK_GROUP_SHARED);
 * - topic-settings: a topic made unsafe under the pipeline (`status`, a sink restart: KAFKA_TOPIC_UNSAFE), then restored.
 *
 * The clock: the receiver runs under libfaketime (scripts/faketime.sh, Debian's package) with
 * FAKETIME a relative offset, set so its clock reaches the last UTC midnight about a third into
 * the deliveries. Receipt times (received_at, the records' Kafka timestamps) fall on both sides
 * of it, which is what a replay "across midnight" needs; a relative offset survives restarts,
 * and stepping it back is a restart on a clock that is behind. No clock hook in src/ is needed
 * (ReceiptClock takes its `now` only in unit tests).
 *
 * What an action sees that breaks a promise is a finding (a violation of the seed); the checker
 * adds what the warehouse holds at the end (test/soak/checker.ts, invariant 6).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAY = 86_400_000;

export interface EraseRun {
  /** The fault's delivery, for the trace. */
  at: number;
  subject: 'phone' | 'call' | 'tenant';
  value: string;
  run: 1 | 2;
  /** The receipt the command printed (--json). */
  key: string;
  matched: { callIds: string[]; callSids: string[] };
  total: number;
}

export interface Finding {
  message: string;
  ops: number[];
}

export interface Operations {
  /** The UTC midnight (epoch ms) the receiver's clock crosses. */
  midnight: number;
  /** Real time minus the receiver's clock. */
  offsetMs: number;
  /** Once the receiver's clock has been seen past midnight (receipts only grow from there on). */
  crossed: boolean;
  leadMs: number;
  receiverEnv(): NodeJS.ProcessEnv;
  sinkEnv: NodeJS.ProcessEnv;
  /** What the CLI is run with (the real clock). */
  cliEnv: NodeJS.ProcessEnv;
  /** `--connector <file>` for BigQuery. */
  connectorArgs: string[];
  openWarehouse?: () => Promise<{ warehouse: Warehouse; close(): Promise<void> }>;
  bigquery: boolean;
  erasures: EraseRun[];
  findings: Finding[];
  /** Replays (either kind) carried out: the audit must then hold receipts on both sides of midnight. */
  replays: number;
}

function faketimeLibrary(): string {
  // Fails (never skips) when there is no libfaketime and none can be fetched.
  return execFileSync('bash', [join(ROOT, 'scripts/faketime.sh'), 'path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 }).trim();
}

export async function operationsSetup(schedule: Schedule, config: Config, env: NodeJS.ProcessEnv, trace: Trace): Promise<Operations> {
  const library = faketimeLibrary();
  const bigquery = schedule.kind === 'operations-staged';
  const leadMs = schedule.midnightLeadMs ?? 10_000;
  const midnight = Math.floor(Date.now() / DAY) * DAY;
  const offsetMs = clockOffset(midnight, leadMs, 2_000);
  let sinkEnv: NodeJS.ProcessEnv = {};
  let connectorArgs: string[] = [];
  let openWarehouse: Operations['openWarehouse'];
  if (bigquery) {
    await requireStorageWrite(); // fails (never skips) without the emulator
    const settings = {
      projectId: BQ_EMULATOR.project,
      dataset: `soak_${schedule.seed}_${Math.random().toString(36).slice(2, 8)}`,
      apiEndpoint: BQ_EMULATOR.endpoint,
      storageWriteEndpoint: GRPC_ENDPOINT,
      credentials: 'none',
      writeMode: 'staged',
      mergeIntervalMs: 300,
    };
    const connector = join(config.dataDir, 'bigquery-sink.json');
    writeFileSync(connector, JSON.stringify({ name: `soak-${schedule.seed}`, warehouse: 'bigquery', bigquery: settings }));
    sinkEnv = { CALLSTREAM_CONNECTOR: connector };
    connectorArgs = ['--connector', connector];
    openWarehouse = async () => {
      const warehouse = new StagedBigQueryWarehouse(parseBigQuerySettings(settings), createLogger({ level: 'silent' }));
      return { warehouse, close: () => warehouse.close() };
    };
    trace.note(`operations: BigQuery staged mode, dataset ${settings.dataset}`);
  }
  const ops: Operations = {
    midnight,
    offsetMs,
    crossed: false,
    leadMs,
    receiverEnv: () => ({ LD_PRELOAD: library, FAKETIME: `-${Math.round(ops.offsetMs / 1000)}`, FAKETIME_DONT_FAKE_MONOTONIC: '1' }),
    sinkEnv,
    cliEnv: { ...env, LOG_LEVEL: 'warn' },
    connectorArgs,
    openWarehouse,
    bigquery,
    erasures: [],
    findings: [],
    replays: 0,
  };
  trace.note(`operations: receiver under libfaketime (${library}), clock ${offsetMs / 1000} s behind: it reaches ${new Date(midnight).toISOString()} about ${leadMs} ms into the deliveries`);
  return ops;
}

const fakeNow = (ops: Operations) => Date.now() - ops.offsetMs;

/**
 * FAKETIME's offset (whole seconds, so within 500 ms) that puts the receiver's clock `leadMs`
 * before midnight once a restart that takes `restartMs` is over.
 */
const clockOffset = (midnight: number, leadMs: number, restartMs: number) => Math.round((Date.now() + restartMs - (midnight - leadMs)) / 1000) * 1000;

/** How far (ms) the receiver's clock may end up from `leadMs` before midnight: the offset's rounding, and some. */
const CLOCK_TOLERANCE_MS = 700;

/**
 * Once the stack is up (the sink's start takes a while), restarts the receiver, which has
 * stamped nothing yet, onto a clock that reaches midnight `leadMs` into the deliveries. The
 * restart's own time is measured, not assumed: a restart off by more than CLOCK_TOLERANCE_MS
 * (the first one guesses 2 s; a fast one then leaves the clock seconds early, and a short
 * schedule's late faults, from 55 % of its deliveries on, came before its midnight) is done
 * again with the time the last one took, up to three times.
 */
export async function setReceiverClock(ops: Operations, receiver: { setEnv(env: NodeJS.ProcessEnv): void; stop(signal?: NodeJS.Signals): Promise<unknown>; start(): Promise<void> }, trace: Trace): Promise<void> {
  let restartMs = 2_000;
  for (let attempt = 1; attempt <= 3; attempt++) {
    ops.offsetMs = clockOffset(ops.midnight, ops.leadMs, restartMs);
    receiver.setEnv(ops.receiverEnv());
    const started = Date.now();
    await receiver.stop('SIGTERM');
    await receiver.start();
    restartMs = Date.now() - started;
    const off = fakeNow(ops) - (ops.midnight - ops.leadMs);
    trace.note(`operations: receiver restarted onto its clock, ${ops.offsetMs / 1000} s behind: ${new Date(fakeNow(ops)).toISOString()} (${off >= 0 ? '+' : ''}${off} ms from the plan; the restart took ${restartMs} ms)`);
    if (Math.abs(off) <= CLOCK_TOLERANCE_MS) return;
  }
}

/** Waits (real time) until the receiver's clock is past midnight; once seen, later receipts stay past it (the receipt floor). */
async function pastMidnight(ops: Operations, trace: Trace): Promise<void> {
  if (ops.crossed) return;
  const wait = ops.midnight + 1_500 - fakeNow(ops);
  if (wait > 0) {
    trace.fault(`waiting ${wait} ms for the receiver's clock to pass midnight`);
    await sleep(wait);
  }
  ops.crossed = true;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `callstream <args>` as an operator runs it: a process of its own, on the real clock. */
export function runCli(ops: Operations, args: string[], timeoutMs = 120_000, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  ensureBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/callstream.js'), ...args], { cwd: ROOT, env: { ...ops.cliEnv, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const excerpt = (r: CliResult) => `exit ${r.code}; ${(r.stderr || r.stdout).trim().split('\n').slice(-4).join(' | ').slice(0, 600)}`;

/**
 * A `callstream sink` started to be refused: resolves with its exit code and output once it
 * exits, or `ready` when it became ready instead (then it is stopped), within `timeoutMs`.
 */
async function refusedSink(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ exited: number | null; ready: boolean; output: string; log: string }> {
  ensureBuilt();
  const port = await freePort();
  const log = join(mkdtempSync(join(tmpdir(), 'callstream-refused-sink-')), 'out.log');
  const out = createWriteStream(log);
  let output = '';
  const child = spawn(process.execPath, [join(ROOT, 'bin/callstream.js'), 'sink'], { cwd: ROOT, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (c: Buffer) => {
      output += c.toString();
      out.write(c);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  let ready = false;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
    if (ready) break;
    await sleep(250);
  }
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(20_000).then(() => (child.kill('SIGKILL'), exited))]);
  out.end();
  return { exited: ready ? null : code, ready, output, log };
}

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await sleep(200);
  }
  return false;
}

async function stopSinkForGroupChange(stack: Stack): Promise<void> {
  await stack.sink.stop();
  if (!(await until(async () => (await groupMembers(stack.brokers, stack.config.consumerGroup)) === 0, 30_000))) throw new Error('the group kept members 30 s after the sink stopped');
}

type OperationsAction = Extract<FaultAction, { type: 'erase' | 'replay' | 'replay-raw' | 'clock-back' | 'second-sink' | 'topic-settings' }>;

export function isOperationsAction(action: FaultAction): action is OperationsAction {
  return ['erase', 'replay', 'replay-raw', 'clock-back', 'second-sink', 'topic-settings'].includes(action.type);
}

export interface ActionContext {
  stack: Stack;
  at: number;
  trace: Trace;
  /** Opens a window in which 503 answers are allowed (a graceful receiver restart); returns its closer. */
  window(why: string): () => void;
}

export async function injectOperation(action: OperationsAction, { stack, at, trace, window }: ActionContext): Promise<void> {
  const ops = stack.ops!;
  const finding = (message: string) => {
    ops.findings.push({ message: `${action.type} at delivery #${at}: ${message}`, ops: [at] });
    trace.fault(`FINDING ${action.type}: ${message}`);
  };
  switch (action.type) {
    case 'erase': {
      const flag = action.subject === 'phone' ? '--phone' : action.subject === 'call' ? '--call-id' : '--tenant';
      for (const run of action.twice ? ([1, 2] as const) : ([1] as const)) {
        trace.fault(`erase: callstream erase ${flag} ${action.value} --json${run === 2 ? ' (again)' : ''}`);
        const r = await runCli(ops, ['erase', flag, action.value, '--json', ...ops.connectorArgs]);
        if (r.code !== 0) {
          finding(`callstream erase ${flag} ${action.value} failed: ${excerpt(r)}`);
          return;
        }
        const receipt = JSON.parse(r.stdout) as { key: string; matched: { callIds: string[]; callSids: string[] }; total: number; rows: Record<string, number>; mergedWith?: string };
        ops.erasures.push({ at, subject: action.subject, value: action.value, run, key: receipt.key, matched: receipt.matched, total: receipt.total });
        trace.fault(
          `erase done: key ${receipt.key}, calls ${receipt.matched.callIds.join(' ') || 'none'}, sids ${receipt.matched.callSids.length}, ${receipt.total} rows (${Object.entries(receipt.rows)
            .filter(([, n]) => n > 0)
            .map(([t, n]) => `${t} ${n}`)
            .join(', ')})${receipt.mergedWith ? `, merged with ${receipt.mergedWith}` : ''}`,
        );
      }
      return;
    }
    case 'replay': {
      await pastMidnight(ops, trace);
      const from = new Date(ops.midnight - Math.round(ops.leadMs / 2) - 1_000).toISOString();
      trace.fault(`replay: stop the sink, callstream replay --from ${from} --yes for both flows (the receiver's clock is at ${new Date(fakeNow(ops)).toISOString()})`);
      await stopSinkForGroupChange(stack);
      try {
        for (const topic of stack.topics.consumed) {
          const r = await runCli(ops, ['replay', '--from', from, '--topic', topic, '--yes']);
          if (r.code !== 0) finding(`callstream replay --from ${from} --topic ${topic} failed: ${excerpt(r)}`);
          else trace.fault(`replay ${topic}: ${/(\d+) record\(s\) will be read again/.exec(r.stdout)?.[1] ?? '?'} record(s) to read again`);
        }
        ops.replays++;
      } finally {
        await stack.sink.start();
      }
      trace.fault('replay healed: sink re-reading');
      return;
    }
    case 'replay-raw': {
      await pastMidnight(ops, trace);
      const from = new Date(ops.midnight - Math.round(ops.leadMs / 2) - 1_000).toISOString();
      const to = new Date(Math.max(fakeNow(ops), ops.midnight) + 60_000).toISOString();
      trace.fault(`replay-raw: callstream replay-raw --from ${from} --to ${to} --yes`);
      const r = await runCli(ops, ['replay-raw', '--from', from, '--to', to, '--yes']);
      if (r.code !== 0) {
        finding(`callstream replay-raw failed: ${excerpt(r)}`);
        return;
      }
      ops.replays++;
      const republished = Number(/(\d+) re-published/.exec(r.stdout)?.[1] ?? NaN);
      trace.fault(`replay-raw done: ${r.stdout.trim().replace(/\n\s*/g, ' ')}`);
      // Nothing refused has become valid (the same receiver, the same schemas): a replay-raw re-publishes nothing.
      if (republished !== 0) finding(`replay-raw re-published ${Number.isNaN(republished) ? 'an unknown number of' : republished} request(s), though none refused has become valid: ${r.stdout.trim()}`);
      return;
    }
    case 'clock-back': {
      await pastMidnight(ops, trace);
      const close = window('receiver restart onto a clock stepped back');
      ops.offsetMs += action.stepMs;
      stack.receiver.setEnv(ops.receiverEnv());
      trace.fault(`clock-back: restart the receiver (SIGTERM) onto a clock ${action.stepMs / 60_000} min behind (${new Date(fakeNow(ops)).toISOString()})`);
      const code = await stack.receiver.stop('SIGTERM');
      if (code !== 0) stack.crashes.push(`receiver exited with ${code} after SIGTERM (expected a graceful 0)`);
      await stack.receiver.start();
      close();
      trace.fault('clock-back healed: receiver ready on the earlier clock');
      return;
    }
    case 'second-sink': {
      const dataDir = mkdtempSync(join(tmpdir(), 'callstream-soak-second-sink-'));
      trace.fault(`second-sink: a sink writing another DuckDB (${dataDir}) joins group ${stack.config.consumerGroup}`);
      const env: NodeJS.ProcessEnv = { ...ops.cliEnv, LOG_LEVEL: 'info', CALLSTREAM_DATA_DIR: dataDir };
      const second = await refusedSink(env, 45_000);
      if (second.ready) finding(`the second sink (another warehouse) became ready in the group instead of being refused (log ${second.log})`);
      else if (second.exited === 0 || !second.output.includes('SINK_GROUP_SHARED')) finding(`the second sink exited with ${second.exited} without SINK_GROUP_SHARED (log ${second.log})`);
      else trace.fault(`second-sink refused: exit ${second.exited}, SINK_GROUP_SHARED (log ${second.log})`);
      const file = duckDbPath({ dataDir } as Config);
      if (existsSync(file)) {
        const warehouse = await DuckDbWarehouse.open(file);
        try {
          for (const table of ['call_events', 'campaign_events', 'compliance_events', 'telephony_callbacks']) {
            const rows = await warehouse.query(`SELECT count(*) AS n FROM ${table}`).catch(() => [{ n: 0 }]);
            if (Number(rows[0]?.n ?? 0) > 0) finding(`the refused second sink wrote ${rows[0].n} row(s) into its ${table}`);
          }
        } finally {
          await warehouse.close();
        }
      }
      return;
    }
    case 'topic-settings': {
      const topic = action.change === 'events-compact' ? stack.config.topicEvents : stack.topics.erasures;
      const change: Record<string, string> = action.change === 'events-compact' ? { 'cleanup.policy': 'compact' } : { 'cleanup.policy': 'delete', 'retention.ms': '3600000' };
      trace.fault(`topic-settings: ${topic} set to ${JSON.stringify(change)} under the running pipeline`);
      const original = await alterTopic(stack.brokers, topic, change);
      try {
        const status = await runCli(ops, ['status', '--json', '--url', stack.receiver.url, ...ops.connectorArgs], 60_000);
        const named = status.stdout.includes(topic) && status.stdout.includes('cleanup.policy');
        if (status.code !== 1 || !named) finding(`callstream status did not report ${topic} unsafe (exit ${status.code}): ${status.stdout.slice(0, 400)}`);
        else trace.fault(`topic-settings: status exit 1, names ${topic} cleanup.policy`);
        await stack.sink.stop();
        const restart = await refusedSink({ ...ops.cliEnv, LOG_LEVEL: 'info', ...ops.sinkEnv }, 60_000);
        if (restart.ready) finding(`a sink restarted with ${topic} unsafe became ready instead of refusing (log ${restart.log})`);
        else if (!restart.output.includes('KAFKA_TOPIC_UNSAFE')) finding(`a sink restarted with ${topic} unsafe exited with ${restart.exited} without KAFKA_TOPIC_UNSAFE (log ${restart.log})`);
        else trace.fault(`topic-settings: the sink's restart refused: exit ${restart.exited}, KAFKA_TOPIC_UNSAFE`);
      } finally {
        await restoreTopic(stack.brokers, topic, original);
        trace.fault(`topic-settings: ${topic} restored to ${JSON.stringify(original)}`);
        await stack.sink.start();
      }
      trace.fault('topic-settings healed: sink ready');
      return;
    }
  }
}

/** Puts the settings back (retried: the broker may be busy) and waits until the broker reports them. */
async function restoreTopic(brokers: string[], topic: string, original: Record<string, string | null>): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await alterTopic(brokers, topic, original);
      const now = await topicSettings(brokers, topic);
      // A setting that was the broker's default is back when the broker no longer reports the changed value (only cleanup.policy=compact matters).
      const back = Object.entries(original).every(([name, value]) => (value !== null ? now.get(name) === value : name !== 'cleanup.policy' || now.get(name) !== 'compact'));
      if (back) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${topic}: its settings ${JSON.stringify(original)} did not come back within 60 s`);
    await sleep(500);
  }
}

async function topicSettings(brokers: string[], topic: string): Promise<Map<string, string>> {
  const admin = kafkaFor(brokers).admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy', 'retention.ms'] }] });
    return new Map((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Sets topic settings, keeping the others the topic has (AlterConfigs replaces a topic's whole
 * set); returns what the changed ones were (null: the broker default), to restore them.
 */
async function alterTopic(brokers: string[], topic: string, change: Record<string, string | null>): Promise<Record<string, string | null>> {
  const admin = kafkaFor(brokers).admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    const entries = resources[0]?.configEntries ?? [];
    // Set on the topic itself (configSource 1: DYNAMIC_TOPIC_CONFIG).
    const own = new Map(entries.filter((e) => !e.isDefault && (e as { configSource?: number }).configSource === 1).map((e) => [e.configName, e.configValue]));
    const before: Record<string, string | null> = {};
    for (const name of Object.keys(change)) before[name] = own.get(name) ?? null;
    for (const [name, value] of Object.entries(change)) {
      if (value === null) own.delete(name);
      else own.set(name, value);
    }
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [...own].map(([name, value]) => ({ name, value })) }] });
    return before;
  } finally {
    await admin.disconnect();
  }
}
