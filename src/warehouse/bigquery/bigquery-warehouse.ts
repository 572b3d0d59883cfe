import { BigQuery, type BigQueryOptions, type Dataset, type Query, type TableField } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import type { BigQuerySettings } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import { isStorableTime } from '../../events/index.js';
import type { Logger } from '../../logger.js';
import type { ColumnType, Row, TableSpec } from '../tables.js';
import { newestPerKey } from '../version-rule.js';
import type { Warehouse, WarehouseIdentity } from '../warehouse.js';
import { BIGQUERY_DIALECT, DEFAULT_VIEW_SETTINGS, viewStatements, type ViewSettings } from '../views/index.js';
import { matchSql, type RowMatch } from '../row-match.js';
import { classifyBigQueryError } from './classify-error.js';
import { mergeSql, paramKeysSql, quoteId, rowsParamTypes, storedDaysSql } from './merge-sql.js';

/** Names BigQuery may report for the types callstream writes. */
const SAME_TYPE: Record<ColumnType, string[]> = {
  STRING: ['STRING'],
  INT64: ['INT64', 'INTEGER'],
  TIMESTAMP: ['TIMESTAMP'],
  JSON: ['JSON'],
};

/** Per-field overhead of the REST encoding of a struct parameter, for the request-size estimate. */
const PARAM_OVERHEAD_PER_FIELD = 48;

export interface MergeStats {
  merges: number;
  rows: number;
  maxRowsPerMerge: number;
  maxRequestBytes: number;
}

/**
 * BigQuery through the official client: tables created from the table specs (partitioned
 * by day on event_time, clustered by tenant and key), one MERGE per flush and table with
 * a version guard, at most maxConcurrentMerges in flight per table.
 */
export class BigQueryWarehouse implements Warehouse {
  readonly kind = 'bigquery' as const;
  readonly stats: MergeStats = { merges: 0, rows: 0, maxRowsPerMerge: 0, maxRequestBytes: 0 };
  protected readonly client: BigQuery;
  protected readonly dataset: Dataset;
  /** Settings of the analysts' views (CALLSTREAM_VIEWS_*): createWarehouse() sets them from the config. */
  viewSettings: ViewSettings = DEFAULT_VIEW_SETTINGS;
  private readonly slots = new Map<string, Semaphore>();

  constructor(
    readonly settings: BigQuerySettings,
    private readonly logger: Logger,
  ) {
    const options: BigQueryOptions = { projectId: settings.projectId, location: settings.location };
    if (settings.apiEndpoint) options.apiEndpoint = settings.apiEndpoint;
    if (typeof settings.credentials === 'object') options.keyFilename = settings.credentials.keyFile;
    if (settings.credentials === 'none') {
      // Emulators take any token; without one the client would go looking for credentials.
      const authClient = new OAuth2Client();
      authClient.setCredentials({ access_token: 'emulator' });
      options.authClient = authClient as unknown as BigQueryOptions['authClient'];
    }
    this.client = new BigQuery(options);
    this.dataset = this.client.dataset(settings.dataset, { location: settings.location });
  }

  tableName(spec: TableSpec): string {
    return `${this.settings.tablePrefix}${spec.name}`;
  }

  /** A view as query() reads it: the dataset is its default, the connector's prefix is part of the name. */
  viewRef(name: string): string {
    return quoteId(`${this.settings.tablePrefix}${name}`);
  }

  tableRef(spec: TableSpec): string {
    return quoteId(`${this.settings.projectId}.${this.settings.dataset}.${this.tableName(spec)}`);
  }

  async ensureTables(specs: readonly TableSpec[]): Promise<void> {
    try {
      const [exists] = await this.dataset.exists();
      if (!exists) {
        if (!this.settings.createTables) throw new CallstreamError('CFG_INVALID', `Dataset ${this.settings.dataset} does not exist and createTables is false`);
        await this.client.createDataset(this.settings.dataset, { location: this.settings.location });
        this.logger.info({ dataset: this.settings.dataset }, 'created BigQuery dataset');
      }
      for (const spec of specs) await this.ensureTable(spec);
      await this.ensureViews(specs);
    } catch (err) {
      throw err instanceof CallstreamError ? err : classifyBigQueryError(err, 'ensuring BigQuery tables');
    }
  }

