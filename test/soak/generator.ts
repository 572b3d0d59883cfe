import { isOperations, kindFor, type ScheduleKind, type Size, type SoakOptions } from './options.js';
import { nastyOps, refusedOps } from './nasty.js';
import { ACCEPTED, callbackKey, callKey, campaignKey, complianceKey, type Draft, type Op } from './ops.js';
import {
  billingBody,
  billingRequest,
  callaroRequest,
  callEvent,
  callSidOf,
  campaignEvent,
  complianceEvent,
  twilioParams,
  twilioRequest,
  type CallFacts,
  type HttpRequestSpec,
} from './payloads.js';
import { Rng } from './prng.js';

/**
 * One integer seed -> one schedule: the deliveries of both flows in the order they are
 * dispatched (shuffled across keys; each key's versions, duplicates and late retries in
 * their own order), the nasty inputs among them, and the faults with the delivery at
 * which each one starts. Timing (who answers first) is left to the run; what is sent is not.
 */

export type FaultAction =
  | { type: 'sink-kill'; downMs: number; /** Delay after the sink is seen committing: lands the kill in different phases of a write. */ afterMs: number }
  | { type: 'sink-restart' }
  | { type: 'rewind' }
  | { type: 'receiver-restart' }
  | { type: 'receiver-kill' }
  | { type: 'warehouse-outage'; ms: number }
  | { type: 'broker-restart'; downMs: number }
  | { type: 'leader-kill'; downMs: number }
  // Operators' actions (the operations kinds, issue 23):
  /** `callstream erase` of a subject picked from what was sent before; `twice`: run again at once (a rerun must not weaken it). */
  | { type: 'erase'; subject: ErasureSubjectKind; value: string; twice: boolean }
  /** `callstream replay --from` a time before the UTC midnight the receiver's clock crossed (the sink stopped meanwhile), for both flows' topics. */
  | { type: 'replay' }
  /** `callstream replay-raw --from --to` across that midnight. */
  | { type: 'replay-raw' }
  /** The receiver restarted gracefully onto a clock `stepMs` behind the one it had. */
  | { type: 'clock-back'; stepMs: number }
  /** A second sink writing another warehouse (DuckDB in a folder of its own) started in the group: refused, it takes no partitions. */
  | { type: 'second-sink' }
  /** A topic setting made unsafe under the running pipeline (`status` and a sink restart must say so), then restored. */
  | { type: 'topic-settings'; change: 'events-compact' | 'erasures-delete' };

export type ErasureSubjectKind = 'phone' | 'call' | 'tenant';

export interface FaultStep {
  /** Starts when delivery number `at` is dispatched (the load goes on meanwhile). */
  at: number;
  action: FaultAction;
}

export interface Schedule {
  seed: number;
  kind: ScheduleKind;
  size: Size;
  concurrency: number;
  /** Deliveries dispatched per second (an open-loop rate, bounded by `concurrency`). */
  ratePerSecond: number;
  publishTimeoutMs: number;
  ops: Op[];
  faults: FaultStep[];
  /** Operations kinds: how long after the first delivery the receiver's clock reaches a UTC midnight. */
  midnightLeadMs?: number;
}

/**
 * A key's deliveries: versions 1..k in order, some sent twice (the same bytes), and
 * sometimes a late retry of an older version's body, which arrives last and so wins.
 */
function keyStream(rng: Rng, key: string, label: string, bodyOf: (version: number) => HttpRequestSpec): Draft[] {
  const versions = rng.weighted([
    [1, 5],
    [2, 3],
    [3, 2],
  ] as const);
  const requests = new Map<number, HttpRequestSpec>();
  const request = (v: number) => requests.get(v) ?? requests.set(v, bodyOf(v)).get(v)!;
  const out: Draft[] = [];
  for (let v = 1; v <= versions; v++) {
    out.push({ key, label: `${label} v${v}`, request: request(v), expect: ACCEPTED });
    if (rng.chance(0.15)) {
      // The same bytes again: after the first copy was answered, or at the same time (at least once, no order).
      const concurrent = rng.chance(0.5);
      out.push({ key, label: `${label} v${v} dup${concurrent ? ' concurrent' : ''}`, request: request(v), expect: ACCEPTED, ...(concurrent ? { concurrent } : {}) });
    }
  }
  if (versions > 1 && rng.chance(0.25)) {
    const v = rng.int(1, versions - 1);
    out.push({ key, label: `${label} v${v} late-retry`, request: request(v), expect: ACCEPTED });
  }
  return out;
}

const TWILIO_LIFECYCLES = [['ringing', 'in-progress', 'completed'], ['ringing', 'no-answer'], ['ringing', 'failed'], ['completed']];

