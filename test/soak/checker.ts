import type { Op } from './ops.js';
import type { FaultWindow } from './faults.js';
import { canonicalJson } from './json-canonical.js';
import { isSample, outcomeOf, type Model, type Sent } from './model.js';
import type { AuditRecord, DeadLetter, Progress, StoredRow } from './observe.js';
import type { Flow } from './payloads.js';
import { answered, type OpResult } from './sender.js';
import { covers, rowFacts, type RecordedErasure } from './erasure-model.js';
import type { EraseRun, Finding } from './operations.js';

/**
 * The checker: the schedule's answers and the model against what the pipeline holds
 * once the consumer lag is back to 0.
 *
 * (1) every request sent is in its flow's audit topic exactly once (matched by x-request-id;
 *     a 503 or a request without an answer at most once; /sample never);
 * (2) every key acknowledged is in the warehouse with its newest version, or that version
 *     is in the flow's dead-letter topic with a reason (`callstream-error-code`);
 * (3) no other rows: none for a key never acknowledged, no key twice;
 * (4) the consumer lag returns to 0;
 * (5) no 5xx but 503, and 503 only while the broker is down or being restarted, or during
 *     a graceful receiver restart;
 * (6) after operators' erasures (operations kinds): no row an erasure in force covers is in any
 *     table (the stored rows, and the warehouse's own count of every table: call_events,
 *     telephony_callbacks, requests, dead_letters, compliance_events, campaign_events); each
 *     erasure run is on the erasures topic with its subject, and a rerun covers no less. Keys an
 *     erasure covers (or may cover: the callbacks of a call the sink refused) are exempt from (2);
 * and every delivery got the answer the contract names (the nasty classes among them), and
 * every operator's command did what docs/operations.md and docs/privacy.md say ('operations').
 */

export type Invariant = '1 audit' | '2 newest version' | '3 no other rows' | '4 lag' | '5 server errors' | '6 erasure' | 'operations' | 'answers';

/** What the checker learns of the erasures at the end (operations kinds). */
export interface ErasureObservation {
  /** The last record per key of the erasures topic. */
  inForce: RecordedErasure[];
  /** Rows of each table an erasure in force still covers, as the warehouse counts them (a dry run of its DELETE). */
  leftovers: Array<{ erasure: string; table: string; rows: number }>;
  /** Every `callstream erase` run and its receipt. */
  runs: EraseRun[];
  /** What the operators' commands saw that breaks a promise. */
  findings: Finding[];
}

export interface Violation {
  invariant: Invariant;
  message: string;
  /** The deliveries involved (their trace lines are printed). */
  ops: number[];
}

export interface Observed {
  audit: AuditRecord[];
  deadLetters: DeadLetter[];
  rows: StoredRow[];
  lag: { ok: boolean; progress: Progress[] };
  auditTopics: Record<Flow, string>;
  erasures?: ErasureObservation;
}

const describe = (s: Sent) => `#${s.op.id} ${s.op.label} (answered ${s.attempt.status}${s.attempt.requestId ? `, ${s.attempt.requestId.slice(0, 8)}` : ''})`;

/** Whether a stored row holds exactly the body `op` sent: the payload as the same JSON value, numbers digit for digit (Callaro), the raw body byte for byte (callbacks). */
export function holdsBody(row: StoredRow, op: Op): boolean {
  if (row.table === 'telephony_callbacks') return row.content === op.request.body;
  try {
    return row.content === op.request.body || canonicalJson(row.content) === canonicalJson(op.request.body);
  } catch {
    return false;
  }
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `stored ${a.length} chars, sent ${b.length}; first difference at ${i}: stored ${JSON.stringify(a.slice(i, i + 40))} vs sent ${JSON.stringify(b.slice(i, i + 40))}`;
}

function groupBy<T>(items: T[], key: (t: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    const list = out.get(k) ?? [];
    list.push(item);
    out.set(k, list);
  }
  return out;
}

