import { CALL_EVENTS, TABLES, valuesAt, type Row, type TableSpec } from '../warehouse/index.js';
import { callIdsOf, erasureSlots, type Erasure, type ErasureSlot, type ScopeList } from './erasure.js';

/**
 * How many calls the set learns (refused calls of an erased number or tenant) before it forgets
 * the one refused longest ago. About 350 bytes of heap each (bench/load/erasure-set.js), so the
 * limit holds them near 35 MB however many calls an erased tenant keeps making.
 */
export const LEARNED_CALLS_LIMIT = 100_000;

export interface ErasureSetOptions {
  /** How many learned calls are kept (default LEARNED_CALLS_LIMIT). */
  learnedLimit?: number;
  /** Called when a learned call is forgotten to stay within the limit (the sink counts and logs it). */
  onEvict?: (count: number) => void;
}

/** What the set holds: for tests, metrics and the benchmark. */
export interface ErasureSetStats {
  erasures: number;
  learnedCalls: number;
  learnedLimit: number;
  /** Learned calls forgotten so far to stay within the limit. */
  evicted: number;
  /** Identifiers indexed, over every list: the set's size. */
  indexedValues: number;
}

/** Why an identifier is covered: the erasure (its topic key), and for a call's ids the tenants the call belongs to. */
interface Cover {
  readonly erasure: string;
  /** A row naming another tenant is another call with the same id; undefined: any tenant. */
  readonly tenants?: readonly number[];
}

/** A call the sink refused (a call_events row an erasure covers): its callbacks, requests and dead letters follow it. */
interface LearnedCall extends Cover {
  readonly slot: string;
  readonly callId: string;
  callSid?: string;
}

const LISTS: readonly ScopeList[] = ['phones', 'callIds', 'callSids', 'tenants'];

/**
 * The erasures the sink honours: every record of the erasures topic (a tombstone lifts one),
 * plus the calls the sink refused on the way (a call from an erased number or tenant that arrived
 * after the erasure: its callbacks and requests go too, as long as this process runs, for the
 * LEARNED_CALLS_LIMIT calls refused last).
 *
 * Indexed by identifier: a row costs one Map lookup per slot of its table (erasureSlots), however
 * many erasures and learned calls there are; applying a record costs its size, learning a call two
 * entries. A call's ids are bound to its tenant: they cover a row naming no tenant or that one.
 */
export class ErasureSet {
  private readonly records = new Map<string, { erasure: Erasure; plain: Cover; calls: Cover }>();
  private readonly index: Record<ScopeList, Map<unknown, Cover[]>> = { phones: new Map(), callIds: new Map(), callSids: new Map(), tenants: new Map() };
  /** Learned calls in the order they were last refused (Map order): the first is forgotten first. */
  private readonly learned = new Map<string, LearnedCall>();
  private readonly slots = new Map<TableSpec, readonly ErasureSlot[]>(TABLES.map((t) => [t, erasureSlots(t)]));
  private readonly learnedLimit: number;
  private readonly onEvict?: (count: number) => void;
  private evicted = 0;

  constructor(options: ErasureSetOptions = {}) {
    this.learnedLimit = options.learnedLimit ?? LEARNED_CALLS_LIMIT;
    this.onEvict = options.onEvict;
  }

  /** How many erasures are in force. */
  get size(): number {
    return this.records.size;
  }

  /** The erasure in force under a topic key: what a rerun of `erase` merges with. */
  recorded(key: string): Erasure | undefined {
    return this.records.get(key)?.erasure;
  }

  stats(): ErasureSetStats {
    const indexedValues = LISTS.reduce((n, list) => n + this.index[list].size, 0);
    return { erasures: this.records.size, learnedCalls: this.learned.size, learnedLimit: this.learnedLimit, evicted: this.evicted, indexedValues };
  }

