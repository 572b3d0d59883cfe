import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TABLES } from '../../src/warehouse/index.js';
import { tableMatch } from '../../src/erasure/index.js';
import { check, type ErasureObservation, type Violation } from './checker.js';
import { erasuresInForce } from './erasure-model.js';
import { startStack, type Stack } from './environment.js';
import { faultRunner, healAll, type FaultLog } from './faults.js';
import { generateSchedule, type Schedule } from './generator.js';
import { buildModel } from './model.js';
import { decodeAudit, decodeDeadLetter, deleteTopicsAndGroup, readTopics, waitForLagZero, warehouseRows } from './observe.js';
import { reproduceCommand, type SoakOptions } from './options.js';
import { Sender, type OpResult } from './sender.js';
import { Trace } from './trace.js';
import type { Warehouse } from '../../src/warehouse/index.js';

/**
 * One seed end to end: generate the schedule, start its stack, send its deliveries while
 * its faults run, heal, wait for lag 0, read the topics and the warehouse, check.
 */

export interface ScheduleOutcome {
  schedule: Schedule;
  violations: Violation[];
  /** Processes that exited without being asked to, faults that could not be carried out. */
  anomalies: string[];
  trace: Trace;
  ms: number;
  stats: string;
  reproduce: string;
  /** The full trace is written here (with the failure report, when there is one). */
  traceFile: string;
}

const LAG_TIMEOUT_MS = 180_000;

function summarize(schedule: Schedule, results: OpResult[]): string {
  const statuses = new Map<string, number>();
  for (const r of results) for (const a of r.attempts) statuses.set(String(a.status), (statuses.get(String(a.status)) ?? 0) + 1);
  const faults = schedule.faults.map((f) => `${f.action.type}@${f.at}`).join(' ');
  return `${schedule.ops.length} deliveries, ${results.reduce((n, r) => n + r.attempts.length, 0)} requests (${[...statuses].map(([s, n]) => `${s}:${n}`).join(' ')}); faults ${faults}`;
}

