import { expect } from 'vitest';
import type { Warehouse } from '../../src/warehouse/index.js';
import type { ContractSender } from './contract-sender.js';

/**
 * The reliability promise: every acknowledged event is in call_events exactly once per
 * key, with its newest acknowledged version, and nothing else is.
 */
export async function expectExactlyAcknowledged(warehouse: Warehouse, sender: ContractSender): Promise<void> {
  const rows = await warehouse.query(
    "SELECT call_id, count(*) AS n, max(CAST(extracted_data->>'version' AS INTEGER)) AS version FROM call_events WHERE event_type = 'call.completed' GROUP BY call_id",
  );
  const stored = new Map(rows.map((r) => [String(r.call_id), { n: Number(r.n), version: Number(r.version) }]));
  const missing = [...sender.newest.keys()].filter((k) => !stored.has(k));
  const extra = [...stored.keys()].filter((k) => !sender.newest.has(k));
  const doubled = [...stored.entries()].filter(([, v]) => v.n !== 1).map(([k]) => k);
  const stale = [...sender.newest.entries()]
    .filter(([k, body]) => stored.get(k) && stored.get(k)!.version !== (body as { extracted_data: { version: number } }).extracted_data.version)
    .map(([k]) => k);
  expect({ missing, extra, doubled, stale }).toEqual({ missing: [], extra: [], doubled: [], stale: [] });
}

/** call.completed of call n in version v (the version is readable in SQL). */
export function versionedCall(n: number, version: number): object {
  return {
    event: 'call.completed',
    call_id: `vs_${n}`,
    voice_session_id: 500_000 + n,
    call_sid: `CA${String(n).padStart(32, '0')}`,
    tenant_id: 44,
    agent_id: 42,
    direction: 'outbound',
    from_e164: '+14155550100',
    to_e164: '+919900000001',
    extracted_data: { version, summary: 'x'.repeat(1500) },
    runtime_vars: { n },
    tool_calls: [{ name: 'crm.lookup', arguments: { n } }],
  };
}
