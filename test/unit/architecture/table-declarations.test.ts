import { describe, expect, it } from 'vitest';
import { erasureSlots, type ErasureSlotsByTable } from '../../../src/erasure/index.js';
import { FAMILY_ROW_LOOKUPS } from '../../../src/families/index.js';
import type { RowLookups } from '../../../src/trace/lookup.js';
import { EVENT_TABLES, TABLE_BY_NAME, TABLES, tableName, type TableSpec } from '../../../src/warehouse/index.js';

/**
 * What is declared per table outside src/warehouse/tables.ts (the erasure's slots, trace's
 * lookups and topics) is a Record over the tables' names, so a table added to the sink and
 * forgotten there does not compile. The @ts-expect-error lines below are that check: if a
 * declaration with a table missing ever compiled, `npm run typecheck` (run by CI over test/)
 * would fail on the unused directive.
 */
describe('per-table declarations', () => {
  it('a table missing from the erasure slots or the trace lookups does not compile', () => {
    const slots = Object.fromEntries(TABLES.map((t) => [t.name, erasureSlots(t)])) as ErasureSlotsByTable;
    const { dead_letters: _dead, ...withoutDeadLetters } = slots;
    // @ts-expect-error dead_letters is missing: a table without erasure slots is a compile error
    const incomplete: ErasureSlotsByTable = withoutDeadLetters;
    expect(Object.keys(incomplete)).not.toContain('dead_letters');

    const lookups: RowLookups = { ...FAMILY_ROW_LOOKUPS, telephony_callbacks: null };
    const { telephony_callbacks: _callbacks, ...withoutCallbacks } = lookups;
    // @ts-expect-error telephony_callbacks is missing: an event table trace says nothing about is a compile error
    const incompleteLookups: RowLookups = withoutCallbacks;
    expect(Object.keys(incompleteLookups)).not.toContain('telephony_callbacks');
  });

  it('every table the sink writes is erasable: slots in every table, each naming a column or JSON keys the table has', () => {
    for (const spec of TABLES) {
      const slots = erasureSlots(spec);
      expect(slots.length, spec.name).toBeGreaterThan(0);
      const columns = spec.columns.map((c) => c.name);
      for (const slot of slots) expect(columns, `${spec.name}: ${JSON.stringify(slot)}`).toContain('column' in slot && slot.column ? slot.column : (slot as { json: string }).json);
    }
  });

  it('the tables by name are the tables the sink writes, each under its own name', () => {
    expect(Object.values(TABLE_BY_NAME)).toEqual(TABLES);
    for (const [name, spec] of Object.entries(TABLE_BY_NAME)) expect(spec.name).toBe(name);
    for (const spec of EVENT_TABLES) expect(tableName(spec)).toBe(spec.name);
  });

  it('a spec that is not one of the sink tables is refused, not treated as "nothing to erase"', () => {
    const stranger: TableSpec = { name: 'call_notes', keyColumns: ['call_id'], clusterBy: [], columns: [] };
    expect(tableName(stranger)).toBeUndefined();
    expect(() => erasureSlots(stranger)).toThrow(/call_notes is not one of the sink's tables/);
  });
});
