import { randomUUID } from 'node:crypto';
import type { Query, TableField } from '@google-cloud/bigquery';
import type { managedwriter } from '@google-cloud/bigquery-storage';
import type { BigQuerySettings } from '../../config/index.js';
import { CallstreamError, isCallstreamError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Row, TableSpec } from '../tables.js';
import { newestPerKey } from '../version-rule.js';
import { BigQueryWarehouse, chunkBySize, toTimestamp } from './bigquery-warehouse.js';
import { classifyBigQueryError } from './classify-error.js';
import { quoteId } from './merge-sql.js';
import type { RowMatch } from '../row-match.js';
import { daysOf, deleteStagedSql, listStagedSql, partitionFilterSql, STAGE_ID_COLUMN, STAGED_AT_COLUMN, stagedKeysStoredDaysSql, stagedMergeSql } from './staged-merge-sql.js';
import { type AppendRow, CommittedStream, createWriterClient, protoDescriptorFor } from './storage-write.js';

/** The staging table of a target: `<target>__staged`, in the same dataset. */
export const STAGING_SUFFIX = '__staged';
/**
 * Staged rows expire with their day partition (by staged_at) after this long, whatever
 * happened to them: a backstop for rows left by a crash or a failed DELETE. Safe because no
 * offset is committed before the MERGE that covers its rows finished (see docs/bigquery.md).
 */
const STAGING_EXPIRATION_DAYS = 7;
/** At most this many (append, day) pairs are merged at start-up from a previous run's leftovers. */
const LEFTOVER_LIMIT = 100_000;

export interface StagedStats {
  /** Append requests committed, their retries at the same offset, write streams opened. */
  appends: number;
  appendRetries: number;
  /** Retried appends the API answered ALREADY_EXISTS (the earlier try had landed; nothing stored twice). */
  appendsAlreadyThere: number;
  streams: number;
  /** Most appends in flight at once on one table's stream. */
  maxAppendsInFlight: number;
  /** Staged MERGEs that failed (their rows are sent again by the sink). */
  mergeFailures: number;
  /** DELETEs of merged rows from the staging tables, and how many failed (retried with the next). */
  deletes: number;
  deleteFailures: number;
  /** Appends merged at start-up, left by an earlier run. */
  leftoverAppends: number;
}

/**
 * BigQuery for busy tenants (writeMode "staged"): upsert() appends the rows through the
 * Storage Write API (a COMMITTED stream per table, offsets checked) into the table's staging
 * table, then waits for the next MERGE of that table, which runs at most every
 * mergeIntervalMs and covers every append made meanwhile: newest per key inside the staged
 * rows, the same version guard as the parameter MERGE, the target bounded to the partitions
 * the staged rows touch. It resolves once that MERGE finished, so the sink commits offsets
 * only for rows in the target, as in the parameter mode; the merged staged rows are deleted.
 */
export class StagedBigQueryWarehouse extends BigQueryWarehouse {
  /**
   * Flushes in flight at once (stagedWritesInFlight): an upsert waits for the next MERGE, so
   * later flushes append meanwhile and share it instead of queueing behind it.
   */
  readonly maxWritesInFlight: number;
  readonly staged: StagedStats = { appends: 0, appendRetries: 0, appendsAlreadyThere: 0, streams: 0, maxAppendsInFlight: 0, mergeFailures: 0, deletes: 0, deleteFailures: 0, leftoverAppends: 0 };
  private readonly writer: managedwriter.WriterClient;
  private readonly streams = new Map<string, CommittedStream>();
  private readonly queues = new Map<string, MergeQueue>();
  /** Stage ids this process appended: `<instance>-<n>`; only those are deleted after a failed MERGE. */
  private readonly instance = randomUUID().replace(/-/g, '');
  private seq = 0;
  /** Staged appends merged whose DELETE failed, per table: deleted with the next. */
  private readonly undeleted = new Map<string, string[]>();

  constructor(
    settings: BigQuerySettings,
    private readonly log: Logger,
  ) {
    super(settings, log);
    this.maxWritesInFlight = settings.stagedWritesInFlight;
    this.writer = createWriterClient(settings);
  }

  /** The staging table's name in the dataset: `<prefix><table>__staged`. */
  stagingName(spec: TableSpec): string {
    return `${this.tableName(spec)}${STAGING_SUFFIX}`;
  }

  /** The staging table as a quoted `project.dataset.table` reference for SQL. */
  stagingRef(spec: TableSpec): string {
    return quoteId(`${this.settings.projectId}.${this.settings.dataset}.${this.stagingName(spec)}`);
  }