/** Valid deliveries of both flows, as one stream per key. */
function validStreams(rng: Rng, size: Size, calls: CallFacts[], tenantOf?: (call: CallFacts) => unknown): Draft[][] {
  const scale = size === 'small' ? 1 : 8;
  const streams: Draft[][] = [];
  for (const call of calls) {
    // A tenth of the bodies come gzip-compressed (the audit and the row keep the decompressed text).
    const maybeGzip = (request: HttpRequestSpec): HttpRequestSpec => (rng.chance(0.1) ? { ...request, gzip: true } : request);
    // Operations kinds: a call stays in one tenant (its ids are bound to it, as erasures are); else any version may name any.
    const tenant = tenantOf ? { tenant_id: tenantOf(call) } : {};
    streams.push(keyStream(rng, callKey(call.callId, 'call.completed'), `call.completed ${call.callId}`, (v) => maybeGzip(callaroRequest(JSON.stringify(callEvent(call, 'call.completed', v, rng, tenant))))));
    if (rng.chance(0.25)) {
      const event = rng.pick(['call.started', 'call.analyzed', 'call.transferred']);
      streams.push(keyStream(rng, callKey(call.callId, event), `${event} ${call.callId}`, (v) => callaroRequest(JSON.stringify(callEvent(call, event, v, rng, tenant)))));
    }
    if (rng.chance(0.4)) {
      for (const status of rng.pick(TWILIO_LIFECYCLES)) {
        streams.push(
          keyStream(rng, callbackKey('twilio', call.callSid, status), `twilio ${call.callId} ${status}`, (v) => twilioRequest(twilioParams(call.callSid, status, v, rng))),
        );
      }
    }
    if (rng.chance(0.15)) {
      const status = rng.pick(['charged', 'refunded']);
      streams.push(keyStream(rng, callbackKey('billing', call.callSid, status), `billing ${call.callId} ${status}`, (v) => billingRequest(JSON.stringify(billingBody(call.callSid, status, v)))));
    }
  }
  for (let i = 0; i < rng.int(3, 6) * scale; i++) {
    const id = `cmp${i}`;
    const event = rng.pick(['campaign.started', 'campaign.paused', 'campaign.completed']);
    streams.push(keyStream(rng, campaignKey(id, event), `${event} ${id}`, (v) => callaroRequest(JSON.stringify(campaignEvent(id, event, v, rng)))));
  }
  for (let i = 0; i < rng.int(3, 6) * scale; i++) {
    const byNumber = rng.chance(0.6);
    const subject = byNumber ? { number: `+1415555${String(i).padStart(4, '0')}` } : { callId: rng.pick(calls).callId };
    const event = byNumber ? rng.pick(['number_health.flagged', 'number_health.spam_likely']) : rng.pick(['compliance.dnc_hit', 'compliance.consent_missing']);
    const id = subject.number ?? subject.callId!;
    streams.push(keyStream(rng, complianceKey(id, event), `${event} ${id}`, (v) => callaroRequest(JSON.stringify(complianceEvent(subject, event, v, rng)))));
  }
  return streams;
}

/** Merges the key streams at random, keeping each stream's own order. */
function interleave<T>(rng: Rng, streams: T[][]): T[] {
  const queues = streams.map((s) => [...s]).filter((s) => s.length > 0);
  const out: T[] = [];
  while (queues.length > 0) {
    const total = queues.reduce((n, q) => n + q.length, 0);
    let r = rng.int(0, total - 1);
    const i = queues.findIndex((q) => (r -= q.length) < 0);
    out.push(queues[i].shift()!);
    if (queues[i].length === 0) queues.splice(i, 1);
  }
  return out;
}

const CHARACTERISTIC: Record<ScheduleKind, FaultAction['type']> = {
  process: 'sink-kill',
  warehouse: 'warehouse-outage',
  broker: 'broker-restart',
  cluster: 'leader-kill',
  operations: 'erase',
  'operations-staged': 'erase',
};

const OPERATIONS_MIX: ReadonlyArray<readonly [FaultAction['type'], number]> = [
  ['erase', 3],
  ['replay', 2],
  ['replay-raw', 2],
  ['clock-back', 2],
  ['second-sink', 1],
  ['topic-settings', 1],
];

const FAULT_MIX: Record<ScheduleKind, ReadonlyArray<readonly [FaultAction['type'], number]>> = {
  process: [['sink-kill', 3], ['sink-restart', 1], ['rewind', 1], ['receiver-restart', 1], ['receiver-kill', 1]],
  warehouse: [['warehouse-outage', 3], ['sink-restart', 1], ['rewind', 1], ['receiver-restart', 1]],
  broker: [['broker-restart', 3], ['sink-kill', 1], ['rewind', 1], ['receiver-restart', 1], ['receiver-kill', 1]],
  cluster: [['leader-kill', 3], ['sink-kill', 1], ['receiver-restart', 1]],
  operations: OPERATIONS_MIX,
  'operations-staged': OPERATIONS_MIX,
};

