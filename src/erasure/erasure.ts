import { CALLBACK_NUMBER_FIELDS } from '../sink/pii.js';
import { CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS, DEAD_LETTERS, REQUESTS, TELEPHONY_CALLBACKS, type Row, type RowMatch, type TableSpec } from '../warehouse/index.js';

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

/** The topic key of a subject; a phone's is its stored form, so hash mode keeps no number in the topic. */
export function erasureKey(kind: SubjectKind, stored: string): string {
  return `${kind}:${stored}`;
}

/**
 * The rows of a table an erasure covers. One definition serves the DELETE on either
 * warehouse and the sink's refusal to write such a row again.
 */
export function tableMatch(spec: TableSpec, scope: ErasureScope): RowMatch {
  const { phones, callIds, callSids, tenants } = scope;
  const keys = [...phones, ...callIds, ...callSids];
  switch (spec.name) {
    case CALL_EVENTS.name:
      return [
        { column: 'call_id', in: callIds },
        { column: 'from_e164', in: phones },
        { column: 'to_e164', in: phones },
        { column: 'call_sid', in: callSids },
        { column: 'tenant_id', in: tenants },
      ];
    case CAMPAIGN_EVENTS.name:
      return [{ column: 'tenant_id', in: tenants }];
    case COMPLIANCE_EVENTS.name:
      return [
        { column: 'subject_id', in: [...phones, ...callIds] },
        { column: 'number_e164', in: phones },
        { column: 'call_id', in: callIds },
        { column: 'tenant_id', in: tenants },
      ];
    case TELEPHONY_CALLBACKS.name:
      return [
        { column: 'call_sid', in: callSids },
        { column: 'provider_call_id', in: callSids },
        { json: 'fields', keys: CALLBACK_NUMBER_FIELDS, in: phones },
      ];
    case REQUESTS.name:
      return [
        { column: 'entity_key', in: keys },
        { column: 'call_sid', in: callSids },
      ];
    case DEAD_LETTERS.name:
      return [{ column: 'entity_key', in: keys }];
    default:
      return [];
  }
}

/** A call_events row's ids: the sink adds them to the scope when it refuses the row, so the call's callbacks and requests follow. */
export function callIdsOf(spec: TableSpec, row: Row): { callId?: string; callSid?: string } {
  if (spec !== CALL_EVENTS) return {};
  return { callId: typeof row.call_id === 'string' ? row.call_id : undefined, callSid: typeof row.call_sid === 'string' ? row.call_sid : undefined };
}