function checkAudit(results: OpResult[], model: Model, observed: Observed, out: Violation[]): void {
  const byId = groupBy(observed.audit, (r) => r.requestId);
  for (const { op, attempts } of results) {
    const topic = observed.auditTopics[op.request.flow];
    for (const attempt of attempts) {
      if (!attempt.requestId) continue;
      const records = byId.get(attempt.requestId) ?? [];
      const inFlow = records.filter((r) => r.topic === topic);
      const where = `${attempt.requestId.slice(0, 8)} of #${op.id} ${op.label} (answered ${attempt.status})`;
      if (records.length > inFlow.length) out.push({ invariant: '1 audit', message: `request ${where} is in the other flow's audit topic`, ops: [op.id] });
      if (isSample(op)) {
        if (records.length > 0) out.push({ invariant: '1 audit', message: `the /sample dry run ${where} was audited (it must publish nothing)`, ops: [op.id] });
        continue;
      }
      const exact = answered(attempt) && attempt.status !== 503;
      if (exact ? inFlow.length !== 1 : inFlow.length > 1) {
        const places = inFlow.length > 0 ? ` (at ${inFlow.map((r) => `${r.at} status ${r.status}`).join(', ')})` : '';
        out.push({ invariant: '1 audit', message: `request ${where} is in ${topic} ${inFlow.length} times${places}, expected ${exact ? 'exactly once' : 'at most once'}`, ops: [op.id] });
      } else if (exact && inFlow[0].status !== attempt.status) {
        out.push({ invariant: '1 audit', message: `request ${where} is audited with status ${inFlow[0].status}`, ops: [op.id] });
      }
      if (inFlow.some((r) => r.flow !== op.request.flow)) out.push({ invariant: '1 audit', message: `request ${where} is audited with flow ${inFlow[0].flow}`, ops: [op.id] });
    }
  }
  for (const flow of ['callaro', 'telephony'] as const) {
    const unknown = observed.audit.filter((r) => r.topic === observed.auditTopics[flow] && !model.byRequestId.has(r.requestId));
    if (unknown.length > model.unanswered[flow]) {
      out.push({
        invariant: '1 audit',
        message: `${unknown.length} records of ${observed.auditTopics[flow]} match no request sent, but only ${model.unanswered[flow]} went unanswered (e.g. ${unknown.slice(0, 3).map((r) => `${r.requestId.slice(0, 8)} status ${r.status}`).join(', ')})`,
        ops: [],
      });
    }
  }
}

/**
 * Keys (2) does not hold to: those an erasure in force covers (their rows must be gone), and
 * those that may follow a covered call (its callbacks and compliance events: the sink refuses
 * them while it remembers the call it refused).
 */
function erasedKeys(model: Model, erasures: RecordedErasure[]): Set<string> {
  const out = new Set<string>();
  if (erasures.length === 0) return out;
  const facts = [...model.keys.values()].map((km) => ({ key: km.key, facts: rowFacts(km.key, km.newest.op.request.body) }));
  const calls = new Set<string>();
  const sids = new Set<string>();
  for (const { key, facts: f } of facts) {
    if (!erasures.some((e) => covers(e, f))) continue;
    out.add(key);
    if (f.table === 'call_events') {
      if (f.callId) calls.add(f.callId);
      if (f.callSid) sids.add(f.callSid);
    }
  }
  for (const { key, facts: f } of facts) {
    if ((f.callId && calls.has(f.callId)) || (f.subject && calls.has(f.subject)) || (f.callSid && sids.has(f.callSid))) out.add(key);
  }
  return out;
}

