import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErasureSet, tableMatch, type Erasure } from '../../../src/erasure/index.js';
import { CALL_EVENTS, COMPLIANCE_EVENTS, compileMatch, matchSql, REQUESTS, TABLES, TELEPHONY_CALLBACKS, type MatchDialect, type Row } from '../../../src/warehouse/index.js';

/** SQL with the values inline, to read in an assertion. */
const inline: MatchDialect = {
  quote: (name) => name,
  jsonString: (column, key) => `${column}->>'${key}'`,
  list: (values) => `(${values.map((v) => (typeof v === 'number' ? v : `'${v}'`)).join(', ')})`,
};

const tenant44: Erasure = { key: 'tenant:44', kind: 'tenant', erasedAt: '2026-12-01T00:00:00.000Z', phones: [], callIds: ['e44_1'], callSids: ['CAe44_1'], tenants: [44], callTenants: [44] };

describe('tableMatch', () => {
  it('binds the calls an erasure resolved to their tenants where the table names one', () => {
    expect(matchSql(tableMatch(CALL_EVENTS, tenant44), inline)).toBe(
      "(call_id IN ('e44_1') AND (tenant_id IS NULL OR tenant_id IN (44))) OR (call_sid IN ('CAe44_1') AND (tenant_id IS NULL OR tenant_id IN (44))) OR (tenant_id IN (44))",
    );
    expect(matchSql(tableMatch(COMPLIANCE_EVENTS, tenant44), inline)).toContain("(call_id IN ('e44_1') AND (tenant_id IS NULL OR tenant_id IN (44)))");
    // Callbacks and requests name no tenant: the ids alone.
    expect(matchSql(tableMatch(TELEPHONY_CALLBACKS, tenant44), inline)).toBe("(call_sid IN ('CAe44_1')) OR (provider_call_id IN ('CAe44_1'))");
    expect(matchSql(tableMatch(REQUESTS, tenant44), inline)).toBe("(entity_key IN ('e44_1')) OR (entity_key IN ('CAe44_1')) OR (call_sid IN ('CAe44_1'))");
  });

  it('leaves the ids of a call id erasure unbound, and binds calls of no tenant to rows of none', () => {
    const call: Erasure = { ...tenant44, key: 'call:e44_1', kind: 'call', tenants: [], callTenants: undefined };
    expect(matchSql(tableMatch(CALL_EVENTS, call), inline)).toBe("(call_id IN ('e44_1')) OR (call_sid IN ('CAe44_1'))");
    const phone: Erasure = { ...tenant44, key: 'phone:+14155550100', kind: 'phone', phones: ['+14155550100'], tenants: [], callTenants: [] };
    expect(matchSql(tableMatch(CALL_EVENTS, phone), inline)).toContain("(call_id IN ('e44_1') AND (tenant_id IS NULL))");
  });
});

describe('ErasureSet and tableMatch', () => {
  const ids = fc.constantFrom('V1', 'V2', 'CA1', 'CA2', '+1415', 'k1:aa');
  const tenants = fc.constantFrom(44, 45, 46);
  const scope = fc.record({
    kind: fc.constantFrom('phone' as const, 'call' as const, 'tenant' as const),
    phones: fc.subarray(['+1415', 'k1:aa']),
    callIds: fc.subarray(['V1', 'V2']),
    callSids: fc.subarray(['CA1', 'CA2']),
    tenants: fc.subarray([44, 45]),
    callTenants: fc.option(fc.subarray([44, 45, 46]), { nil: undefined }),
  });
  const row = fc.record({
    call_id: fc.option(ids, { nil: null }),
    call_sid: fc.option(ids, { nil: null }),
    from_e164: fc.option(ids, { nil: null }),
    to_e164: fc.option(ids, { nil: null }),
    tenant_id: fc.option(tenants, { nil: null }),
    subject_id: ids,
    number_e164: fc.option(ids, { nil: null }),
    provider_call_id: ids,
    entity_key: fc.option(ids, { nil: null }),
    fields: fc.option(ids, { nil: '{}' }).map((from) => JSON.stringify({ From: from })),
  });

  it('agree on every row of every table: the sink refuses exactly what the DELETE removes (before it learns anything)', () => {
    fc.assert(
      fc.property(fc.array(scope, { minLength: 1, maxLength: 3 }), fc.constantFrom(...TABLES), row, (scopes, spec, r) => {
        const erasures = scopes.map((s, i): Erasure => ({ ...s, key: `k${i}`, erasedAt: '' }));
        const set = new ErasureSet();
        for (const e of erasures) set.apply(e.key, e);
        const deleted = erasures.some((e) => compileMatch(tableMatch(spec, e))(r as Row));
        expect(set.covers(spec, r as Row)).toBe(deleted);
      }),
      { numRuns: 2_000 },
    );
  });
});