  /** The targets and their staging tables; then merges what a previous run left staged. */
  override async ensureTables(specs: readonly TableSpec[]): Promise<void> {
    await super.ensureTables(specs);
    try {
      for (const spec of specs) await this.ensureStagingTable(spec);
    } catch (err) {
      throw err instanceof CallstreamError ? err : classifyBigQueryError(err, 'ensuring BigQuery staging tables');
    }
    for (const spec of specs) await this.mergeLeftovers(spec);
  }

  override async upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    const unique = newestPerKey(spec, rows);
    if (unique.length === 0) return 0;
    const stagedAt = new Date();
    // Every row is converted before the first append, so a row BigQuery cannot hold stages nothing.
    const appends = chunkBySize(spec, unique, this.settings.maxRequestBytes).map((chunk) => {
      const id = `${this.instance}-${++this.seq}`;
      return { id, bytes: chunk.bytes, rows: chunk.rows.map((row) => toAppendRow(spec, row, id, stagedAt)) };
    });
    const stream = this.streamFor(spec);
    try {
      // All sent at once, in order: the stream keeps up to stagedAppendsInFlight of them in flight.
      await Promise.all(appends.map((append) => stream.append(append.rows, append.bytes)));
    } finally {
      this.countAppends();
    }
    return this.queueFor(spec).enqueue(
      appends.map((a) => a.id),
      daysOf(unique.map((r) => Number(r.event_time))),
      unique.length,
    );
  }

  /**
   * The target's rows, and the staged versions not merged yet: left staged, the next MERGE would
   * bring them back. The receipt counts the target's rows (what analysts saw).
   */
  override async eraseRows(spec: TableSpec, match: RowMatch, options: { dryRun: boolean }): Promise<number> {
    const rows = await super.eraseRows(spec, match, options);
    await this.eraseFrom(this.stagingRef(spec), this.stagingName(spec), match, options);
    return rows;
  }

  override async close(): Promise<void> {
    for (const queue of this.queues.values()) queue.close();
    for (const stream of this.streams.values()) stream.close();
    this.writer.close();
    await super.close();
  }

  private async ensureStagingTable(spec: TableSpec): Promise<void> {
    const name = this.stagingName(spec);
    const wanted = stagingFields(spec);
    const table = this.dataset.table(name);
    const [exists] = await table.exists();
    if (!exists) {
      if (!this.settings.createTables) throw new CallstreamError('CFG_INVALID', `Staging table ${name} does not exist and createTables is false`);
      await this.dataset.createTable(name, {
        schema: { fields: wanted },
        timePartitioning: { type: 'DAY', field: STAGED_AT_COLUMN, expirationMs: String(STAGING_EXPIRATION_DAYS * 86_400_000) },
        clustering: { fields: [STAGE_ID_COLUMN] },
      });
      this.log.info({ table: name }, 'created BigQuery staging table');
      return;
    }
    const [metadata] = await table.getMetadata();
    const fields: TableField[] = metadata.schema?.fields ?? [];
    const present = new Set(fields.map((f) => f.name));
    const missing = wanted.filter((f) => !present.has(f.name));
    if (missing.length === 0) return;
    if (!this.settings.createTables) throw new CallstreamError('CFG_INVALID', `Staging table ${name} lacks columns ${missing.map((c) => c.name).join(', ')} and createTables is false`);
    await table.setMetadata({ schema: { fields: [...fields, ...missing] } });
    this.log.info({ table: name, added: missing.map((c) => c.name) }, 'added BigQuery staging columns');
  }

  /**
   * Merges the appends a staging table holds from an earlier run (or another instance):
   * harmless when they were merged already (the version guard), and it keeps the staging
   * table small. Rows the MERGE refuses are left to expire; their offsets were never committed.
   */
  private async mergeLeftovers(spec: TableSpec): Promise<void> {
    let listed: Array<Record<string, unknown>>;
    try {
      const [job] = await this.client.createQueryJob({ query: listStagedSql(this.stagingRef(spec), LEFTOVER_LIMIT), location: this.settings.location });
      [listed] = await job.getQueryResults();
    } catch (err) {
      throw classifyBigQueryError(err, `listing ${this.stagingName(spec)}`);
    }
    if (listed.length === 0) return;
    const ids = [...new Set(listed.map((r) => String(r.stage_id)))];
    const days = new Set(listed.map((r) => Number(r.day)));
    try {
      await this.queueFor(spec).enqueue(ids, days, 0);
      this.staged.leftoverAppends += ids.length;
      this.log.info({ table: this.stagingName(spec), appends: ids.length }, 'merged staged rows left by an earlier run');
    } catch (err) {
      if (!isCallstreamError(err, 'SINK_ROW_REJECTED')) throw err;
      this.log.warn({ table: this.stagingName(spec), appends: ids.length, err: (err as Error).message }, `staged rows left by an earlier run were refused; they expire within ${STAGING_EXPIRATION_DAYS} days`);
    }
  }

  /**
   * One MERGE of the given appends, then the DELETE of their staged rows; `submitted` once
   * BigQuery accepted the MERGE job. The MERGE is bounded to the days of the staged rows and
   * the days their keys are stored on, looked up first: a stored version on any other day
   * would not be matched and the key would get a second row. Both statements run in this
   * table's one MERGE slot, so no MERGE of this process stores a key between them.
   */
  private async mergeStaged(spec: TableSpec, ids: string[], days: Set<number>, rows: number, submitted: () => void): Promise<number> {
    let changed: number | undefined;
    try {
      const stored = await this.selectWithStageIds(stagedKeysStoredDaysSql(this.tableRef(spec), this.stagingRef(spec), spec), ids);
      const bound = partitionFilterSql([...days, ...stored.map((r) => Number(r.day))]);
      changed = await this.runWithStageIds(stagedMergeSql(this.tableRef(spec), this.stagingRef(spec), spec, bound), ids, submitted);
    } catch (err) {
      this.staged.mergeFailures++;
      // Not merged: the sink sends these rows again under new stage ids. Only this process's
      // own appends are removed; another instance's may still be waiting for their MERGE.
      await this.deleteStaged(spec, ids.filter((id) => id.startsWith(`${this.instance}-`)));
      throw classifyBigQueryError(err, `staged MERGE into ${this.tableName(spec)} (${ids.length} appends)`);
    }
    this.stats.merges++;
    this.stats.rows += rows;
    this.stats.maxRowsPerMerge = Math.max(this.stats.maxRowsPerMerge, rows);
    await this.deleteStaged(spec, ids);
    // Like the parameter MERGE: without a count from BigQuery, every distinct row counts as changed.
    return changed ?? rows;
  }

  /** Deletes staged rows; a failure is logged and the ids are deleted with the next MERGE's (or expire). */
  private async deleteStaged(spec: TableSpec, ids: string[]): Promise<void> {
    const all = [...(this.undeleted.get(spec.name) ?? []), ...ids];
    if (all.length === 0) return;
    try {
      await this.runWithStageIds(deleteStagedSql(this.stagingRef(spec)), all);
      this.undeleted.delete(spec.name);
      this.staged.deletes++;
    } catch (err) {
      this.undeleted.set(spec.name, all);
      this.staged.deleteFailures++;
      this.log.warn({ table: this.stagingName(spec), appends: all.length, err: (err as Error).message }, 'deleting merged staged rows failed; retried with the next MERGE');
    }
  }

  /** Runs a SELECT over @stage_ids and returns its rows. */
  private async selectWithStageIds(sql: string, ids: string[]): Promise<Array<Record<string, unknown>>> {
    const [job] = await this.client.createQueryJob(this.withStageIds(sql, ids));
    const [rows] = await job.getQueryResults();
    return rows as Array<Record<string, unknown>>;
  }

  /** Runs a DML statement over @stage_ids; the rows it affected, when BigQuery reports them (the emulator does not). */
  private async runWithStageIds(sql: string, ids: string[], submitted?: () => void): Promise<number | undefined> {
    const [job] = await this.client.createQueryJob(this.withStageIds(sql, ids));
    submitted?.();
    const [, , response] = await job.getQueryResults({ maxResults: 0 });
    const affected = (response as { numDmlAffectedRows?: string } | undefined)?.numDmlAffectedRows;
    return affected === undefined ? undefined : Number(affected);
  }

  private withStageIds(sql: string, ids: string[]): Query {
    return { query: sql, params: { stage_ids: ids }, types: { stage_ids: ['STRING'] }, location: this.settings.location } as Query;
  }

  private streamFor(spec: TableSpec): CommittedStream {
    let stream = this.streams.get(spec.name);
    if (!stream) {
      const table = `projects/${this.settings.projectId}/datasets/${this.settings.dataset}/tables/${this.stagingName(spec)}`;
      stream = new CommittedStream(this.writer, table, protoDescriptorFor(stagingFields(spec)), this.log, this.settings.stagedAppendsInFlight);
      this.streams.set(spec.name, stream);
    }
    return stream;
  }

  private queueFor(spec: TableSpec): MergeQueue {
    let queue = this.queues.get(spec.name);
    if (!queue) {
      queue = new MergeQueue(this.settings.mergeIntervalMs, (ids, days, rows, submitted) => this.mergeStaged(spec, ids, days, rows, submitted));
      this.queues.set(spec.name, queue);
    }
    return queue;
  }

  private countAppends(): void {
    const all = [...this.streams.values()].map((s) => s.stats);
    this.staged.appends = all.reduce((n, s) => n + s.appends, 0);
    this.staged.appendRetries = all.reduce((n, s) => n + s.retries, 0);
    this.staged.appendsAlreadyThere = all.reduce((n, s) => n + s.alreadyThere, 0);
    this.staged.streams = all.reduce((n, s) => n + s.streams, 0);
    this.staged.maxAppendsInFlight = Math.max(0, ...all.map((s) => s.maxInFlight));
    this.stats.maxRequestBytes = Math.max(0, ...all.map((s) => s.maxAppendBytes));
  }
}

