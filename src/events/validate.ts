import type { z } from 'zod';
import {
  callEventSchema,
  campaignEventSchema,
  complianceEventSchema,
  familyOf,
  type CallEvent,
  type CampaignEvent,
  type ComplianceEvent,
  type Family,
} from './callaro-event.js';

export type ValidEvent =
  | { family: 'call'; entityId: string; event: CallEvent }
  | { family: 'campaign'; entityId: string; event: CampaignEvent }
  | { family: 'compliance'; entityId: string; event: ComplianceEvent };

export interface FieldProblem {
  /** JSON path of the failing field, e.g. "extracted_data" or "tool_calls.3". */
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; value: ValidEvent } | { ok: false; problems: FieldProblem[] };

/**
 * Validates a parsed JSON object as a Callaro event and derives its Kafka key.
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
        ? `unknown event family "${input.event}"; expected call.*, campaign.*, compliance.* or number_health.*`
        : 'expected a string event name, e.g. "call.completed"';
    return { ok: false, problems: [{ path: 'event', message }] };
  }
  switch (family) {
    case 'call':
      return check(callEventSchema, input, family, (e) => e.call_id);
    case 'campaign':
      return check(campaignEventSchema, input, family, (e) => e.campaign_id);
    case 'compliance':
      // An empty number_e164 counts as absent, as in the schema's subject check.
      return check(complianceEventSchema, input, family, (e) => (e.number_e164 || e.call_id) as string);
  }
}

function check<S extends z.ZodType>(schema: S, input: unknown, family: Family, keyOf: (e: z.output<S>) => string): ValidationResult {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message })),
    };
  }
  return { ok: true, value: { family, entityId: keyOf(parsed.data), event: parsed.data } as ValidEvent };
}
