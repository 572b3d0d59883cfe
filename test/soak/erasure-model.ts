/**
 * The erasures' part of the model: which rows an erasure covers, written from docs/privacy.md
 * (not from src/erasure/), over what the checker sees of a row (its table, key and content).
 *
 * An erasure as recorded on the erasures topic names numbers, call ids, telephony call ids
 * (sids) and tenants; a call's ids are bound to the tenants of the calls it resolved to
 * (callTenants, absent for an erasure of a call id: any tenant). It covers
 * - call_events whose call_id or call_sid is one of its calls (in one of their tenants), whose
 *   from_e164 or to_e164 is one of its numbers, or whose tenant is one of its tenants;
 * - compliance_events whose subject or number_e164 is one of its numbers, whose subject or
 *   call_id is one of its calls (in their tenant), or whose tenant is one of its tenants;
 * - campaign_events of its tenants; telephony_callbacks whose provider call id is one of its sids.
 * The sink also refuses, while it runs, the callbacks of calls it refused after the erasure (the
 * calls of an erased number or tenant it had not seen yet): such rows may go either way.
 */

export interface RecordedErasure {
  key: string;
  phones: string[];
  callIds: string[];
  callSids: string[];
  tenants: number[];
  callTenants?: number[];
}

export interface RowFacts {
  table: string;
  callId?: string;
  callSid?: string;
  phones: string[];
  tenant?: number;
  /** compliance_events: the subject (a number or a call id). */
  subject?: string;
}

function json(content: string): Record<string, unknown> {
  try {
    const v = JSON.parse(content) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown) => (v === undefined || v === null || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v));

/** What a row (its key "table/k1/k2..." and its stored or sent content) names. */
export function rowFacts(key: string, content: string): RowFacts {
  const [table, ...parts] = key.split('/');
  switch (table) {
    case 'call_events': {
      const b = json(content);
      return { table, callId: parts[0], callSid: str(b.call_sid), phones: [str(b.from_e164), str(b.to_e164)].filter((p): p is string => Boolean(p)), tenant: num(b.tenant_id) };
    }
    case 'compliance_events': {
      const b = json(content);
      return { table, subject: parts[0], callId: str(b.call_id), phones: [str(b.number_e164)].filter((p): p is string => Boolean(p)), tenant: num(b.tenant_id) };
    }
    case 'campaign_events':
      return { table, phones: [], tenant: num(json(content).tenant_id) };
    case 'telephony_callbacks':
      return { table, callSid: parts[1], phones: [] };
    default:
      return { table, phones: [] };
  }
}

/** Whether the erasure covers a row with these facts. */
export function covers(e: RecordedErasure, f: RowFacts): boolean {
  const ownTenant = f.tenant === undefined || !e.callTenants || e.callTenants.includes(f.tenant);
  const call = (id: string | undefined) => id !== undefined && e.callIds.includes(id) && ownTenant;
  const sid = (id: string | undefined) => id !== undefined && e.callSids.includes(id) && (f.table === 'telephony_callbacks' || ownTenant);
  const phone = f.phones.some((p) => e.phones.includes(p));
  const tenant = f.tenant !== undefined && e.tenants.includes(f.tenant);
  switch (f.table) {
    case 'call_events':
      return call(f.callId) || sid(f.callSid) || phone || tenant;
    case 'compliance_events':
      return phone || (f.subject !== undefined && e.phones.includes(f.subject)) || call(f.subject) || call(f.callId) || tenant;
    case 'campaign_events':
      return tenant;
    case 'telephony_callbacks':
      return sid(f.callSid);
    default:
      return false;
  }
}

/** The erasures in force at the end: the last record per key of the erasures topic (a tombstone lifts one). */
export function erasuresInForce(records: Array<{ key: string; value: Buffer }>): RecordedErasure[] {
  const last = new Map<string, RecordedErasure | null>();
  for (const r of records) {
    if (r.value.length === 0) {
      last.set(r.key, null);
      continue;
    }
    const v = JSON.parse(r.value.toString('utf8')) as Partial<RecordedErasure>;
    last.set(r.key, { key: r.key, phones: v.phones ?? [], callIds: v.callIds ?? [], callSids: v.callSids ?? [], tenants: (v.tenants ?? []).map(Number), callTenants: v.callTenants?.map(Number) });
  }
  return [...last.values()].filter((e): e is RecordedErasure => e !== null);
}
