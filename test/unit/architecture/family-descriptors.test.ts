import { describe, expect, it } from 'vitest';
import { FAMILIES, type Family } from '../../../src/events/index.js';
import { defineFamily, FAMILY_DESCRIPTORS, FAMILY_ERASURE_SLOTS, FAMILY_ROW_LOOKUPS, PHONE_COLUMNS, type ErasureSlot, type FamilyDescriptor, type FamilyTableName, type RowLookup } from '../../../src/families/index.js';
import { EVENT_TABLE_FLOW, TABLE_BY_NAME, type EventTableName } from '../../../src/warehouse/index.js';

/**
 * A Callaro event family is declared once, in its descriptor (src/families/<family>.ts), and
 * validation, the sink's rows, erasure, trace and the PII policy read it. Every part of a
 * descriptor is required, every family needs one, and erasure and trace take the families'
 * tables from the descriptors into Records over every table name: so a family or table a reader
 * would forget does not compile. The @ts-expect-error lines are that check: if one of these
 * declarations ever compiled, `npm run typecheck` (run by CI over test/) would fail on the
 * unused directive.
 */
describe('family descriptors', () => {
  it('a descriptor missing a part, or naming what is not there, does not compile', () => {
    const campaign = {
      family: 'campaign',
      prefixes: ['campaign.'],
      schema: FAMILY_DESCRIPTORS.campaign.schema,
      key: (e: { campaign_id: string }) => e.campaign_id,
      table: 'campaign_events',
      erasure: [{ list: 'tenants', column: 'tenant_id' }],
      trace: null,
      phoneColumns: {},
    } as const;
    expect(defineFamily(campaign).table).toBe('campaign_events');

    const { erasure: _erasure, ...withoutErasure } = campaign;
    // @ts-expect-error no erasure slots: a family's table that `callstream erase` would skip is a compile error
    defineFamily(withoutErasure);

    const { trace: _trace, ...withoutTrace } = campaign;
    // @ts-expect-error no trace lookup: a family must say how trace finds a call's rows (null: none of them names a call)
    defineFamily(withoutTrace);

    const { phoneColumns: _phones, ...withoutPhones } = campaign;
    // @ts-expect-error no phone-number columns: the PII policy must be told (an empty record: none)
    defineFamily(withoutPhones);

    const { table: _table, ...withoutTable } = campaign;
    // @ts-expect-error no table: the sink would have nowhere to write the family's rows
    defineFamily(withoutTable);

    // @ts-expect-error an empty erasure list: every family's rows hold at least their tenant
    defineFamily({ ...campaign, erasure: [] });

    // @ts-expect-error a table the sink does not have (src/warehouse/tables.ts)
    defineFamily({ ...campaign, table: 'campaign_log' });

    // @ts-expect-error a family FAMILIES does not list (src/events/callaro-event.ts)
    defineFamily({ ...campaign, family: 'billing' });

    // @ts-expect-error a key rule that is not a string of its schema's events (call events have no campaign_id)
    defineFamily({ ...campaign, schema: FAMILY_DESCRIPTORS.call.schema, key: (e) => e.campaign_id });
  });

  it('a family without a descriptor, or a family table missing from erasure or trace, does not compile', () => {
    const { compliance: _compliance, ...withoutCompliance } = FAMILY_DESCRIPTORS;
    // @ts-expect-error compliance has no descriptor: a family in FAMILIES that no reader knows is a compile error
    const incomplete: { readonly [F in Family]: FamilyDescriptor<F> } = withoutCompliance;
    expect(Object.keys(incomplete)).toHaveLength(FAMILIES.length - 1);

    const { compliance_events: _slots, ...slotsWithoutCompliance } = FAMILY_ERASURE_SLOTS;
    // @ts-expect-error compliance_events is missing: a family table without erasure slots is a compile error
    const slots: Readonly<Record<FamilyTableName, readonly ErasureSlot[]>> = slotsWithoutCompliance;
    expect(Object.keys(slots)).not.toContain('compliance_events');

    const { campaign_events: _lookup, ...lookupsWithoutCampaign } = FAMILY_ROW_LOOKUPS;
    // @ts-expect-error campaign_events is missing: a family table trace says nothing about is a compile error
    const lookups: Readonly<Record<FamilyTableName, RowLookup | null>> = lookupsWithoutCampaign;
    expect(Object.keys(lookups)).not.toContain('campaign_events');
  });

  it('each family has its own table, and every table of the callaro flow is a family\'s', () => {
    const tables = FAMILIES.map((f) => FAMILY_DESCRIPTORS[f].table);
    expect(new Set(tables).size).toBe(FAMILIES.length);
    const callaroTables = (Object.keys(EVENT_TABLE_FLOW) as EventTableName[]).filter((t) => EVENT_TABLE_FLOW[t] === 'callaro');
    expect([...tables].sort()).toEqual(callaroTables.sort());
    for (const family of FAMILIES) expect(FAMILY_DESCRIPTORS[family].family).toBe(family);
  });

  it('no two families claim an event name, and each prefix ends with a dot', () => {
    const prefixes = FAMILIES.flatMap((f) => FAMILY_DESCRIPTORS[f].prefixes);
    for (const p of prefixes) expect(p).toMatch(/^[a-z_]+\.$/);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    for (const a of prefixes) for (const b of prefixes) if (a !== b) expect(b.startsWith(a), `${a} / ${b}`).toBe(false);
  });

  it('each phone-number column and its last-four column are columns of the family\'s table', () => {
    for (const family of FAMILIES) {
      const { table, phoneColumns } = FAMILY_DESCRIPTORS[family];
      const columns = TABLE_BY_NAME[table].columns.map((c) => c.name);
      for (const [number, last4] of Object.entries(phoneColumns)) expect(columns, `${table}: ${number}`).toEqual(expect.arrayContaining([number, last4]));
    }
    expect(PHONE_COLUMNS).toEqual({ from_e164: 'from_last4', to_e164: 'to_last4', number_e164: 'number_last4' });
  });
});
