import { CallstreamError } from '../errors.js';

/** Types a flattened `extracted_data` field can take in the `calls` view. */
export const FIELD_TYPES = ['STRING', 'INT64', 'FLOAT64', 'BOOL', 'TIMESTAMP'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** One `extracted_data` field the `calls` view flattens into a typed column of the same name. */
export interface CallsField {
  name: string;
  type: FieldType;
}

/** When a call counts as a gap (the `call_gaps` view, CALLSTREAM_GAPS_*). */
export interface GapSettings {
  /** A call that ended this long ago with no call.completed (or the reverse) is listed. */
  unreportedMinutes: number;
  /** A call whose last provider status is not terminal after this long is listed as stuck. */
  stuckMinutes: number;
  /** How far back the view looks, by event time: the rows older than that are never read. */
  windowDays: number;
  /** Whether a provider is configured to send callbacks (CALLSTREAM_TELEPHONY_VENDORS): only then is a report without any callback a gap. */
  providerExpected: boolean;
}

/** What the analysts' views read from the configuration (CALLSTREAM_VIEWS_*, CALLSTREAM_GAPS_*). */
export interface ViewSettings {
  /** The `extracted_data` field that is a call's outcome. */
  outcomeField: string;
  /** The `extracted_data` fields `calls` flattens, in column order. */
  callsFields: readonly CallsField[];
  gaps: GapSettings;
}

/** The gap settings' defaults: reports are late after 30 minutes, calls stuck after 4 hours, a week looked at. */
export const DEFAULT_GAP_SETTINGS: GapSettings = Object.freeze({ unreportedMinutes: 30, stuckMinutes: 240, windowDays: 7, providerExpected: false });

/**
 * A field name the views may put inside a JSON path and use as a column name. Kept to
 * identifier characters: both engines then read the same path syntax, and a setting can
 * never become SQL.
 */
export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** The options' defaults: extracted_data.outcome is the outcome, no fields flattened. */
export const DEFAULT_VIEW_SETTINGS: ViewSettings = Object.freeze({ outcomeField: 'outcome', callsFields: Object.freeze([]), gaps: DEFAULT_GAP_SETTINGS });

/**
 * Parses CALLSTREAM_VIEWS_CALLS_FIELDS: comma-separated `name:TYPE` (TYPE defaults to STRING),
 * e.g. `sentiment:STRING,score:INT64,vip:BOOL`. Throws a message naming the bad entry.
 */
export function parseCallsFields(text: string): CallsField[] {
  const fields = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [name, type = 'STRING', ...rest] = entry.split(':').map((part) => part.trim());
      const upper = type.toUpperCase();
      if (!FIELD_NAME.test(name) || rest.length > 0 || !(FIELD_TYPES as readonly string[]).includes(upper)) {
        throw new Error(`"${entry}": expected name:TYPE with a name of letters, digits and _ and TYPE one of ${FIELD_TYPES.join(', ')}`);
      }
      return { name, type: upper as FieldType };
    });
  const seen = new Set<string>();
  for (const { name } of fields) {
    if (seen.has(name.toLowerCase())) throw new Error(`"${name}" is listed twice`);
    seen.add(name.toLowerCase());
  }
  return fields;
}

/**
 * The settings, checked against the columns the `calls` view has anyway: a flattened field
 * may not take the name of one (`direction`, `outcome`, ...), since both warehouses refuse a
 * view with two columns of one name.
 */
export function checkViewSettings(settings: ViewSettings, reservedColumns: readonly string[]): ViewSettings {
  const reserved = new Set(reservedColumns.map((c) => c.toLowerCase()));
  const clash = settings.callsFields.filter((f) => reserved.has(f.name.toLowerCase()));
  if (clash.length > 0) {
    throw new CallstreamError(
      'CFG_INVALID',
      `CALLSTREAM_VIEWS_CALLS_FIELDS: ${clash.map((f) => f.name).join(', ')} would repeat a column the calls view already has (${reservedColumns.join(', ')})`,
    );
  }
  if (!FIELD_NAME.test(settings.outcomeField)) throw new CallstreamError('CFG_INVALID', `CALLSTREAM_VIEWS_OUTCOME_FIELD: expected letters, digits and _, got "${settings.outcomeField}"`);
  return settings;
}

/** The views' settings from the parsed configuration. */
export function viewSettings(config: {
  viewsOutcomeField: string;
  viewsCallsFields: readonly CallsField[];
  gapsUnreportedMinutes: number;
  gapsStuckHours: number;
  gapsWindowDays: number;
  telephonyVendors?: string;
}): ViewSettings {
  return {
    outcomeField: config.viewsOutcomeField,
    callsFields: config.viewsCallsFields,
    gaps: {
      unreportedMinutes: config.gapsUnreportedMinutes,
      stuckMinutes: Math.round(config.gapsStuckHours * 60),
      windowDays: config.gapsWindowDays,
      providerExpected: Boolean(config.telephonyVendors),
    },
  };
}
