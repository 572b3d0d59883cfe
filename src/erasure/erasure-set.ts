import { compileMatch, TABLES, type Row, type TableSpec } from '../warehouse/index.js';
import { callIdsOf, tableMatch, type Erasure, type ErasureScope } from './erasure.js';

type Matcher = (row: Row) => boolean;

/**
 * The erasures the sink honours: every record of the erasures topic (a tombstone lifts one),
 * merged into one scope, plus the ids of calls the sink refused on the way (a call from an
 * erased number or tenant that arrived after the erasure: its callbacks and requests go too,
 * as long as this process runs).
 */
export class ErasureSet {
  private readonly byKey = new Map<string, Erasure>();
  private readonly learned = { callIds: new Set<string>(), callSids: new Set<string>() };
  private matchers?: Map<TableSpec, Matcher>;

  get size(): number {
    return this.byKey.size;
  }

  /** Applies one record of the topic: an erasure, or null (a tombstone) to lift it. */
  apply(key: string, erasure: Erasure | null): void {
    if (erasure) this.byKey.set(key, erasure);
    else this.byKey.delete(key);
    this.matchers = undefined;
  }

  /** Whether the row is about an erased subject (it must not be written). */
  covers(spec: TableSpec, row: Row): boolean {
    if (this.byKey.size === 0) return false;
    const matcher = this.matcherFor(spec);
    if (!matcher(row)) return false;
    const { callId, callSid } = callIdsOf(spec, row);
    if ((callId && !this.learned.callIds.has(callId)) || (callSid && !this.learned.callSids.has(callSid))) {
      if (callId) this.learned.callIds.add(callId);
      if (callSid) this.learned.callSids.add(callSid);
      this.matchers = undefined;
    }
    return true;
  }

  private matcherFor(spec: TableSpec): Matcher {
    this.matchers ??= new Map(TABLES.map((t) => [t, compileMatch(tableMatch(t, this.scope()))]));
    return this.matchers.get(spec) ?? (() => false);
  }

  private scope(): ErasureScope {
    const all = [...this.byKey.values()];
    const union = <T>(pick: (e: Erasure) => T[], extra: Iterable<T> = []) => [...new Set([...all.flatMap(pick), ...extra])];
    return {
      phones: union((e) => e.phones),
      callIds: union((e) => e.callIds, this.learned.callIds),
      callSids: union((e) => e.callSids, this.learned.callSids),
      tenants: union((e) => e.tenants),
    };
  }
}