  /** Applies one record of the topic: an erasure, or null (a tombstone) to lift it and the calls learned through it. */
  apply(key: string, erasure: Erasure | null): void {
    const old = this.records.get(key);
    if (old) this.indexRecord(old.erasure, old, 'remove');
    if (!erasure) {
      this.records.delete(key);
      for (const call of [...this.learned.values()]) if (call.erasure === key) this.forget(call);
      return;
    }
    const record = { erasure, plain: { erasure: key }, calls: { erasure: key, tenants: erasure.callTenants } };
    this.records.set(key, record);
    this.indexRecord(erasure, record, 'add');
  }

  /** Whether the row is about an erased subject (it must not be written); a refused call is learned. */
  covers(spec: TableSpec, row: Row): boolean {
    if (this.records.size === 0) return false;
    const cover = this.coverOf(spec, row);
    if (!cover) return false;
    if (spec === CALL_EVENTS) this.learn(row, cover.erasure);
    return true;
  }

  private coverOf(spec: TableSpec, row: Row): Cover | undefined {
    for (const slot of this.slots.get(spec) ?? []) {
      const entries = this.index[slot.list];
      if (entries.size === 0) continue;
      if ('column' in slot) {
        const cover = ownCover(entries.get(row[slot.column]), slot, row);
        if (cover) return cover;
        continue;
      }
      for (const value of valuesAt(slot, row)) {
        const cover = ownCover(entries.get(value), slot, row);
        if (cover) return cover;
      }
    }
    return undefined;
  }

  /** Learns (or refreshes) a refused call, bound to the tenant its row names; beyond the limit the oldest is forgotten. */
  private learn(row: Row, erasure: string): void {
    const { callId, callSid } = callIdsOf(CALL_EVENTS, row);
    if (!callId) return;
    const tenant = row.tenant_id == null ? undefined : Number(row.tenant_id);
    const slot = `${tenant ?? ''}/${callId}`;
    const known = this.learned.get(slot);
    if (known) {
      this.learned.delete(slot);
      this.learned.set(slot, known);
      if (callSid && known.callSid !== callSid) {
        if (known.callSid) this.unindex('callSids', known.callSid, known);
        known.callSid = callSid;
        this.indexValue('callSids', callSid, known);
      }
      return;
    }
    const call: LearnedCall = { erasure, tenants: tenant === undefined ? undefined : [tenant], slot, callId, callSid };
    this.learned.set(slot, call);
    this.indexValue('callIds', callId, call);
    if (callSid) this.indexValue('callSids', callSid, call);
    if (this.learned.size > this.learnedLimit) {
      this.forget(this.learned.values().next().value!);
      this.evicted++;
      this.onEvict?.(1);
    }
  }

  private forget(call: LearnedCall): void {
    this.learned.delete(call.slot);
    this.unindex('callIds', call.callId, call);
    if (call.callSid) this.unindex('callSids', call.callSid, call);
  }

  private indexRecord(erasure: Erasure, record: { plain: Cover; calls: Cover }, how: 'add' | 'remove'): void {
    for (const list of LISTS) {
      const cover = list === 'callIds' || list === 'callSids' ? record.calls : record.plain;
      for (const value of erasure[list]) {
        if (how === 'add') this.indexValue(list, value, cover);
        else this.unindex(list, value, cover);
      }
    }
  }

  private indexValue(list: ScopeList, value: unknown, cover: Cover): void {
    const covers = this.index[list].get(value);
    if (covers) covers.push(cover);
    else this.index[list].set(value, [cover]);
  }

  private unindex(list: ScopeList, value: unknown, cover: Cover): void {
    const covers = this.index[list].get(value);
    if (!covers) return;
    const left = covers.filter((c) => c !== cover);
    if (left.length === 0) this.index[list].delete(value);
    else this.index[list].set(value, left);
  }
}

/** The first of an identifier's covers that owns the row: any, unless the slot names the row's tenant and the cover is bound to others. */
function ownCover(covers: Cover[] | undefined, slot: ErasureSlot, row: Row): Cover | undefined {
  if (!covers) return undefined;
  const tenant = slot.owner ? row[slot.owner] : null;
  if (tenant == null) return covers[0];
  return covers.find((c) => !c.tenants || c.tenants.includes(Number(tenant)));
}