function checkErasures(results: OpResult[], model: Model, observed: Observed, out: Violation[]): void {
  const e = observed.erasures;
  if (!e) return;
  const byRequest = (id: string) => model.byRequestId.get(id);
  for (const row of observed.rows) {
    const f = rowFacts(row.key, row.content);
    const erasure = e.inForce.find((x) => covers(x, f));
    if (!erasure) continue;
    const source = byRequest(row.requestId);
    out.push({ invariant: '6 erasure', message: `${row.key} is stored (from ${source ? describe(source) : `request ${row.requestId}`}) though erasure ${erasure.key} covers it`, ops: source ? [source.op.id] : [] });
  }
  for (const left of e.leftovers) {
    if (left.rows > 0) out.push({ invariant: '6 erasure', message: `${left.table} holds ${left.rows} row(s) erasure ${left.erasure} covers (the warehouse's count)`, ops: [] });
  }
  for (const run of e.runs) {
    const recorded = e.inForce.find((x) => x.key === run.key);
    const what = `erase ${run.subject} ${run.value}${run.run === 2 ? ' (second run)' : ''} at delivery #${run.at}`;
    if (!recorded) {
      out.push({ invariant: '6 erasure', message: `${what}: its erasure ${run.key} is not on the erasures topic`, ops: [run.at] });
      continue;
    }
    const own = run.subject === 'phone' ? recorded.phones.includes(run.value) : run.subject === 'call' ? recorded.callIds.includes(run.value) : recorded.tenants.includes(Number(run.value));
    if (!own) out.push({ invariant: '6 erasure', message: `${what}: the recorded erasure ${run.key} does not name its subject`, ops: [run.at] });
    const lostCalls = run.matched.callIds.filter((c) => !recorded.callIds.includes(c));
    const lostSids = run.matched.callSids.filter((c) => !recorded.callSids.includes(c));
    if (lostCalls.length + lostSids.length > 0) out.push({ invariant: '6 erasure', message: `${what}: the erasure in force covers less than the receipt said: calls ${lostCalls.join(' ')} sids ${lostSids.join(' ')}`, ops: [run.at] });
    if (run.run === 2) {
      const first = e.runs.find((r) => r.at === run.at && r.run === 1);
      const weaker = first ? [...first.matched.callIds.filter((c) => !run.matched.callIds.includes(c)), ...first.matched.callSids.filter((c) => !run.matched.callSids.includes(c))] : [];
      if (weaker.length > 0) out.push({ invariant: '6 erasure', message: `${what}: the rerun's receipt covers less than the first run's: ${weaker.join(' ')}`, ops: [run.at] });
    }
  }
  for (const finding of e.findings) out.push({ invariant: 'operations', message: finding.message, ops: finding.ops });
  void results;
}

function checkRows(model: Model, observed: Observed, out: Violation[]): void {
  const rowsByKey = groupBy(observed.rows, (r) => r.key);
  const erased = erasedKeys(model, observed.erasures?.inForce ?? []);
  const deadByRequest = new Map(observed.deadLetters.filter((d) => d.requestId).map((d) => [d.requestId!, d]));
  for (const dead of observed.deadLetters) {
    const sent = dead.requestId ? model.byRequestId.get(dead.requestId) : undefined;
    if (!dead.errorCode) out.push({ invariant: '2 newest version', message: `dead letter ${dead.requestId} in ${dead.topic} has no callstream-error-code header`, ops: sent ? [sent.op.id] : [] });
    if (sent && outcomeOf(sent.attempt) === 'refused') out.push({ invariant: '3 no other rows', message: `the refused request ${describe(sent)} reached the events topic (dead-lettered: ${dead.errorCode})`, ops: [sent.op.id] });
  }

  for (const km of model.keys.values()) {
    if (erased.has(km.key)) continue; // (6): gone, or (a callback of a refused call) either way
    const rows = rowsByKey.get(km.key) ?? [];
    const newest = km.newest;
    const dead = [...km.sameBody].map((id) => deadByRequest.get(id)).find(Boolean);
    if (dead) continue; // the newest version is parked with its reason; an older row (or none) may stand
    if (rows.length === 0) {
      out.push({ invariant: '2 newest version', message: `${km.key}: acknowledged ${km.acknowledged}x, newest ${describe(newest)}, but no row and no dead letter`, ops: [newest.op.id] });
      continue;
    }
    if (rows.length > 1) continue; // reported under (3)
    const row = rows[0];
    const source = model.byRequestId.get(row.requestId);
    const sameVersion = km.sameBody.has(row.requestId) || (!source && holdsBody(row, newest.op));
    if (!sameVersion) {
      const from = source ? describe(source) : `request ${row.requestId} that got no answer`;
      out.push({ invariant: '2 newest version', message: `${km.key}: the row holds ${from}, but the newest acknowledged version is ${describe(newest)}`, ops: [newest.op.id, ...(source ? [source.op.id] : [])] });
    } else if (!holdsBody(row, newest.op)) {
      out.push({ invariant: '2 newest version', message: `${km.key}: the row of ${describe(newest)} does not hold the body sent: ${firstDifference(row.content, newest.op.request.body)}`, ops: [newest.op.id] });
    }
  }

  for (const [key, rows] of rowsByKey) {
    if (rows.length > 1) out.push({ invariant: '3 no other rows', message: `${key} has ${rows.length} rows`, ops: [] });
    if (!model.keys.has(key)) {
      const sources = rows.map((r) => model.byRequestId.get(r.requestId));
      const what = sources.map((s, i) => (s ? describe(s) : `request ${rows[i].requestId} that got no answer`)).join('; ');
      out.push({ invariant: '3 no other rows', message: `row for ${key}, a key never acknowledged, from ${what}`, ops: sources.filter((s): s is Sent => Boolean(s)).map((s) => s.op.id) });
    }
  }
}

