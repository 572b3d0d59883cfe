import type { Op } from './ops.js';
import type { Flow } from './payloads.js';
import { answered, isAck, type Attempt, type OpResult } from './sender.js';

/**
 * The model: what the warehouse must hold after a schedule, from the answers alone.
 *
 * The receiver orders a key's versions by receipt (received_at, stamped on arrival, and the
 * broker's order, which follows it because a key's deliveries go out one at a time). So
 * a key's newest version is the body of its 2xx-answered request that arrived last;
 * a late retry of an older body that arrives last wins, as Callaro's contract implies.
 *
 * An answer is one of three outcomes: acknowledged (2xx), refused (any other status but
 * 503: never stored), or indeterminate (503, or no answer at all: it may or may not
 * have been stored, as Jepsen would say of a timeout).
 */

export type Outcome = 'acknowledged' | 'refused' | 'indeterminate';

export function outcomeOf(a: Attempt): Outcome {
  if (isAck(a)) return 'acknowledged';
  if (answered(a) && a.status !== 503) return 'refused';
  return 'indeterminate';
}

export const isSample = (op: Op) => op.request.path.endsWith('/sample');

export interface Sent {
  op: Op;
  attempt: Attempt;
}

export interface KeyModel {
  key: string;
  /** The acknowledged request that arrived last: the row must hold its body. */
  newest: Sent;
  /** Request ids that carry that same body, acknowledged or indeterminate: the row may come from any of them. */
  sameBody: Set<string>;
  acknowledged: number;
}

export interface Model {
  /** Every key with at least one acknowledged delivery. */
  keys: Map<string, KeyModel>;
  /** Every attempt that was answered with a request id. */
  byRequestId: Map<string, Sent>;
  /** Attempts without an answer, per flow: each may have left one audit record nobody knows the id of. */
  unanswered: Record<Flow, number>;
}

export function buildModel(results: OpResult[]): Model {
  const byRequestId = new Map<string, Sent>();
  const unanswered: Record<Flow, number> = { callaro: 0, telephony: 0 };
  const byKey = new Map<string, Sent[]>();
  for (const { op, attempts } of results) {
    for (const attempt of attempts) {
      if (attempt.requestId) byRequestId.set(attempt.requestId, { op, attempt });
      if (!answered(attempt)) unanswered[op.request.flow]++;
      if (op.key && !isSample(op)) {
        const list = byKey.get(op.key) ?? [];
        list.push({ op, attempt });
        byKey.set(op.key, list);
      }
    }
  }
  const keys = new Map<string, KeyModel>();
  for (const [key, sent] of byKey) {
    const acked = sent.filter((s) => outcomeOf(s.attempt) === 'acknowledged').sort((a, b) => a.attempt.sentAt - b.attempt.sentAt);
    if (acked.length === 0) continue;
    const newest = acked[acked.length - 1];
    const sameBody = new Set(
      sent.filter((s) => s.op.request.body === newest.op.request.body && outcomeOf(s.attempt) !== 'refused' && s.attempt.requestId).map((s) => s.attempt.requestId!),
    );
    keys.set(key, { key, newest, sameBody, acknowledged: acked.length });
  }
  return { keys, byRequestId, unanswered };
}
