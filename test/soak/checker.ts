import type { Op } from './ops.js';
import type { FaultWindow } from './faults.js';
import { canonicalJson } from './json-canonical.js';
import { isSample, outcomeOf, type Model, type Sent } from './model.js';
import type { AuditRecord, DeadLetter, Progress, StoredRow } from './observe.js';
import type { Flow } from './payloads.js';
import { answered, type OpResult } from './sender.js';

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
 * and every delivery got the answer the contract names (the nasty classes among them).
 */

export type Invariant = '1 audit' | '2 newest version' | '3 no other rows' | '4 lag' | '5 server errors' | 'answers';

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

function checkRows(model: Model, observed: Observed, out: Violation[]): void {
  const rowsByKey = groupBy(observed.rows, (r) => r.key);
  const deadByRequest = new Map(observed.deadLetters.filter((d) => d.requestId).map((d) => [d.requestId!, d]));
  for (const dead of observed.deadLetters) {
    const sent = dead.requestId ? model.byRequestId.get(dead.requestId) : undefined;
    if (!dead.errorCode) out.push({ invariant: '2 newest version', message: `dead letter ${dead.requestId} in ${dead.topic} has no callstream-error-code header`, ops: sent ? [sent.op.id] : [] });
    if (sent && outcomeOf(sent.attempt) === 'refused') out.push({ invariant: '3 no other rows', message: `the refused request ${describe(sent)} reached the events topic (dead-lettered: ${dead.errorCode})`, ops: [sent.op.id] });
  }

  for (const km of model.keys.values()) {
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
  if (!observed.lag.ok) {
    const behind = observed.lag.progress.flatMap((p) => p.perPartition.filter((q) => q.committed !== q.end).map((q) => `${p.topic}/${q.partition} committed ${q.committed} of ${q.end}`));
    out.push({ invariant: '4 lag', message: `the consumer lag did not return to 0: ${behind.join(', ') || 'progress unreadable'}`, ops: [] });
  }
  checkStatuses(results, windows, t0, out);
  checkAnswers(results, out);
  return out;
}
