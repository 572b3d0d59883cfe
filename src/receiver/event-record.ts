import type { ValidEvent } from '../families/index.js';

function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

function timeOrNull(value: unknown): number | null {
  return typeof value === 'string' ? Date.parse(value) : null;
}

/**
 * The events topic's record (schemas/callaro-event.v2.avsc) for a validated event.
 * `payload` is the body text exactly as received, unknown fields included;
 * `republishedAt` is set only by `callstream replay-raw`.
 */
export function toEventRecord(valid: ValidEvent, payload: string, requestId: string, receivedAt: number, republishedAt: number | null = null): Record<string, unknown> {
  const e = valid.event as Record<string, unknown>;
  return {
    request_id: requestId,
    received_at: receivedAt,
    event: e.event,
    family: valid.family,
    entity_id: valid.entityId,
    call_id: e.call_id ?? null,
    voice_session_id: e.voice_session_id ?? null,
    call_sid: e.call_sid ?? null,
    tenant_id: e.tenant_id ?? null,
    agent_id: e.agent_id ?? null,
    campaign_id: e.campaign_id ?? null,
    number_e164: e.number_e164 ?? null,
    direction: e.direction ?? null,
    from_e164: e.from_e164 ?? null,
    to_e164: e.to_e164 ?? null,
    occurred_at: timeOrNull(e.occurred_at),
    extracted_data: jsonOrNull(e.extracted_data),
    runtime_vars: jsonOrNull(e.runtime_vars),
    tool_calls: jsonOrNull(e.tool_calls),
    payload,
    republished_at: republishedAt,
  };
}
