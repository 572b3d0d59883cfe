import type { Stack } from './environment.js';
import type { FaultAction, Schedule } from './generator.js';
import { busiestPartition, groupMembers, groupProgress, rewindToEarliest } from './observe.js';
import { injectOperation, isOperationsAction } from './operations.js';
import { sleep, type Sender } from './sender.js';
import type { Trace } from './trace.js';

/**
 * The faults of a schedule, injected one after another while the load goes on, each one
 * healed before the next: sink SIGKILL, graceful restarts (SIGTERM, then start again),
 * receiver SIGKILL, offset rewind, warehouse outage, broker stop/start, the SIGKILL of a
 * partition leader.
 * Faults that make the receiver answer 503 leave a window: 503 is allowed only there.
 */

export interface FaultWindow {
  from: number;
  to: number;
  why: string;
}

export interface FaultLog {
  windows: FaultWindow[];
  /** Faults that could not be carried out (the harness's problem, reported as such). */
  errors: string[];
}

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await sleep(100);
  }
  return false;
}

/** After the broker is back the producer reconnects (backoff up to 5 s) and requests waiting since the outage time out. */
const recoveryGraceMs = (schedule: Schedule) => 5_000 + 2 * schedule.publishTimeoutMs;

async function inject(stack: Stack, schedule: Schedule, action: FaultAction, trace: Trace, log: FaultLog, at: number): Promise<void> {
  const { brokers, config } = stack;
  if (isOperationsAction(action)) {
    const window = (why: string) => {
      const w: FaultWindow = { from: Date.now(), to: Infinity, why };
      log.windows.push(w);
      return () => void (w.to = Date.now() + 1_000);
    };
    return injectOperation(action, { stack, at, trace, window });
  }
  const committed = async () => (await groupProgress(brokers, config.consumerGroup, stack.topics.consumed)).reduce((n, p) => n + p.committed, 0);
  switch (action.type) {
    case 'sink-kill': {
      // Mid-stream: wait until the sink has committed something more, then kill it at once.
      const before = await committed().catch(() => 0);
      const moving = await until(async () => (await committed()) > before, 10_000);
      await sleep(action.afterMs);
      trace.fault(`sink-kill: SIGKILL the sink (${moving ? `${action.afterMs} ms after a commit` : 'no progress seen in 10 s'}), down ${action.downMs} ms`);
      await stack.sink.kill();
      await sleep(action.downMs);
      await stack.sink.start();
      trace.fault('sink-kill healed: a new sink is ready');
      return;
    }
    case 'sink-restart':
      trace.fault('sink-restart: SIGTERM the sink (graceful), then start it again');
      await stack.sink.stop();
      await stack.sink.start();
      trace.fault('sink-restart healed: sink ready');
      return;
    case 'rewind': {
      trace.fault('rewind: stop the sink, reset the group to the earliest offsets, start again');
      await stack.sink.stop();
      // A SIGKILLed member stays in the group until its session times out.
      if (!(await until(async () => (await groupMembers(brokers, config.consumerGroup)) === 0, 30_000))) throw new Error('the group kept members 30 s after the sink stopped');
      for (let attempt = 1; ; attempt++) {
        try {
          await rewindToEarliest(brokers, config.consumerGroup, stack.topics.consumed);
          break;
        } catch (err) {
          if (attempt >= 10) throw err;
          await sleep(500);
        }
      }
      await stack.sink.start();
      trace.fault('rewind healed: sink re-reading from the earliest offsets');
      return;
    }
    case 'receiver-restart': {
      const window: FaultWindow = { from: Date.now(), to: Infinity, why: 'receiver graceful restart' };
      log.windows.push(window);
      trace.fault('receiver-restart: SIGTERM the receiver (graceful), then start it again on the same port');
      const code = await stack.receiver.stop('SIGTERM');
      if (code !== 0) stack.crashes.push(`receiver exited with ${code} after SIGTERM (expected a graceful 0)`);
      await stack.receiver.start();
      window.to = Date.now() + 1_000;
      trace.fault(`receiver-restart healed: receiver ready (old one exited with ${code})`);
      return;
    }
    case 'receiver-kill': {
      // Requests in flight get no answer; whatever of them was published may land (the sender retries them).
      trace.fault('receiver-kill: SIGKILL the receiver, then start it again on the same port');
      await stack.receiver.stop('SIGKILL');
      await stack.receiver.start();
      trace.fault('receiver-kill healed: receiver ready');
      return;
    }
    case 'warehouse-outage':
      trace.fault(`warehouse-outage: every write fails for ${action.ms} ms`);
      stack.sink.setWarehouseFailing(true);
      await sleep(action.ms);
      stack.sink.setWarehouseFailing(false);
      trace.fault('warehouse-outage healed: writes succeed again');
      return;
    case 'broker-restart': {
      const window: FaultWindow = { from: Date.now(), to: Infinity, why: 'broker stopped and restarted' };
      log.windows.push(window);
      trace.fault(`broker-restart: stop the broker ${stack.broker!.address}, down ${action.downMs} ms`);
      await stack.broker!.stop();
      trace.fault('broker-restart: broker stopped');
      await sleep(action.downMs);
      await stack.broker!.start();
      window.to = Date.now() + recoveryGraceMs(schedule);
      trace.fault('broker-restart healed: broker ready');
      return;
    }
    case 'leader-kill': {
      const cluster = stack.cluster!;
      const partition = await busiestPartition(brokers, config.topicEvents);
      const node = await cluster.leaderOf(config.topicEvents, partition);
      const window: FaultWindow = { from: Date.now(), to: Infinity, why: `leader ${node} of ${config.topicEvents}/${partition} killed` };
      log.windows.push(window);
      trace.fault(`leader-kill: SIGKILL node ${node}, leader of events partition ${partition}, down ${action.downMs} ms`);
      await cluster.kill(node);
      await sleep(action.downMs);
      await cluster.restart(node);
      window.to = Date.now() + recoveryGraceMs(schedule);
      trace.fault(`leader-kill healed: node ${node} restarted`);
      return;
    }
  }
}

