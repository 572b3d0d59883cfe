// The analysts' views: each one's SQL once (a module per view), the dialect differences in
// dialect.ts, the settings they read in settings.ts. Both warehouses create them with
// viewStatements() at the end of ensureTables().
import type { TableSpec } from '../tables.js';
import { CALL_GAPS } from './call-gaps.js';
import { CALL_LIFECYCLE } from './call-lifecycle.js';
import { CALL_OUTCOMES_DAILY } from './call-outcomes-daily.js';
import { CALLS } from './calls.js';
import { CAMPAIGN_STATUS } from './campaign-status.js';
import type { SqlDialect } from './dialect.js';
import { NUMBER_HEALTH_LATEST } from './number-health-latest.js';
import type { ViewSettings } from '../../config/view-settings.js';
import { TOOL_CALL_FACTS } from './tool-call-facts.js';
import type { ViewSpec } from './view-spec.js';

export { DUCKDB_DIALECT, BIGQUERY_DIALECT, type SqlDialect } from './dialect.js';
export { DEFAULT_GAP_SETTINGS, DEFAULT_VIEW_SETTINGS, FIELD_TYPES, parseCallsFields, viewSettings, type CallsField, type FieldType, type GapSettings, type ViewSettings } from '../../config/view-settings.js';
export { type ViewSpec, type ViewColumn, type ViewColumnType } from './view-spec.js';
export { CALLS, CALL_OUTCOMES_DAILY, TOOL_CALL_FACTS, CALL_LIFECYCLE, CAMPAIGN_STATUS, NUMBER_HEALTH_LATEST, CALL_GAPS };
export { GAP_KINDS, type GapKind } from './call-gaps.js';

/** Every view, each after the views it reads. */
export const VIEWS: readonly ViewSpec[] = [CALL_LIFECYCLE, CALLS, CALL_OUTCOMES_DAILY, TOOL_CALL_FACTS, CAMPAIGN_STATUS, NUMBER_HEALTH_LATEST, CALL_GAPS];

/** A view's name and the statement that creates or replaces it. */
export interface ViewStatement {
  name: string;
  sql: string;
}

/**
 * The statements that create (or replace: the definition may have changed since) the
 * views over the given tables, in dependency order. A view is left out when a table it
 * reads is not among them (an ensureTables() of some tables only), and so is every view
 * that reads it. Idempotent: running them again changes nothing.
 *
 * @param ref names a table or view in the warehouse (DuckDB: quoted; BigQuery: project.dataset.prefixname).
 */
export function viewStatements(d: SqlDialect, settings: ViewSettings, ref: (name: string) => string, tables: readonly TableSpec[]): ViewStatement[] {
  const available = new Set(tables.map((t) => t.name));
  const statements: ViewStatement[] = [];
  for (const view of VIEWS) {
    if (!view.reads.every((name) => available.has(name))) continue;
    available.add(view.name);
    statements.push({ name: view.name, sql: `CREATE OR REPLACE VIEW ${ref(view.name)} AS\n${view.sql({ d, settings, ref })}` });
  }
  return statements;
}
