import { createServer } from 'node:net';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config/index.js';
import { waitFor } from './pipeline-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let built = false;

/** Compiles src/ to dist/ once per test file, so spawned processes run the current code. */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

/**
 * A test config's topics as the settings a callstream process reads (every topic, so that no
 * process falls back to a default name shared with other tests), with their partitions and
 * replication.
 */
export function topicEnv(config: Config): Record<string, string> {
  return {
    CALLSTREAM_TOPIC_EVENTS: config.topicEvents,
    CALLSTREAM_TOPIC_RAW: config.topicRaw,
    CALLSTREAM_TOPIC_DLQ: config.topicDeadLetter,
    CALLSTREAM_TOPIC_TELEPHONY: config.topicTelephony,
    CALLSTREAM_TOPIC_TELEPHONY_RAW: config.topicTelephonyRaw,
    CALLSTREAM_TOPIC_TELEPHONY_DLQ: config.topicTelephonyDeadLetter,
    CALLSTREAM_TOPIC_ERASURES: config.topicErasures,
    CALLSTREAM_TOPIC_PARTITIONS: String(config.topicPartitions),
    CALLSTREAM_TOPIC_REPLICATION: String(config.topicReplicationFactor),
  };
}

/** The environment a spawned callstream process gets for a test config. */
export function envFor(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    KAFKA_BROKERS: config.kafkaBrokers!.join(','),
    ...topicEnv(config),
    CALLSTREAM_CONSUMER_GROUP: config.consumerGroup,
    CALLSTREAM_DATA_DIR: config.dataDir,
    CALLSTREAM_FLUSH_INTERVAL_MS: String(config.flushIntervalMs),
    CALLSTREAM_PUBLISH_TIMEOUT_MS: String(config.publishTimeoutMs),
    CALLSTREAM_SESSION_TIMEOUT_MS: String(config.sessionTimeoutMs),
    LOG_LEVEL: 'info',
    ...extra,
  };
  return env;
}

export interface Spawned {
  child: ChildProcess;
  url: string;
  log: string;
  exited: Promise<number | null>;
}

/** Starts `callstream <command>` as a child process on the given port and waits for /readyz. */
export async function spawnCallstream(command: 'receiver' | 'sink' | 'start', env: NodeJS.ProcessEnv, port: number): Promise<Spawned> {
  ensureBuilt();
  const log = join(mkdtempSync(join(tmpdir(), `callstream-${command}-`)), 'out.log');
  const out = createWriteStream(log);
  const child = spawn(process.execPath, [join(ROOT, 'bin/callstream.js'), command], { cwd: ROOT, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`callstream ${command} exited with ${child.exitCode}; see ${log}`);
      return fetch(`${url}/readyz`).then((r) => r.status, () => 0);
    },
    (status) => status === 200,
    60_000,
    `callstream ${command} to be ready (log: ${log})`,
  );
  return { child, url, log, exited };
}

export async function stopProcess(p: Spawned, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}

/** A free-enough port per test file (the OS picks, then we let go of it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether a port on 127.0.0.1 can be bound right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port for a dedicated broker whose next two (controller, SASL_SSL) are free too, below the
 * ephemeral range (32768+), where no client connection of another test takes one meanwhile: a
 * port the OS picked (freePort) has neighbours in that range, and a broker once failed to bind
 * its controller port for it ("Address already in use").
 */
export async function freeBrokerPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + 3 * Math.floor(Math.random() * 4_000); // 20000..31997
    if ((await Promise.all([port, port + 1, port + 2].map(portFree))).every(Boolean)) return port;
  }
  throw new Error('found no three free ports in a row for a dedicated broker');
}

/** Runs scripts/kafka.sh with its own ports (from freeBrokerPort) and data folder: a broker a test may stop and start. */
export function dedicatedBroker(port: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'callstream-broker-'));
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), CALLSTREAM_KAFKA_DATA: dataDir };
  const run = (command: 'start' | 'stop') => execFileSync('bash', [join(ROOT, 'scripts/kafka.sh'), command], { env, stdio: 'pipe', timeout: 120_000 });
  // Right after a stop the controller port may refuse the bind for up to a minute ("Address already in use"): start again then.
  const start = () => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        return run('start');
      } catch (err) {
        const output = `${(err as Error).message}${(err as { stderr?: Buffer }).stderr?.toString() ?? ''}`;
        if (!/Address already in use/.test(output) || Date.now() > deadline) throw err;
        execFileSync('sleep', ['3']);
      }
    }
  };
  return { address: `127.0.0.1:${port}`, start, stop: () => run('stop'), dataDir };
}