  /** The analysts' views over these tables (src/warehouse/views/), created or replaced; none when createTables is false. */
  private async ensureViews(specs: readonly TableSpec[]): Promise<void> {
    if (!this.settings.createTables) return;
    const ref = (name: string) => quoteId(`${this.settings.projectId}.${this.settings.dataset}.${this.settings.tablePrefix}${name}`);
    for (const view of viewStatements(BIGQUERY_DIALECT, this.viewSettings, ref, specs)) {
      const [job] = await this.client.createQueryJob({ query: view.sql, location: this.settings.location });
      await job.getQueryResults({ maxResults: 0 });
    }
  }

  private async ensureTable(spec: TableSpec): Promise<void> {
    const table = this.dataset.table(this.tableName(spec));
    const wanted: TableField[] = spec.columns.map((c) => ({ name: c.name, type: c.type, mode: c.required ? 'REQUIRED' : 'NULLABLE', description: c.description }));
    const [exists] = await table.exists();
    if (!exists) {
      if (!this.settings.createTables) throw new CallstreamError('CFG_INVALID', `Table ${this.tableName(spec)} does not exist and createTables is false`);
      await this.dataset.createTable(this.tableName(spec), {
        schema: { fields: wanted },
        timePartitioning: {
          type: 'DAY',
          field: 'event_time',
          ...(this.settings.partitionExpirationDays ? { expirationMs: String(this.settings.partitionExpirationDays * 86_400_000) } : {}),
        },
        clustering: { fields: [...spec.clusterBy] },
      });
      this.logger.info({ table: this.tableName(spec) }, 'created BigQuery table');
      return;
    }
    const [metadata] = await table.getMetadata();
    const fields: TableField[] = metadata.schema?.fields ?? [];
    const byName = new Map(fields.map((f) => [f.name, f]));
    for (const c of spec.columns) {
      const present = byName.get(c.name);
      if (present && !SAME_TYPE[c.type].includes(String(present.type).toUpperCase())) {
        throw new CallstreamError('CFG_INVALID', `Column ${this.tableName(spec)}.${c.name} is ${present.type} in BigQuery but ${c.type} in callstream; not changed (retype it yourself or use another table)`);
      }
    }
    const missing = spec.columns.filter((c) => !byName.has(c.name));
    if (missing.length === 0) return;
    if (!this.settings.createTables) throw new CallstreamError('CFG_INVALID', `Table ${this.tableName(spec)} lacks columns ${missing.map((c) => c.name).join(', ')} and createTables is false`);
    // New columns are always NULLABLE: rows written before have no value for them.
    const added = missing.map((c) => ({ name: c.name, type: c.type, mode: 'NULLABLE', description: c.description }));
    await table.setMetadata({ schema: { fields: [...fields, ...added] } });
    this.logger.info({ table: this.tableName(spec), added: added.map((c) => c.name) }, 'added BigQuery columns');
  }