/** The staging table's columns: the target's (JSON as STRING, parsed by the MERGE), all NULLABLE, then the stage id and time. */
export function stagingFields(spec: TableSpec): TableField[] {
  return [
    ...spec.columns.map((c) => ({ name: c.name, type: c.type === 'JSON' ? 'STRING' : c.type, mode: 'NULLABLE' })),
    { name: STAGE_ID_COLUMN, type: 'STRING', mode: 'REQUIRED', description: 'The append the row came with (<instance>-<n>).' },
    { name: STAGED_AT_COLUMN, type: 'TIMESTAMP', mode: 'REQUIRED', description: 'When the row was appended; the partitioning column (partitions expire).' },
  ];
}

function toAppendRow(spec: TableSpec, row: Row, stageId: string, stagedAt: Date): AppendRow {
  const out: AppendRow = { [STAGE_ID_COLUMN]: stageId, [STAGED_AT_COLUMN]: stagedAt };
  for (const c of spec.columns) {
    const v = row[c.name];
    if (v === null || v === undefined) continue;
    out[c.name] = c.type === 'TIMESTAMP' ? toTimestamp(spec, c.name, Number(v)) : v;
  }
  return out;
}

interface Waiter {
  /** The distinct rows this waiter's upsert staged. */
  rows: number;
  resolve(changed: number): void;
  reject(err: unknown): void;
}

