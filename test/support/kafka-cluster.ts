import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { portFree } from './processes.js';

/**
 * A three-node KRaft cluster of this test's own (combined broker+controller nodes, topics
 * with replication factor 3 and min.insync.replicas 2), started by
 * `KAFKA_NODES=3 scripts/kafka.sh start` on a fresh data folder, for fault tests that kill
 * and restart single brokers.
 */
export interface KafkaCluster {
  brokers: string[]; // e.g. ['127.0.0.1:19092','127.0.0.1:19102','127.0.0.1:19112']
  leaderOf(topic: string, partition: number): Promise<number>; // node id, via kafkajs admin.fetchTopicMetadata
  kill(nodeId: number): Promise<void>; // SIGKILL that node's JVM and wait until it is gone
  halt(nodeId: number): Promise<void>; // stop that node gracefully (SIGTERM: controlled shutdown, leadership moved first)
  restart(nodeId: number): Promise<void>; // start it again on its storage and wait until it is back in the ISR / ready
  stop(): Promise<void>; // stop all nodes and remove the data dir
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/kafka.sh');
const NODES = 3;
/** Node <id> listens on basePort + STEP * (id - 1), its controller one port above. */
const STEP = 10;
const HOST = '127.0.0.1';

/** The six ports of a cluster at `base`. */
function clusterPorts(base: number): number[] {
  return Array.from({ length: NODES }, (_, i) => [base + STEP * i, base + STEP * i + 1]).flat();
}

/** A base port whose six ports are free, below the ephemeral range (32768+) and away from 9092-9094. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 2 * Math.floor(Math.random() * 6_000); // 20000..31998
    if ((await Promise.all(clusterPorts(base).map(portFree))).every(Boolean)) return base;
  }
  throw new Error('found no base port with 6 free ports for a Kafka cluster');
}

/** Runs scripts/kafka.sh asynchronously (the event loop keeps serving the pipeline under test). */
function script(env: NodeJS.ProcessEnv, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SCRIPT, ...args], { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const how = err.killed ? `timed out after ${timeoutMs} ms` : `failed (exit ${err.code})`;
        reject(new Error(`scripts/kafka.sh ${args.join(' ')} ${how}:\n${stdout}${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

async function retrying<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function startCluster(options: { basePort?: number } = {}): Promise<KafkaCluster> {
  const base = options.basePort ?? (await freeBasePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'callstream-cluster-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_NODES: String(NODES),
    KAFKA_PORT: String(base),
    KAFKA_CONTROLLER_PORT: String(base + 1),
    KAFKA_PORT_STEP: String(STEP),
    CALLSTREAM_KAFKA_DATA: dataDir,
    KAFKA_STOP_TIMEOUT: '30',
  };
  const brokers = Array.from({ length: NODES }, (_, i) => `${HOST}:${base + STEP * i}`);
  const ids = Array.from({ length: NODES }, (_, i) => i + 1);
  const down = new Set<number>();
  let stopped: Promise<void> | undefined;

  // A test process that dies without stop() must not leave three JVMs behind.
  const killLeftovers = () => {
    for (const id of ids) {
      try {
        process.kill(Number(readFileSync(join(dataDir, `node-${id}`, 'kafka.pid'), 'utf8').trim()), 'SIGKILL');
      } catch {
        // not running
      }
    }
  };
  process.once('exit', killLeftovers);

  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      try {
        await script(env, ['stop'], 90_000);
      } catch {
        killLeftovers();
      } finally {
        process.off('exit', killLeftovers);
        rmSync(dataDir, { recursive: true, force: true });
      }
    })());

  /** An admin client on the nodes believed up (kafkajs gives up on a dead seed broker at once). */
  async function withAdmin<T>(work: (admin: Admin) => Promise<T>, what: string, timeoutMs = 30_000): Promise<T> {
    return retrying(what, timeoutMs, async () => {
      const live = brokers.filter((_, i) => !down.has(i + 1));
      const kafka = new Kafka({
        clientId: 'callstream-test-cluster',
        brokers: live,
        connectionTimeout: 2_000,
        requestTimeout: 10_000,
        retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      try {
        return await work(admin);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    });
  }

  try {
    await script(env, ['start'], 240_000);
    await withAdmin(
      async (admin) => {
        const { brokers: registered } = await admin.describeCluster();
        if (registered.length !== NODES) throw new Error(`${registered.length} of ${NODES} brokers registered`);
      },
      `all ${NODES} brokers of the cluster in ${dataDir} to register`,
      60_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const nodeId = (id: number): number => {
    if (!ids.includes(id)) throw new Error(`no node ${id} in a ${NODES}-node cluster (ids ${ids.join(', ')})`);
    return id;
  };

  return {
    brokers,

    leaderOf: (topic, partition) =>
      withAdmin(async (admin) => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const found = topics[0]?.partitions.find((p) => p.partitionId === partition);
        if (!found) throw new Error(`no partition ${topic}[${partition}] in the metadata`);
        return found.leader;
      }, `the leader of ${topic}[${partition}]`),

    async kill(id) {
      down.add(nodeId(id));
      await script(env, ['kill-node', String(id)], 60_000);
    },

    async halt(id) {
      down.add(nodeId(id));
      await script(env, ['stop-node', String(id)], 120_000);
    },

    async restart(id) {
      await script(env, ['start-node', String(nodeId(id))], 180_000);
      down.delete(id);
      // Back means: registered again, and in the ISR of every partition it has a replica of.
      await withAdmin(
        async (admin) => {
          const { brokers: registered } = await admin.describeCluster();
          if (!registered.some((b) => b.nodeId === id)) throw new Error(`node ${id} is not registered`);
          const names = await admin.listTopics();
          const { topics } = await admin.fetchTopicMetadata({ topics: names });
          const behind = topics.flatMap((t) => t.partitions.filter((p) => p.replicas.includes(id) && !p.isr.includes(id)).map((p) => `${t.name}[${p.partitionId}]`));
          if (behind.length > 0) throw new Error(`node ${id} not yet in the ISR of ${behind.join(', ')}`);
        },
        `node ${id} to rejoin the ISRs`,
        120_000,
      );
    },

    stop,
  };
}
