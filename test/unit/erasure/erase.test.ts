import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { erase, formatReceipt, tableMatch, type Erasure } from '../../../src/erasure/index.js';
import { PiiPolicy } from '../../../src/privacy/pii.js';
import { CALL_EVENTS, compileMatch, type Row, type RowMatch, type TableSpec, type Warehouse } from '../../../src/warehouse/index.js';

/** A warehouse with no rows left (the first erasure deleted them): it resolves nothing and records the matches it is asked to delete. */
function emptyWarehouse(): Warehouse & { erased: Map<string, RowMatch> } {
  const erased = new Map<string, RowMatch>();
  return {
    kind: 'duckdb',
    erased,
    ensureTables: async () => undefined,
    upsert: async () => 0,
    query: async () => [],
    eraseRows: async (spec: TableSpec, match: RowMatch) => (erased.set(spec.name, match), 0),
    distinctValues: async () => [],
    identity: async () => ({ id: 'test-warehouse', description: 'an empty test warehouse' }),
    close: async () => undefined,
  };
}

const first: Erasure = {
  key: 'tenant:44',
  kind: 'tenant',
  erasedAt: '2026-12-01T00:00:00.000Z',
  phones: [],
  callIds: ['e44_1', 'e44_2', 'e44_3'],
  callSids: ['CAe44_1', 'CAe44_2', 'CAe44_3'],
  tenants: [44],
  callTenants: [44],
};

describe('erase', () => {
  it('run again, merges with the erasure recorded under its key: it only ever grows', async () => {
    const warehouse = emptyWarehouse();
    const recorded: Erasure[] = [];
    const receipt = await erase(
      { warehouse, pii: PiiPolicy.fromConfig(loadConfig({})), record: async (e) => void recorded.push(e), recorded: async (key) => (key === first.key ? first : undefined) },
      { kind: 'tenant', value: '44' },
      { dryRun: false },
    );
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ key: 'tenant:44', callIds: first.callIds, callSids: first.callSids, tenants: [44], callTenants: [44] });
    expect(receipt.matched).toEqual({ callIds: first.callIds, callSids: first.callSids });
    expect(receipt.mergedWith).toBe(first.erasedAt);
    expect(formatReceipt(receipt)).toMatch(/Calls matched: e44_1, e44_2, e44_3/);
    // The DELETE reaches the earlier calls' rows too (a late callback of CAe44_3 written meanwhile).
    expect(compileMatch(warehouse.erased.get('telephony_callbacks')!)({ call_sid: 'CAe44_3', provider_call_id: 'CAe44_3', fields: '{}' })).toBe(true);
  });

  it('keeps the ids of a record written before calls were bound to tenants unbound when merging', async () => {
    const old: Erasure = { ...first, key: 'phone:+14155550100', kind: 'phone', phones: ['+14155550100'], tenants: [], callTenants: undefined };
    const recorded: Erasure[] = [];
    await erase(
      { warehouse: emptyWarehouse(), pii: PiiPolicy.fromConfig(loadConfig({})), record: async (e) => void recorded.push(e), recorded: async () => old },
      { kind: 'phone', value: '+14155550100' },
      { dryRun: false },
    );
    expect(recorded[0].callTenants).toBeUndefined();
    const row: Row = { call_id: 'e44_1', tenant_id: 99 };
    expect(compileMatch(tableMatch(CALL_EVENTS, recorded[0]))(row)).toBe(true);
  });
});
