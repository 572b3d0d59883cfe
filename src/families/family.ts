import type { z } from 'zod';
import type { Family } from '../events/index.js';
import type { EventTableName, Place } from '../warehouse/index.js';

/** The lists of an erasure's scope that rows are matched against. */
export type ScopeList = 'phones' | 'callIds' | 'callSids' | 'tenants';

/**
 * A place in a table's rows where an erasure's identifiers show, and the list of the scope it is
 * matched against; `owner`: the column naming the row's tenant, which a call's ids are bound to.
 */
export type ErasureSlot = Place & { list: ScopeList; owner?: 'tenant_id' };

/** The ids `callstream trace` has learnt of a call so far, by kind. */
export interface TraceIds {
  calls: string[];
  sids: string[];
  requests: string[];
}

/** How a call finds its rows in one event table: the column holding its call_sid, and the ids that find them. */
export interface RowLookup {
  sid: string | null;
  by: (ids: TraceIds) => ReadonlyArray<readonly [string, readonly string[]]>;
}

/**
 * Everything callstream knows about one Callaro event family, in one place: validation (its
 * event prefixes, zod schema and key rule), the sink (its table), erasure (where its rows hold
 * what an erasure is about), trace (how a call's rows are found in its table, or null) and the
 * PII policy (its phone-number columns and where their last four digits go). Every part is
 * required: a descriptor that leaves one out does not compile.
 */
export interface FamilyDescriptor<F extends Family = Family, S extends z.ZodType = z.ZodType, T extends EventTableName = EventTableName> {
  family: F;
  /** The event names of the family start with one of these, e.g. "call.". */
  prefixes: readonly string[];
  /** The family's contract (src/events/callaro-event.ts). */
  schema: S;
  /** The Kafka key of a valid event (docs/data.md, "Event families, keys and tables"). A method, so any family's descriptor is a FamilyDescriptor. */
  key(event: z.output<S>): string;
  /** The event table the family's rows land in (src/warehouse/tables.ts); its first key column holds the key. */
  table: T;
  /** Where the table's rows hold what `callstream erase` erases: at least the tenant. */
  erasure: readonly [ErasureSlot, ...ErasureSlot[]];
  /** How `callstream trace` finds a call's rows in the table; null when no row of it names a call. */
  trace: RowLookup | null;
  /** The table's phone-number columns (hashed in hash mode) and the column each one's last four digits go to. */
  phoneColumns: Readonly<Record<string, string>>;
}

/** A family's descriptor, its schema's output type and table name kept for the readers' types. */
export function defineFamily<F extends Family, S extends z.ZodType, T extends EventTableName>(descriptor: FamilyDescriptor<F, S, T>): FamilyDescriptor<F, S, T> {
  return descriptor;
}