  async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    const unique = newestPerKey(spec, rows);
    if (unique.length === 0) return 0;
    const chunks = chunkBySize(spec, unique, this.settings.maxRequestBytes);
    let slots = this.slots.get(spec.name);
    if (!slots) this.slots.set(spec.name, (slots = new Semaphore(this.settings.maxConcurrentMerges)));
    const semaphore = slots;
    const changed = await Promise.all(chunks.map((chunk) => semaphore.run(() => this.merge(spec, chunk.rows, chunk.bytes))));
    return changed.reduce((a, b) => a + b, 0);
  }

  private async merge(spec: TableSpec, rows: Row[], bytes: number): Promise<number> {
    const params: Record<string, unknown> = { rows: rows.map((r) => toParamRow(spec, r)) };
    const types: Record<string, unknown> = { rows: [rowsParamTypes(spec)] };
    try {
      if (this.settings.mergeLookbackDays > 0) {
        params.min_event_time = new Date(Math.min(...rows.map((r) => Number(r.event_time)), await this.oldestStoredDay(spec, rows)));
        types.min_event_time = 'TIMESTAMP';
      }
      const query = { query: mergeSql(this.tableRef(spec), spec, this.settings.mergeLookbackDays), params, types, location: this.settings.location };
      const [job] = await this.client.createQueryJob(query as Query);
      const [, , response] = await job.getQueryResults({ maxResults: 0 });
      this.stats.merges++;
      this.stats.rows += rows.length;
      this.stats.maxRowsPerMerge = Math.max(this.stats.maxRowsPerMerge, rows.length);
      this.stats.maxRequestBytes = Math.max(this.stats.maxRequestBytes, bytes);
      return Number((response as { numDmlAffectedRows?: string } | undefined)?.numDmlAffectedRows ?? rows.length);
    } catch (err) {
      throw classifyBigQueryError(err, `MERGE into ${this.tableName(spec)} (${rows.length} rows)`);
    }
  }

  /**
   * The start (ms) of the oldest day the target stores any of these rows' keys on, or
   * +Infinity: the bounded MERGE must reach back to it, or a stored version on an earlier
   * day than the batch's (a newer version received days after it) would not be matched.
   */
  private async oldestStoredDay(spec: TableSpec, rows: Row[]): Promise<number> {
    const keyTypes = Object.fromEntries(spec.keyColumns.map((c) => [c, rowsParamTypes(spec)[c]]));
    const keys = rows.map((r) => Object.fromEntries(spec.keyColumns.map((c) => [c, r[c]])));
    const query = { query: `SELECT MIN(day) AS day FROM (${storedDaysSql(this.tableRef(spec), spec, paramKeysSql(spec))})`, params: { keys }, types: { keys: [keyTypes] }, location: this.settings.location };
    const [job] = await this.client.createQueryJob(query as Query);
    const [[found]] = await job.getQueryResults();
    const day = (found as { day: number | null } | undefined)?.day;
    return day === null || day === undefined ? Number.POSITIVE_INFINITY : Number(day) * 86_400_000;
  }

  async query(sql: string): Promise<Record<string, unknown>[]> {
    try {
      // A query job, not jobs.query: its errors surface (an emulator answers jobs.query errors with 200).
      // The dataset is the default: tables and views by their plain names, as in docs/analytics.md.
      const [job] = await this.client.createQueryJob({ query: sql, location: this.settings.location, defaultDataset: { projectId: this.settings.projectId, datasetId: this.settings.dataset } });
      const [rows] = await job.getQueryResults();
      return rows.map(toPlain);
    } catch (err) {
      throw new CallstreamError('WH_QUERY_FAILED', err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  async eraseRows(spec: TableSpec, match: RowMatch, options: { dryRun: boolean }): Promise<number> {
    return this.eraseFrom(this.tableRef(spec), this.tableName(spec), match, options);
  }

  /** Counts, then (unless dryRun) deletes, the rows of one table (a target or, staged, its staging table) matching. */
  protected async eraseFrom(ref: string, name: string, match: RowMatch, options: { dryRun: boolean }): Promise<number> {
    const { where, params, types } = bigQueryMatch(match);
    const from = `FROM ${ref} WHERE ${where}`;
    try {
      const [counted] = await this.client.query({ query: `SELECT COUNT(*) AS n ${from}`, params, types, location: this.settings.location } as Query);
      const n = Number((counted[0] as { n: number }).n);
      if (options.dryRun || n === 0) return n;
      const [job] = await this.client.createQueryJob({ query: `DELETE ${from}`, params, types, location: this.settings.location } as Query);
      const [, , response] = await job.getQueryResults({ maxResults: 0 });
      return Number((response as { numDmlAffectedRows?: string } | undefined)?.numDmlAffectedRows ?? n);
    } catch (err) {
      throw new CallstreamError('WH_ERASE_FAILED', `BigQuery erasure in ${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async distinctValues(spec: TableSpec, match: RowMatch, column: string): Promise<string[]> {
    const { where, params, types } = bigQueryMatch(match);
    const col = quoteId(column);
    try {
      const [rows] = await this.client.query({ query: `SELECT DISTINCT CAST(${col} AS STRING) AS v FROM ${this.tableRef(spec)} WHERE (${where}) AND ${col} IS NOT NULL`, params, types, location: this.settings.location } as Query);
      return rows.map((r: { v: string }) => String(r.v));
    } catch (err) {
      throw new CallstreamError('WH_ERASE_FAILED', `BigQuery erasure lookup in ${this.tableName(spec)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** The dataset and the table prefix: every sink writing them is the same warehouse (and may share a consumer group). */
  async identity(): Promise<WarehouseIdentity> {
    const { projectId, dataset, tablePrefix } = this.settings;
    return { id: `bigquery:${projectId}.${dataset}.${tablePrefix}`, description: `BigQuery dataset ${projectId}.${dataset}${tablePrefix ? ` (tables ${tablePrefix}*)` : ''}` };
  }

  async close(): Promise<void> {}
}

/** A row match as BigQuery SQL with named array parameters (IN UNNEST(@p0)). */
function bigQueryMatch(match: RowMatch): { where: string; params: Record<string, unknown>; types: Record<string, unknown> } {
  const params: Record<string, unknown> = {};
  const types: Record<string, unknown> = {};
  const where = matchSql(match, {
    quote: quoteId,
    jsonString: (column, key) => `JSON_VALUE(${column}, '$.${key}')`,
    list: (values, type) => {
      const name = `p${Object.keys(params).length}`;
      params[name] = [...values];
      types[name] = [type];
      return `UNNEST(@${name})`;
    },
  });
  return { where, params, types };
}

function toParamRow(spec: TableSpec, row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of spec.columns) {
    const v = row[c.name];
    // The client drops plain strings for TIMESTAMP parameters: pass Dates.
    out[c.name] = v === null || v === undefined ? null : c.type === 'TIMESTAMP' ? toTimestamp(spec, c.name, Number(v)) : v;
  }
  return out;
}

/** A TIMESTAMP parameter; a time BigQuery cannot hold is the row's fault (dead-lettered), not a reason to retry. */
export function toTimestamp(spec: TableSpec, column: string, ms: number): Date {
  if (!isStorableTime(ms)) {
    throw new CallstreamError('SINK_ROW_REJECTED', `${spec.name}.${column} = ${ms} ms is outside BigQuery's TIMESTAMP range (0001-01-01 to 9999-12-31)`);
  }
  return new Date(ms);
}

/** Splits rows so that each MERGE request stays under maxBytes. */
export function chunkBySize(spec: TableSpec, rows: Row[], maxBytes: number): Array<{ rows: Row[]; bytes: number }> {
  const fixed = 4096; // the statement and envelope
  const chunks: Array<{ rows: Row[]; bytes: number }> = [];
  let current: Row[] = [];
  let bytes = fixed;
  for (const row of rows) {
    let size = spec.columns.length * PARAM_OVERHEAD_PER_FIELD;
    for (const c of spec.columns) size += Buffer.byteLength(JSON.stringify(row[c.name] ?? null));
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push({ rows: current, bytes });
      current = [];
      bytes = fixed;
    }
    if (fixed + size > maxBytes) throw new CallstreamError('SINK_ROW_REJECTED', `A ${spec.name} row of about ${size} bytes does not fit a BigQuery request of ${maxBytes} bytes`);
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) chunks.push({ rows: current, bytes });
  return chunks;
}

function toPlain(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v && typeof v === 'object' && 'value' in (v as object) && Object.keys(v as object).length === 1) out[k] = (v as { value: unknown }).value;
    else if (Buffer.isBuffer(v)) out[k] = v.toString('base64');
    else out[k] = v;
  }
  return out;
}

/** Bounds concurrent work (BigQuery runs at most 2 mutating DML statements per table). */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
