import { kindFor, type ScheduleKind, type Size, type SoakOptions } from './options.js';
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
  | { type: 'leader-kill'; downMs: number };

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
function validStreams(rng: Rng, size: Size, calls: CallFacts[]): Draft[][] {
  const scale = size === 'small' ? 1 : 8;
  const streams: Draft[][] = [];
  for (const call of calls) {
    // A tenth of the bodies come gzip-compressed (the audit and the row keep the decompressed text).
    const maybeGzip = (request: HttpRequestSpec): HttpRequestSpec => (rng.chance(0.1) ? { ...request, gzip: true } : request);
    streams.push(keyStream(rng, callKey(call.callId, 'call.completed'), `call.completed ${call.callId}`, (v) => maybeGzip(callaroRequest(JSON.stringify(callEvent(call, 'call.completed', v, rng))))));
    if (rng.chance(0.25)) {
      const event = rng.pick(['call.started', 'call.analyzed', 'call.transferred']);
      streams.push(keyStream(rng, callKey(call.callId, event), `${event} ${call.callId}`, (v) => callaroRequest(JSON.stringify(callEvent(call, event, v, rng)))));
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
};

const FAULT_MIX: Record<ScheduleKind, ReadonlyArray<readonly [FaultAction['type'], number]>> = {
  process: [['sink-kill', 3], ['sink-restart', 1], ['rewind', 1], ['receiver-restart', 1], ['receiver-kill', 1]],
  warehouse: [['warehouse-outage', 3], ['sink-restart', 1], ['rewind', 1], ['receiver-restart', 1]],
  broker: [['broker-restart', 3], ['sink-kill', 1], ['rewind', 1], ['receiver-restart', 1], ['receiver-kill', 1]],
  cluster: [['leader-kill', 3], ['sink-kill', 1], ['receiver-restart', 1]],
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
    default:
      return { type };
  }
}

function faultSteps(rng: Rng, kind: ScheduleKind, size: Size, opCount: number): FaultStep[] {
  const count = size === 'small' ? rng.int(2, 3) : rng.int(5, 8);
  const positions = new Set<number>();
  while (positions.size < count) positions.add(rng.int(Math.floor(opCount * 0.1), Math.floor(opCount * 0.85)));
  return [...positions]
    .sort((a, b) => a - b)
    .map((at, i) => ({ at, action: faultAction(rng, i === 0 ? CHARACTERISTIC[kind] : rng.weighted(FAULT_MIX[kind])) }));
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

  const streams = validStreams(rng.fork(), size, calls);
  const nasty = nastyOps(rng.fork(), size, calls, fresh);
  const refused = refusedOps(rng.fork(), calls, fresh);
  // Nasty and refused deliveries join at random places; those with a key stay in its order.
  const merged = interleave(rng, [...streams, ...[...nasty, ...refused].map((op) => [op])]);
  const enabled = (op: Draft) => op.nasty === undefined || options.nasty.has(op.nasty);
  const ops = merged.filter(enabled).map((op, id) => ({ id, ...op }));
  // Fault positions are drawn over the whole stream and then mapped onto the enabled deliveries,
  // so switching a nasty class off leaves every fault where it was among the others.
  const keptBefore = (index: number) => merged.slice(0, index).filter(enabled).length;
  const faults = faultSteps(rng, kind, size, merged.length).map((f) => ({ ...f, at: keptBefore(f.at) }));
  return {
    seed,
    kind,
    size,
    concurrency: rng.int(4, 12),
    ratePerSecond: size === 'small' ? rng.int(15, 30) : rng.int(40, 80),
    publishTimeoutMs: kind === 'broker' || kind === 'cluster' ? 2000 : 5000,
    ops,
    faults,
  };
}