function faultAction(rng: Rng, type: FaultAction['type']): FaultAction {
  switch (type) {
    case 'sink-kill':
      return { type, downMs: rng.int(0, 2000), afterMs: rng.int(0, 400) };
    case 'warehouse-outage':
      return { type, ms: rng.int(1500, 5000) };
    case 'broker-restart':
      return { type, downMs: rng.int(1000, 4000) };
    case 'leader-kill':
      return { type, downMs: rng.int(2000, 6000) };
    case 'clock-back':
      return { type, stepMs: rng.pick([60_000, 3_600_000, 6 * 3_600_000]) };
    case 'topic-settings':
      return { type, change: rng.pick(['events-compact', 'erasures-delete'] as const) };
    case 'erase':
      return { type, subject: 'call', value: '', twice: false }; // the subject is picked once the fault has its place (operationsFaults)
    default:
      return { type } as FaultAction;
  }
}

function faultSteps(rng: Rng, kind: ScheduleKind, size: Size, opCount: number): FaultStep[] {
  if (isOperations(kind)) return operationsSteps(rng, size, opCount);
  const count = size === 'small' ? rng.int(2, 3) : rng.int(5, 8);
  const positions = new Set<number>();
  while (positions.size < count) positions.add(rng.int(Math.floor(opCount * 0.1), Math.floor(opCount * 0.85)));
  return [...positions]
    .sort((a, b) => a - b)
    .map((at, i) => ({ at, action: faultAction(rng, i === 0 ? CHARACTERISTIC[kind] : rng.weighted(FAULT_MIX[kind])) }));
}

/**
 * Operators' actions: an erase first (early: what it erases is redelivered afterwards), the
 * others after it. Replays and the clock step wait for the receiver's clock to pass midnight
 * (placed from 55 % of the stream on, the midnight at about 30 %).
 */
function operationsSteps(rng: Rng, size: Size, opCount: number): FaultStep[] {
  const count = size === 'small' ? rng.int(3, 4) : rng.int(6, 9);
  const actions = [faultAction(rng, 'erase'), ...Array.from({ length: count - 1 }, () => faultAction(rng, rng.weighted(OPERATIONS_MIX)))];
  const late = (a: FaultAction) => a.type === 'replay' || a.type === 'replay-raw' || a.type === 'clock-back';
  const positions = new Set<number>();
  return actions
    .map((action, i) => {
      const [lo, hi] = i === 0 ? [0.1, 0.3] : late(action) ? [0.55, 0.9] : [0.3, 0.85];
      let at: number;
      do at = rng.int(Math.floor(opCount * lo), Math.floor(opCount * hi));
      while (positions.has(at));
      positions.add(at);
      return { at, action };
    })
    .sort((a, b) => a.at - b.at);
}

interface Subjects {
  phones: string[];
  callIds: string[];
  tenants: string[];
}

/** What a delivery names that an erasure can be about: its call's numbers, its call id, its tenant. */
function subjectsOf(draft: Draft): Subjects {
  const out: Subjects = { phones: [], callIds: [], tenants: [] };
  if (draft.request.flow !== 'callaro' || draft.expect.status >= 300 || !draft.key) return out;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(draft.request.body) as Record<string, unknown>;
  } catch {
    return out;
  }
  if (typeof body !== 'object' || body === null) return out;
  // Not from_e164: every call of a schedule has the same caller, whose erasure would leave nothing to check.
  for (const field of ['to_e164', 'number_e164']) if (typeof body[field] === 'string' && /^\+[1-9]\d{6,14}$/.test(body[field] as string)) out.phones.push(body[field] as string);
  if (typeof body.call_id === 'string' && /^c\d+$/.test(body.call_id)) out.callIds.push(body.call_id);
  if (body.tenant_id !== undefined && body.tenant_id !== null && draft.key.startsWith('call_events/')) out.tenants.push(String(Number(body.tenant_id)));
  return out;
}

const mentions = (draft: Draft, kind: ErasureSubjectKind, value: string) => {
  const s = subjectsOf(draft);
  return (kind === 'phone' ? s.phones : kind === 'call' ? s.callIds : s.tenants).includes(value);
};

/**
 * Gives each erase its subject, picked from the deliveries before it (a number, a call, a
 * tenant), and adds after it deliveries about that subject: redeliveries of what was sent, a
 * late new version, a late callback of the call. None of them may be stored.
 */