export async function runSeed(seed: number, options: SoakOptions): Promise<ScheduleOutcome> {
  const started = Date.now();
  const schedule = generateSchedule(seed, options);
  const trace = new Trace();
  trace.note(`seed ${seed}: ${schedule.kind}, ${schedule.size}, ${schedule.ops.length} deliveries, concurrency ${schedule.concurrency}, ${schedule.ratePerSecond}/s, faults ${schedule.faults.map((f) => `${JSON.stringify(f.action)}@#${f.at}`).join(' ')}`);
  let stack: Stack | undefined;
  let closeWarehouse: (() => Promise<void>) | undefined;
  try {
    stack = await startStack(schedule, trace);
    const sender = new Sender(stack.receiver.url, trace);
    const faultsOf = faultRunner(stack, schedule, trace);
    const [results, faults] = await Promise.all([sender.run(schedule, faultsOf.gate), faultsOf.run(sender)]);
    trace.note('load and faults done');
    await healAll(stack);

    const lag = await waitForLagZero(stack.brokers, stack.config.consumerGroup, stack.topics.consumed, LAG_TIMEOUT_MS);
    trace.note(lag.ok ? 'consumer lag is 0' : `consumer lag still not 0 after ${LAG_TIMEOUT_MS} ms`);
    await stack.receiver.stop('SIGTERM');
    await stack.sink.stop();
    const { warehouse, close } = await stack.sink.openWarehouse();
    closeWarehouse = close;

    const { audit, deadLetter } = stack.topics;
    const topics = await readTopics(stack.brokers, [audit.callaro, audit.telephony, deadLetter.callaro, deadLetter.telephony]);
    const auditRecords = [...topics.get(audit.callaro)!, ...topics.get(audit.telephony)!].map(decodeAudit);
    const observed = {
      audit: auditRecords,
      deadLetters: [...topics.get(deadLetter.callaro)!, ...topics.get(deadLetter.telephony)!].map(decodeDeadLetter),
      rows: await warehouseRows(warehouse, stack.ops?.bigquery ? 'bigquery' : 'duckdb'),
      lag,
      auditTopics: audit,
      erasures: stack.ops ? await observeErasures(stack, warehouse, auditRecords.map((r) => r.receivedAt), trace) : undefined,
    };
    for (const d of observed.deadLetters) trace.note(`dead letter in ${d.topic}: request ${d.requestId?.slice(0, 8)} ${d.errorCode}: ${d.reason?.slice(0, 200)}`);
    const violations = check(results, buildModel(results), observed, faults.windows, trace.t0);
    return finish(schedule, violations, [...stack.crashes, ...faultErrors(faults)], trace, started, summarize(schedule, results), options);
  } catch (err) {
    trace.note(`harness error: ${(err as Error).stack ?? err}`);
    throw Object.assign(new Error(`seed ${seed}: the harness failed: ${(err as Error).message}\nreproduce: ${reproduceCommand(seed, options)}\n${trace.render({ limit: 300 })}`), { cause: err });
  } finally {
    await closeWarehouse?.().catch(() => undefined);
    if (stack) {
      await stack.receiver.stop('SIGKILL').catch(() => undefined);
      await stack.sink.stop().catch(() => undefined);
      await deleteTopicsAndGroup(stack.brokers, [...stack.topics.consumed, ...Object.values(stack.topics.audit), ...Object.values(stack.topics.deadLetter), stack.topics.erasures], stack.config.consumerGroup).catch(() => undefined);
    }
  }
}

/**
 * The erasures at the end: those in force (the erasures topic), what of every table each still
 * covers (the warehouse counts it: a dry run of the erasure's DELETE), the runs and findings of
 * the operators' commands; and, when a replay ran, whether the receipts did cross midnight.
 */
async function observeErasures(stack: Stack, warehouse: Warehouse, receipts: number[], trace: Trace): Promise<ErasureObservation> {
  const ops = stack.ops!;
  const records = (await readTopics(stack.brokers, [stack.topics.erasures]).catch(() => new Map())).get(stack.topics.erasures) ?? [];
  const inForce = erasuresInForce(records);
  const leftovers: ErasureObservation['leftovers'] = [];
  for (const erasure of inForce) {
    const scope = { ...erasure, kind: erasure.key.split(':')[0] as 'phone' | 'call' | 'tenant', erasedAt: '' };
    for (const spec of TABLES) leftovers.push({ erasure: erasure.key, table: spec.name, rows: await warehouse.eraseRows(spec, tableMatch(spec, scope), { dryRun: true }) });
  }
  trace.note(`erasures in force: ${inForce.map((e) => `${e.key} (calls ${e.callIds.length}, sids ${e.callSids.length}${e.callTenants ? `, tenants ${e.callTenants.join(' ')}` : ''})`).join('; ') || 'none'}`);
  const findings = [...ops.findings];
  if (ops.replays > 0) {
    const before = receipts.filter((t) => t < ops.midnight).length;
    const after = receipts.length - before;
    trace.note(`receipts: ${before} before ${new Date(ops.midnight).toISOString()}, ${after} after`);
    if (before === 0 || after === 0) findings.push({ message: `harness: the replays ran, but the audit holds ${before} receipt(s) before midnight and ${after} after (not across it)`, ops: [] });
  }
  return { inForce, leftovers, runs: ops.erasures, findings };
}

function faultErrors(log: FaultLog): string[] {
  return log.errors.map((e) => `fault failed: ${e}`);
}

function finish(schedule: Schedule, violations: Violation[], anomalies: string[], trace: Trace, started: number, stats: string, options: SoakOptions): ScheduleOutcome {
  const traceFile = join(mkdtempSync(join(tmpdir(), `callstream-soak-${schedule.seed}-trace-`)), 'trace.txt');
  writeFileSync(traceFile, `${trace.render()}\n`);
  return { schedule, violations, anomalies, trace, ms: Date.now() - started, stats, reproduce: reproduceCommand(schedule.seed, options), traceFile };
}

/** The failure report of a seed: every violation, the command that reruns it, and the trace of the deliveries involved. */
export function report(outcome: ScheduleOutcome): string {
  const { schedule, violations, anomalies } = outcome;
  const lines = [
    `seed ${schedule.seed} (${schedule.kind}, ${schedule.size}): ${violations.length} violation(s) in ${(outcome.ms / 1000).toFixed(1)} s; ${outcome.stats}`,
    `reproduce: ${outcome.reproduce}`,
    ...violations.map((v) => `  (${v.invariant}) ${v.message}`),
    ...anomalies.map((a) => `  (anomaly) ${a}`),
  ];
  const full = outcome.trace.render();
  const file = outcome.traceFile;
  writeFileSync(file, `${lines.join('\n')}\n${full}\n`);
  if (full.split('\n').length <= 400) {
    lines.push(`trace (full copy in ${file}):`, full);
  } else {
    const involved = new Set(violations.flatMap((v) => v.ops));
    lines.push(`trace: faults, notes and the deliveries involved (full trace in ${file}):`, outcome.trace.render({ ops: involved, limit: 400 }));
  }
  return lines.join('\n');
}
