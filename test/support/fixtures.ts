import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The canonical call.completed example the README posts. */
export function exampleCallCompleted(): Record<string, unknown> {
  return JSON.parse(readFileSync(fileURLToPath(new URL('../../examples/call-completed.json', import.meta.url)), 'utf8'));
}

/** A CallaroEvent record as the receiver publishes it. */
export function sampleEventRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    request_id: '5f0c1f3e-0000-4000-8000-000000000001',
    received_at: 1_764_230_400_000,
    event: 'call.completed',
    family: 'call',
    entity_id: 'vs_12345',
    call_id: 'vs_12345',
    voice_session_id: 9001,
    call_sid: 'CA123',
    tenant_id: 44,
    agent_id: 42,
    campaign_id: null,
    number_e164: null,
    direction: 'outbound',
    from_e164: '+14155550100',
    to_e164: '+919900000001',
    occurred_at: null,
    extracted_data: '{}',
    runtime_vars: '{}',
    tool_calls: '[]',
    payload: '{"event":"call.completed","call_id":"vs_12345"}',
    republished_at: null,
    ...overrides,
  };
}

/** A TelephonyCallback record as the receiver publishes it (a Twilio status callback). */
export function sampleCallbackRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    request_id: '5f0c1f3e-0000-4000-8000-000000000002',
    received_at: 1_764_230_400_000,
    vendor_slug: 'twilio',
    content_type: 'application/x-www-form-urlencoded',
    provider_call_id: 'CA1',
    callback_status: 'completed',
    call_sid: 'CA1',
    occurred_at: null,
    fields: '{"CallSid":"CA1","CallStatus":"completed"}',
    raw_body: Buffer.from('CallSid=CA1&CallStatus=completed'),
    ...overrides,
  };
}

/** A call.completed payload for call `n` (distinct calls, realistic shape). */
export function callCompleted(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event: 'call.completed',
    call_id: `vs_${n}`,
    voice_session_id: 100_000 + n,
    call_sid: `CA${n.toString(16).padStart(32, '0')}`,
    tenant_id: 44,
    agent_id: 42,
    direction: n % 2 === 0 ? 'outbound' : 'inbound',
    from_e164: '+14155550100',
    to_e164: `+9199${String(n).padStart(8, '0')}`,
    extracted_data: { intent: 'book_demo', n },
    runtime_vars: { attempt: 1 },
    tool_calls: [{ name: 'crm.lookup', arguments: { n } }],
    ...overrides,
  };
}
