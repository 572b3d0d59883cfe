import type { z } from 'zod';
import type { Family, FieldProblem } from '../events/index.js';
import type { FamilyDescriptor } from './family.js';
import { expectedEventNames, familyOf, FAMILY_DESCRIPTORS } from './families.js';

/** A valid Callaro event: its family, its Kafka key and the event as its family's schema parsed it. */
export type ValidEvent = {
  [F in Family]: { family: F; entityId: string; event: z.output<(typeof FAMILY_DESCRIPTORS)[F]['schema']> };
}[Family];

export type ValidationResult = { ok: true; value: ValidEvent } | { ok: false; problems: FieldProblem[] };

/**
 * Validates a parsed JSON object as a Callaro event and derives its Kafka key, by the
 * descriptor of the family its event name names (src/families/<family>.ts).
 *
 * The key rule (docs/data.md, "Event families, keys and tables"): call.* events are keyed by
 * call_id, campaign.* by campaign_id, compliance.* and number_health.* by number_e164 (falling
 * back to call_id for call-level compliance events).
 */
export function validateCallaroEvent(input: Record<string, unknown>): ValidationResult {
  const family = familyOf(input.event);
  if (family === undefined) {
    const message =
      typeof input.event === 'string'
        ? `unknown event family "${input.event}"; expected ${expectedEventNames()}`
        : 'expected a string event name, e.g. "call.completed"';
    return { ok: false, problems: [{ path: 'event', message }] };
  }
  return check(FAMILY_DESCRIPTORS[family], input);
}

function check(descriptor: FamilyDescriptor, input: unknown): ValidationResult {
  const parsed = descriptor.schema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message })),
    };
  }
  return { ok: true, value: { family: descriptor.family, entityId: descriptor.key(parsed.data), event: parsed.data } as ValidEvent };
}