/** Brings every part back up, whatever state a failed fault left it in. */
export async function healAll(stack: Stack): Promise<void> {
  await stack.broker?.start();
  if (stack.sink.mode === 'in-process') stack.sink.setWarehouseFailing(false);
  await stack.receiver.start();
  await stack.sink.start();
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The schedule's faults in order, each when its delivery is dispatched. `gate` holds the
 * load back at a fault's delivery until that fault begins (the one before may still be
 * healing), so each fault starts mid-load.
 */
export function faultRunner(stack: Stack, schedule: Schedule, trace: Trace) {
  const begun = new Map(schedule.faults.map((f) => [f.at, deferred()]));
  return {
    gate: (index: number) => begun.get(index)?.promise,
    run: (sender: Sender) => runFaults(stack, schedule, sender, trace, (at) => begun.get(at)?.resolve()),
  };
}

async function runFaults(stack: Stack, schedule: Schedule, sender: Sender, trace: Trace, begin: (at: number) => void): Promise<FaultLog> {
  const log: FaultLog = { windows: [], errors: [] };
  for (const step of schedule.faults) {
    begin(step.at);
    await sender.reached(step.at);
    try {
      await inject(stack, schedule, step.action, trace, log, step.at);
    } catch (err) {
      const message = `${step.action.type} at delivery #${step.at} failed: ${(err as Error).message}`;
      log.errors.push(message);
      trace.fault(`ERROR ${message}`);
      for (const w of log.windows) if (w.to === Infinity) w.to = Date.now() + recoveryGraceMs(schedule);
      await healAll(stack).catch((e) => log.errors.push(`healing after it failed: ${(e as Error).message}`));
    }
  }
  return log;
}