function placeErasures(rng: Rng, merged: Draft[], faults: FaultStep[]): Draft[] {
  const list = [...merged];
  for (let i = 0; i < faults.length; i++) {
    const step = faults[i];
    if (step.action.type !== 'erase') continue;
    const before = list.slice(0, step.at).map(subjectsOf);
    const pool = { phone: before.flatMap((s) => s.phones), call: before.flatMap((s) => s.callIds), tenant: before.flatMap((s) => s.tenants) };
    const kinds = (['phone', 'call', 'tenant'] as const).filter((k) => pool[k].length > 0);
    if (kinds.length === 0) continue;
    const subject = rng.pick([...kinds, ...kinds.filter((k) => k !== 'tenant')]); // tenants erase a lot: half as often
    let value = rng.pick(pool[subject]);
    if (subject === 'tenant' && pool.tenant.includes('45') && rng.chance(0.8)) value = '45';
    step.action = { type: 'erase', subject, value, twice: rng.chance(0.35) };
    const about = list.slice(0, step.at).filter((d) => mentions(d, subject, value));
    const extra: Draft[] = [];
    for (let n = rng.int(2, 4); n > 0 && about.length > 0; n--) {
      const d = rng.pick(about);
      extra.push({ key: d.key, label: `${d.label} after-erase`, request: d.request, expect: d.expect });
    }
    const call = about.map((d) => /^call_events\/(c(\d+))\//.exec(d.key ?? '')).find(Boolean);
    if (call) {
      const facts: CallFacts = { n: Number(call[2]), callId: call[1], callSid: callSidOf(Number(call[2])) };
      const body = JSON.parse(about.find((d) => d.key?.startsWith(`call_events/${facts.callId}/`))!.request.body) as Record<string, unknown>;
      extra.push({
        key: callKey(facts.callId, 'call.completed'),
        label: `call.completed ${facts.callId} v9 late-after-erase`,
        request: callaroRequest(JSON.stringify(callEvent(facts, 'call.completed', 9, rng, { tenant_id: body.tenant_id, to_e164: body.to_e164 }))),
        expect: ACCEPTED,
      });
      extra.push({ key: callbackKey('twilio', facts.callSid, 'completed'), label: `twilio ${facts.callId} completed late-after-erase`, request: twilioRequest(twilioParams(facts.callSid, 'completed', 9, rng)), expect: ACCEPTED });
    }
    for (const draft of extra) {
      const pos = rng.int(step.at + 1, list.length);
      list.splice(pos, 0, draft);
      for (const later of faults) if (later !== step && later.at >= pos) later.at++;
    }
  }
  return list;
}

export function generateSchedule(seed: number, options: Pick<SoakOptions, 'size' | 'nasty' | 'cluster' | 'kind'>): Schedule {
  const rng = new Rng(seed);
  const kind = kindFor(seed, options);
  const { size } = options;
  const callCount = size === 'small' ? rng.int(25, 40) : rng.int(250, 350);
  const facts = (n: number): CallFacts => ({ n, callId: `c${n}`, callSid: callSidOf(n) });
  const calls = Array.from({ length: callCount }, (_, n) => facts(n));
  let next = callCount;
  const fresh = () => facts(next++);

  const operations = isOperations(kind);
  // Operations kinds: one call in five belongs to tenant 45, the others to 44 (sent as a number or a string).
  const streams = validStreams(rng.fork(), size, calls, operations ? (call) => (call.n % 5 === 0 ? 45 : call.n % 2 === 0 ? 44 : '44') : undefined);
  const nasty = nastyOps(rng.fork(), size, calls, fresh);
  const refused = refusedOps(rng.fork(), calls, fresh);
  // Nasty and refused deliveries join at random places; those with a key stay in its order.
  let merged = interleave(rng, [...streams, ...[...nasty, ...refused].map((op) => [op])]);
  const enabled = (op: Draft) => op.nasty === undefined || options.nasty.has(op.nasty);
  const drawn = faultSteps(rng, kind, size, merged.length);
  if (operations) merged = placeErasures(rng.fork(), merged, drawn);
  const ops = merged.filter(enabled).map((op, id) => ({ id, ...op }));
  // Fault positions are drawn over the whole stream and then mapped onto the enabled deliveries,
  // so switching a nasty class off leaves every fault where it was among the others.
  const keptBefore = (index: number) => merged.slice(0, index).filter(enabled).length;
  const faults = drawn.map((f) => ({ ...f, at: keptBefore(f.at) }));
  const concurrency = rng.int(4, 12);
  const ratePerSecond = size === 'small' ? rng.int(15, 30) : rng.int(40, 80);
  return {
    seed,
    kind,
    size,
    concurrency,
    ratePerSecond,
    publishTimeoutMs: kind === 'broker' || kind === 'cluster' ? 2000 : 5000,
    ops,
    faults,
    ...(operations ? { midnightLeadMs: Math.round(((ops.length * 0.3) / ratePerSecond) * 1000) } : {}),
  };
}
