import { FAMILIES, type Family } from '../events/index.js';
import { TABLE_BY_NAME, type TableSpec } from '../warehouse/index.js';
import { CALL_FAMILY } from './call.js';
import { CAMPAIGN_FAMILY } from './campaign.js';
import { COMPLIANCE_FAMILY } from './compliance.js';
import type { FamilyDescriptor } from './family.js';

/**
 * Every Callaro event family's descriptor, by family: validation, the sink's rows, erasure,
 * trace and the PII policy read them from here. A family in FAMILIES without a descriptor, or
 * a descriptor under another family's name, does not compile.
 */
export const FAMILY_DESCRIPTORS = {
  call: CALL_FAMILY,
  campaign: CAMPAIGN_FAMILY,
  compliance: COMPLIANCE_FAMILY,
} as const satisfies { readonly [F in Family]: FamilyDescriptor<F> };

/** The event tables Callaro's families land in: what erasure and trace take from the descriptors. */
export type FamilyTableName = (typeof FAMILY_DESCRIPTORS)[Family]['table'];

const DESCRIPTORS: readonly FamilyDescriptor[] = FAMILIES.map((family) => FAMILY_DESCRIPTORS[family]);

/** One part of every family's descriptor, by the family's table. */
function byFamilyTable<T>(part: (descriptor: FamilyDescriptor) => T): Readonly<Record<FamilyTableName, T>> {
  return Object.fromEntries(DESCRIPTORS.map((d) => [d.table, part(d)])) as Record<FamilyTableName, T>;
}

/** The families' tables' erasure slots (src/erasure/erasure.ts adds the other tables'). */
export const FAMILY_ERASURE_SLOTS = byFamilyTable((d) => d.erasure);

/** How trace finds a call's rows in the families' tables (src/trace/lookup.ts adds the callbacks'). */
export const FAMILY_ROW_LOOKUPS = byFamilyTable((d) => d.trace);

/** Every family's phone-number columns, and where each one's last four digits go. */
export const PHONE_COLUMNS: Readonly<Record<string, string>> = Object.assign({}, ...DESCRIPTORS.map((d) => d.phoneColumns));

/** The family an event name belongs to, or undefined for an unknown family. */
export function familyOf(eventName: unknown): Family | undefined {
  if (typeof eventName !== 'string') return undefined;
  return DESCRIPTORS.find((d) => d.prefixes.some((prefix) => eventName.startsWith(prefix)))?.family;
}

/** The event names every family accepts, for a message: "call.*, campaign.*, compliance.* or number_health.*". */
export function expectedEventNames(): string {
  const names = DESCRIPTORS.flatMap((d) => d.prefixes.map((prefix) => `${prefix}*`));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names.join('');
}

/** The table of a Callaro event family; undefined for a family callstream does not know. */
export function tableForFamily(family: string): TableSpec | undefined {
  return Object.hasOwn(FAMILY_DESCRIPTORS, family) ? TABLE_BY_NAME[FAMILY_DESCRIPTORS[family as Family].table] : undefined;
}