function checkStatuses(results: OpResult[], windows: FaultWindow[], t0: number, out: Violation[]): void {
  const outside: string[] = [];
  const ops: number[] = [];
  for (const { op, attempts } of results) {
    for (const a of attempts) {
      if (!answered(a) || a.status < 500) continue;
      const at = `#${op.id} ${op.label} at +${((a.sentAt - t0) / 1000).toFixed(3)}s..+${((a.answeredAt - t0) / 1000).toFixed(3)}s`;
      if (a.status !== 503) {
        out.push({ invariant: '5 server errors', message: `${a.status} ${a.code ?? ''} for ${at}`, ops: [op.id] });
      } else if (!windows.some((w) => a.sentAt <= w.to && a.answeredAt >= w.from)) {
        outside.push(`${at} (${a.code})`);
        ops.push(op.id);
      }
    }
  }
  if (outside.length > 0) {
    out.push({ invariant: '5 server errors', message: `${outside.length} answers 503 outside every broker/receiver restart: ${outside.slice(0, 8).join('; ')}${outside.length > 8 ? '; ...' : ''}`, ops: [...new Set(ops)].slice(0, 20) });
  }
}

function checkAnswers(results: OpResult[], out: Violation[]): void {
  for (const { op, attempts, final } of results) {
    const e = op.expect;
    const wanted = `${e.status}${e.code ? ` ${e.code}` : ''}${e.path ? ` @${e.path}` : e.pathPrefix ? ` @${e.pathPrefix}…` : ''}`;
    const got = answered(final) ? `${final.status}${final.code ? ` ${final.code}` : ''}${final.path ? ` @${final.path}` : ''}` : `no answer (${final.status})`;
    const what = op.nasty ? `nasty ${op.nasty}` : e.status < 300 ? 'delivery' : 'refusal';
    if (!answered(final)) {
      if (e.status < 300) out.push({ invariant: 'answers', message: `${what} #${op.id} ${op.label}: never answered in ${attempts.length} attempts (last: ${final.status})`, ops: [op.id] });
      continue;
    }
    const pathOk = (e.path === undefined || final.path === e.path) && (e.pathPrefix === undefined || (final.path ?? '').startsWith(e.pathPrefix));
    if (final.status !== e.status || (e.code !== undefined && final.code !== e.code) || !pathOk) {
      out.push({ invariant: 'answers', message: `${what} #${op.id} ${op.label}: expected ${wanted}, got ${got}${attempts.length > 1 ? ` after ${attempts.length} attempts` : ''}`, ops: [op.id] });
    }
  }
}

export function check(results: OpResult[], model: Model, observed: Observed, windows: FaultWindow[], t0: number): Violation[] {
  const out: Violation[] = [];
  checkAudit(results, model, observed, out);
  checkRows(model, observed, out);
  checkErasures(results, model, observed, out);
  if (!observed.lag.ok) {
    const behind = observed.lag.progress.flatMap((p) => p.perPartition.filter((q) => q.committed !== q.end).map((q) => `${p.topic}/${q.partition} committed ${q.committed} of ${q.end}`));
    out.push({ invariant: '4 lag', message: `the consumer lag did not return to 0: ${behind.join(', ') || 'progress unreadable'}`, ops: [] });
  }
  checkStatuses(results, windows, t0, out);
  checkAnswers(results, out);
  return out;
}
