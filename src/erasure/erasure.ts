import { CALLBACK_NUMBER_FIELDS } from '../privacy/pii.js';
import { FAMILY_ERASURE_SLOTS, type ErasureSlot } from '../families/index.js';
import { CALL_EVENTS, tableName, type Row, type RowMatch, type TableName, type TableSpec } from '../warehouse/index.js';

export type { ErasureSlot, ScopeList } from '../families/index.js';

/** What `callstream erase` is asked to erase. */
export type SubjectKind = 'phone' | 'call' | 'tenant';

export interface ErasureSubject {
  kind: SubjectKind;
  /** The number in E.164 (as sent, not hashed), the call id, or the tenant id. */
  value: string;
}

/** The identifiers an erasure covers: what rows are matched by, in the warehouse and in the sink. */
export interface ErasureScope {
  /** Numbers as the warehouse stores them: in hash mode their hashes, never the number. */
  phones: string[];
  callIds: string[];
  /** The calls' telephony ids (call_events.call_sid, the callbacks' provider call id). */
  callSids: string[];
  tenants: number[];
  /**
   * The tenants the calls of callIds and callSids belong to: a row naming another tenant is
   * another call, even with the same id, and is not covered. Absent: the ids cover every row
   * holding them (an erasure of a call id, whose id is the subject; records written before).
   */
  callTenants?: number[];
}

/** An erasure as the erasures topic holds it (JSON), keyed by `key`: compaction keeps the latest per subject. */
export interface Erasure extends ErasureScope {
  /** `phone:<stored number>`, `call:<id>` or `tenant:<id>`. */
  key: string;
  kind: SubjectKind;
  /** ISO time of the erasure. */
  erasedAt: string;
}

export const E164_SUBJECT = /^\+[1-9]\d{6,14}$/;
export const ID_SUBJECT = /^[A-Za-z0-9._:@+-]{1,256}$/;
export const TENANT_SUBJECT = /^-?\d{1,16}$/;

/**
 * An erasure run again, merged with the one recorded under its key: every list the union of
 * both, so a rerun (which resolves its calls from a warehouse the first run emptied) never
 * drops what the first one covered. The calls' tenants stay unbound if either side's are.
 */
export function mergeErasures(recorded: Erasure | undefined, fresh: Erasure): Erasure {
  if (!recorded) return fresh;
  const strings = (a: string[], b: string[]) => [...new Set([...a, ...b])].sort();
  const numbers = (a: number[], b: number[]) => [...new Set([...a, ...b])].sort((x, y) => x - y);
  const callTenants = recorded.callTenants && fresh.callTenants ? numbers(recorded.callTenants, fresh.callTenants) : undefined;
  return {
    ...fresh,
    phones: strings(recorded.phones, fresh.phones),
    callIds: strings(recorded.callIds, fresh.callIds),
    callSids: strings(recorded.callSids, fresh.callSids),
    tenants: numbers(recorded.tenants, fresh.tenants),
    callTenants,
  };
}

/** The topic key of a subject; a phone's is its stored form, so hash mode keeps no number in the topic. */
export function erasureKey(kind: SubjectKind, stored: string): string {
  return `${kind}:${stored}`;
}

/**
 * Where each table holds what an erasure is about. One declaration serves the DELETE on either
 * warehouse (tableMatch) and the sink's refusal to write such a row again (ErasureSet's index).
 * A Record over every table name: a table added to the sink and missing here does not compile,
 * so no table escapes `callstream erase`. Callaro's families' tables take theirs from their
 * descriptors (src/families/); the others are declared here.
 */
export type ErasureSlotsByTable = Readonly<Record<TableName, readonly ErasureSlot[]>>;

const ERASURE_SLOTS: ErasureSlotsByTable = {
  ...FAMILY_ERASURE_SLOTS,
  telephony_callbacks: [
    { list: 'callSids', column: 'call_sid' },
    { list: 'callSids', column: 'provider_call_id' },
    { list: 'phones', json: 'fields', keys: CALLBACK_NUMBER_FIELDS },
  ],
  requests: [
    { list: 'phones', column: 'entity_key' },
    { list: 'callIds', column: 'entity_key' },
    { list: 'callSids', column: 'entity_key' },
    { list: 'callSids', column: 'call_sid' },
  ],
  dead_letters: [
    { list: 'phones', column: 'entity_key' },
    { list: 'callIds', column: 'entity_key' },
    { list: 'callSids', column: 'entity_key' },
  ],
};

/** The slots of one of the sink's tables; a table it does not know is a mistake in the code, not "nothing to erase". */
export function erasureSlots(spec: TableSpec): readonly ErasureSlot[] {
  const name = tableName(spec);
  if (!name) throw new Error(`erasureSlots: ${spec.name} is not one of the sink's tables (src/warehouse/tables.ts)`);
  return ERASURE_SLOTS[name];
}

/**
 * The rows of a table an erasure covers, for the DELETE on either warehouse: each slot with the
 * scope's list, a call's ids bound to the calls' tenants where the table names one.
 */
export function tableMatch(spec: TableSpec, scope: ErasureScope): RowMatch {
  return erasureSlots(spec).map(({ list, owner, ...place }) => ({
    ...place,
    in: scope[list],
    ...(owner && scope.callTenants ? { owner: { column: owner, in: scope.callTenants } } : {}),
  }));
}

/** A call_events row's ids: the sink adds them to the scope when it refuses the row, so the call's callbacks and requests follow. */
export function callIdsOf(spec: TableSpec, row: Row): { callId?: string; callSid?: string } {
  if (spec !== CALL_EVENTS) return {};
  return { callId: typeof row.call_id === 'string' ? row.call_id : undefined, callSid: typeof row.call_sid === 'string' ? row.call_sid : undefined };
}
