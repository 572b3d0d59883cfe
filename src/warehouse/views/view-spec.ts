import type { SqlDialect } from './dialect.js';
import type { FieldType, ViewSettings } from '../../config/view-settings.js';
import type { TableSpec } from '../tables.js';
import { newestFirstSql } from '../version-rule.js';

/** Types of the views' columns (both warehouses name their own: DuckDB DOUBLE for FLOAT64, ...). */
export type ViewColumnType = FieldType | 'DATE' | 'JSON';

export interface ViewColumn {
  name: string;
  type: ViewColumnType;
  description: string;
}

/** What a view's SQL is written against: the engine's dialect, the settings, and how to name a table or view. */
export interface ViewContext {
  d: SqlDialect;
  settings: ViewSettings;
  /** The reference to a table or another view by its callstream name (BigQuery: project.dataset.prefixname). */
  ref(name: string): string;
}

/**
 * One analysts' view: its SQL, written once for both warehouses, and its documented shape.
 * The columns are those the SQL selects, in order: the contract suite checks both engines
 * against them, and docs/analytics.md and the dbt schema are checked against them too.
 */
export interface ViewSpec {
  name: string;
  description: string;
  /** Tables and views it selects from: it is created once these exist. */
  reads: readonly string[];
  /** Columns that identify a row (the dbt package tests them unique together). */
  key: readonly string[];
  /** Columns that are never NULL (the dbt package tests them). */
  notNull: readonly string[];
  columns(settings: ViewSettings): ViewColumn[];
  sql(ctx: ViewContext): string;
}

/** Shorthand for a column. */
export const column = (name: string, type: ViewColumnType, description: string): ViewColumn => ({ name, type, description });

/**
 * A version order over rows of the table `spec`, newest first: the later event, then the later
 * version by the table's version rule (newestFirstSql: the later receipt, then the higher
 * request id).
 */
export function newestFirst(spec: TableSpec): string {
  return `event_time DESC, ${newestFirstSql(spec)}`;
}
