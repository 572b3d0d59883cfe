import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { duckDbPath } from '../../src/config/index.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { Warehouse } from '../../src/warehouse/index.js';
import type { FlakyWarehouse } from '../support/flaky-warehouse.js';
import { spawnCallstream, stopProcess, type Spawned } from '../support/processes.js';
import type { Trace } from './trace.js';

/**
 * The parts a schedule's faults act on: callstream processes under a supervisor, the sink
 * as a process or in this process behind a switchable warehouse, and a broker of its own.
 */

/** A callstream process that is restarted if it exits without being asked to (as a supervisor would); such exits are noted. */
export class Supervised {
  private current?: Spawned;
  private wanted = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly command: 'receiver' | 'sink',
    private env: NodeJS.ProcessEnv,
    readonly port: number,
    private readonly trace: Trace,
    private readonly crashes: string[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string | undefined {
    return this.current?.log;
  }

  /** Variables for the next start (e.g. the receiver's FAKETIME). */
  setEnv(extra: NodeJS.ProcessEnv): void {
    this.env = { ...this.env, ...extra };
  }

  start(): Promise<void> {
    return this.serially(async () => {
      this.wanted = true;
      if (this.current) return;
      for (let attempt = 1; ; attempt++) {
        try {
          const spawned = await spawnCallstream(this.command, this.env, this.port);
          this.current = spawned;
          void spawned.exited.then((code) => this.exited(spawned, code));
          return;
        } catch (err) {
          this.trace.note(`${this.command} did not start (attempt ${attempt}): ${(err as Error).message}`);
          if (attempt >= 3) throw err;
        }
      }
    });
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null | undefined> {
    return this.serially(async () => {
      this.wanted = false;
      const p = this.current;
      this.current = undefined;
      return p ? stopProcess(p, signal) : undefined;
    });
  }

  private exited(p: Spawned, code: number | null): void {
    if (this.current !== p || !this.wanted) return;
    this.current = undefined;
    const what = `${this.command} exited on its own (code ${code}, signal ${p.child.signalCode}); log: ${p.log}`;
    this.crashes.push(what);
    this.trace.note(`${what}; restarting it`);
    void this.start().catch((err) => this.trace.note(`${this.command} restart failed: ${(err as Error).message}`));
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

export interface SinkHandle {
  readonly mode: 'process' | 'in-process';
  start(): Promise<void>;
  /** Graceful: flush, commit, leave the group. */
  stop(): Promise<void>;
  /** SIGKILL (process sinks only). */
  kill(): Promise<void>;
  /** Warehouse outage (in-process sinks only). */
  setWarehouseFailing(failing: boolean): void;
  /** After stop(): the warehouse to check. */
  openWarehouse(): Promise<{ warehouse: Warehouse; close(): Promise<void> }>;
}

export class ProcessSink implements SinkHandle {
  readonly mode = 'process' as const;
  constructor(
    private readonly process: Supervised,
    private readonly config: Config,
    /** The warehouse to check, when not the DuckDB file of the data folder (BigQuery). */
    private readonly open?: () => Promise<{ warehouse: Warehouse; close(): Promise<void> }>,
  ) {}
  start() {
    return this.process.start();
  }
  async stop() {
    await this.process.stop('SIGTERM');
  }
  async kill() {
    await this.process.stop('SIGKILL');
  }
  setWarehouseFailing(): void {
    throw new Error('a process sink has no switchable warehouse');
  }
  async openWarehouse() {
    if (this.open) return this.open();
    // The sink process owned the DuckDB file; now that it is gone the checker may open it.
    const warehouse = await DuckDbWarehouse.open(duckDbPath(this.config));
    return { warehouse, close: () => warehouse.close() };
  }
}

export class InProcessSink implements SinkHandle {
  readonly mode = 'in-process' as const;
  private pipeline?: Pipeline;
  constructor(
    private readonly config: Config,
    private readonly warehouse: FlakyWarehouse,
  ) {}
  async start() {
    if (this.pipeline) return;
    // Its retry warnings during an outage are expected: only errors are shown.
    const pipeline = new Pipeline({ config: this.config, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'error' }), manageBroker: false, warehouse: this.warehouse, receiver: false, querySocket: false });
    await pipeline.start();
    this.pipeline = pipeline;
  }
  async stop() {
    const p = this.pipeline;
    this.pipeline = undefined;
    await p?.stop();
  }
  kill(): Promise<void> {
    throw new Error('an in-process sink cannot be SIGKILLed');
  }
  setWarehouseFailing(failing: boolean) {
    this.warehouse.failing = failing;
  }
  async openWarehouse() {
    this.warehouse.failing = false;
    return { warehouse: this.warehouse as Warehouse, close: () => this.warehouse.close() };
  }
}

/** A broker of the run's own (scripts/kafka.sh with its own ports and data), stopped and started without blocking the event loop. */
export interface DedicatedBroker {
  address: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function dedicatedBroker(port: number): DedicatedBroker {
  const dataDir = mkdtempSync(join(tmpdir(), 'callstream-soak-broker-'));
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), CALLSTREAM_KAFKA_DATA: dataDir };
  const script = fileURLToPath(new URL('../../scripts/kafka.sh', import.meta.url));
  const run = (command: 'start' | 'stop') =>
    new Promise<void>((resolve, reject) =>
      execFile('bash', [script, command], { env, timeout: 120_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`kafka.sh ${command} (port ${port}) failed: ${stderr || err.message}`)) : resolve())),
    );
  return { address: `127.0.0.1:${port}`, start: () => startBinding(() => run('start')), stop: () => run('stop') };
}

/**
 * Starts a broker again, waiting while its ports are still taken: right after a stop the
 * controller port can refuse the bind ("Address already in use") for up to a minute (sockets of
 * the old broker's own connections lingering), which is this harness's problem, not a fault
 * under test. Any other failure is thrown at once.
 */
export async function startBinding(start: () => Promise<void>, deadlineMs = 90_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await start();
    } catch (err) {
      if (!/Address already in use/.test((err as Error).message) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 3_000));
    }
  }
}
