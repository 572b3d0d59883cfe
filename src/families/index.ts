export { defineFamily, type FamilyDescriptor, type ErasureSlot, type RowLookup, type ScopeList, type TraceIds } from './family.js';
export { FAMILY_DESCRIPTORS, FAMILY_ERASURE_SLOTS, FAMILY_ROW_LOOKUPS, PHONE_COLUMNS, expectedEventNames, familyOf, tableForFamily, type FamilyTableName } from './families.js';
export { validateCallaroEvent, type ValidEvent, type ValidationResult } from './validate.js';
