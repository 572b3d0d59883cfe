import type { PiiPolicy } from '../privacy/pii.js';
import { CALL_EVENTS, COMPLIANCE_EVENTS, TABLES, TELEPHONY_CALLBACKS, type Warehouse } from '../warehouse/index.js';
import { erasureKey, mergeErasures, tableMatch, type Erasure, type ErasureScope, type ErasureSubject } from './erasure.js';

/** What an erasure needs: the warehouse, how numbers are stored, and where it is recorded. */
export interface EraseDeps {
  warehouse: Warehouse;
  pii: PiiPolicy;
  /** Records the erasure durably (the erasures topic) and makes the sink honour it; before any row is deleted. */
  record(erasure: Erasure): Promise<void>;
  /**
   * The erasure in force under a key (the erasures topic's latest record for it): a rerun merges
   * with it, so an erasure only ever grows. Absent: nothing to merge with (a dry run from here).
   */
  recorded?(key: string): Promise<Erasure | undefined>;
  /**
   * Set when a sink may run in another process (it honours the erasure once it has read the
   * record): after this long the rows are deleted once more, catching any it wrote meanwhile.
   */
  settleMs?: number;
  /**
   * Set when the sink runs in this process: resolves once it has written every row it took in
   * before the erasure was recorded (rows checked against the erasures before it, still in a
   * write or its buffer). The rows are deleted after it, so none of those lands after the DELETE.
   */
  settle?(): Promise<void>;
}

/** What `callstream erase` prints: what matched, the rows per table, when. */
export interface EraseReceipt {
  subject: ErasureSubject;
  key: string;
  dryRun: boolean;
  /** The calls the erasure covers: those the subject resolved to now and those it covered before (their rows in every table are erased too). */
  matched: { callIds: string[]; callSids: string[] };
  /** When the erasure this run grew was recorded; absent for a first erasure. */
  mergedWith?: string;
  /** Rows deleted per table (with dryRun: that would be). */
  rows: Record<string, number>;
  total: number;
  /** ISO time of the erasure (with dryRun: of the count). */
  at: string;
}

/**
 * Erases a subject: resolves it into the calls it covers, records the erasure (so that no
 * replay, redelivery or late event writes its rows again), then deletes the rows of every
 * table. Idempotent: running it again deletes what is left and records the same key again,
 * merged with what it recorded before (never less).
 */
export async function erase(deps: EraseDeps, subject: ErasureSubject, options: { dryRun: boolean }): Promise<EraseReceipt> {
  const fresh = await resolve(deps, subject);
  const recorded = await deps.recorded?.(fresh.key);
  const erasure = mergeErasures(recorded, fresh);
  const rows: Record<string, number> = {};
  if (!options.dryRun) {
    await deps.record(erasure);
    await deps.settle?.();
  }
  for (const spec of TABLES) rows[spec.name] = await deps.warehouse.eraseRows(spec, tableMatch(spec, erasure), options);
  if (!options.dryRun && deps.settleMs) {
    await new Promise((r) => setTimeout(r, deps.settleMs));
    for (const spec of TABLES) rows[spec.name] += await deps.warehouse.eraseRows(spec, tableMatch(spec, erasure), options);
  }
  return {
    subject,
    key: erasure.key,
    dryRun: options.dryRun,
    matched: { callIds: erasure.callIds, callSids: erasure.callSids },
    ...(recorded ? { mergedWith: recorded.erasedAt } : {}),
    rows,
    total: Object.values(rows).reduce((a, b) => a + b, 0),
    at: erasure.erasedAt,
  };
}

/** The subject's scope: its own identifier, and the calls (ids, telephony ids, tenants) it is part of. */
async function resolve({ warehouse, pii }: EraseDeps, subject: ErasureSubject): Promise<Erasure> {
  const stored = subject.kind === 'phone' ? pii.storedNumber(subject.value) : subject.value;
  const scope: ErasureScope = {
    phones: subject.kind === 'phone' ? [stored] : [],
    callIds: subject.kind === 'call' ? [subject.value] : [],
    callSids: [],
    tenants: subject.kind === 'tenant' ? [Number(subject.value)] : [],
  };
  const calls = tableMatch(CALL_EVENTS, scope);
  const compliance = tableMatch(COMPLIANCE_EVENTS, scope);
  const callIds = [...(await warehouse.distinctValues(CALL_EVENTS, calls, 'call_id')), ...(await warehouse.distinctValues(COMPLIANCE_EVENTS, compliance, 'call_id'))];
  const callSids = [...(await warehouse.distinctValues(CALL_EVENTS, calls, 'call_sid')), ...(await warehouse.distinctValues(TELEPHONY_CALLBACKS, tableMatch(TELEPHONY_CALLBACKS, scope), 'call_sid'))];
  return {
    ...scope,
    callIds: unique([...scope.callIds, ...callIds]),
    callSids: unique(callSids),
    callTenants: await callTenants(warehouse, subject, scope),
    key: erasureKey(subject.kind, stored),
    kind: subject.kind,
    erasedAt: new Date().toISOString(),
  };
}

/**
 * The tenants of the calls a subject resolved to, which their ids are bound to: a tenant's own;
 * a number's, those of the calls it took part in. None for a call id: the id is the subject, in
 * whatever tenant.
 */
async function callTenants(warehouse: Warehouse, subject: ErasureSubject, scope: ErasureScope): Promise<number[] | undefined> {
  if (subject.kind === 'call') return undefined;
  if (subject.kind === 'tenant') return scope.tenants;
  const tenants = [...(await warehouse.distinctValues(CALL_EVENTS, tableMatch(CALL_EVENTS, scope), 'tenant_id')), ...(await warehouse.distinctValues(COMPLIANCE_EVENTS, tableMatch(COMPLIANCE_EVENTS, scope), 'tenant_id'))];
  return [...new Set(tenants.map(Number))].sort((a, b) => a - b);
}

function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** The receipt for people. */
export function formatReceipt(receipt: EraseReceipt): string {
  const lines = [
    `${receipt.dryRun ? 'Dry run: would erase' : 'Erased'} ${receipt.subject.kind} ${receipt.subject.value} (erasures key ${receipt.key}) at ${receipt.at}`,
    `Calls matched: ${receipt.matched.callIds.length === 0 ? 'none' : receipt.matched.callIds.join(', ')}`,
    `Telephony call ids matched: ${receipt.matched.callSids.length === 0 ? 'none' : receipt.matched.callSids.join(', ')}`,
    ...(receipt.mergedWith ? [`Grows the erasure recorded at ${receipt.mergedWith} (an erasure never covers less on a rerun)`] : []),
    'Rows per table:',
    ...Object.entries(receipt.rows).map(([table, n]) => `  ${table.padEnd(20)} ${n}`),
    `  ${'total'.padEnd(20)} ${receipt.total}`,
  ];
  if (!receipt.dryRun) lines.push('The sink will not write these rows again (replays, redeliveries, late events). The topics keep their bytes until retention ends (README "Privacy").');
  return lines.join('\n');
}