/**
 * The MERGEs of one table: appends wait here and the next MERGE takes all of them, one in
 * flight at a time and at least intervalMs after BigQuery accepted the previous one (measured
 * from the answer to its jobs.insert, so the requests, too, are at least intervalMs apart,
 * however late a timer fires on a busy event loop). Every waiter of
 * a MERGE gets its result: its error, or its share of the rows the MERGE changed (BigQuery
 * counts them for the whole MERGE; they are handed out in waiting order, each waiter at most
 * its own rows, so the shares add up to the count and none exceeds what it staged).
 */
class MergeQueue {
  private ids: string[] = [];
  private days = new Set<number>();
  private rows = 0;
  private waiters: Waiter[] = [];
  private timer?: NodeJS.Timeout;
  private running = false;
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly merge: (ids: string[], days: Set<number>, rows: number, submitted: () => void) => Promise<number>,
  ) {}

  enqueue(ids: string[], days: Set<number>, rows: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.ids.push(...ids);
      for (const day of days) this.days.add(day);
      this.rows += rows;
      this.waiters.push({ rows, resolve, reject });
      this.schedule();
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', 'The warehouse closed before the staged rows were merged'));
  }

  private schedule(): void {
    if (this.running || this.timer || this.waiters.length === 0) return;
    const wait = Math.max(0, this.lastStart + this.intervalMs - Date.now());
    this.timer = setTimeout(() => void this.run(), wait);
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    const [ids, days, rows, waiters] = [this.ids, this.days, this.rows, this.waiters];
    [this.ids, this.days, this.rows, this.waiters] = [[], new Set(), 0, []];
    this.running = true;
    this.lastStart = Date.now();
    try {
      let unshared = await this.merge(ids, days, rows, () => (this.lastStart = Date.now()));
      for (const w of waiters) {
        const share = Math.min(w.rows, unshared);
        unshared -= share;
        w.resolve(share);
      }
    } catch (err) {
      for (const w of waiters) w.reject(err);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
