import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { blobValue, DuckDBBlobValue, DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { OPTIONS, sizeInBytes } from '../../config/options.js';
import { CallstreamError } from '../../errors.js';
import type { Column, ColumnType, Row, TableSpec } from '../tables.js';
import { matchSql, type RowMatch } from '../row-match.js';
import { classifyDuckDbError } from './classify-error.js';
import { KeyFilter, type LayerState } from './key-filter.js';
import { keyMatchSql, newerSql, newestPerKey, replaceSetSql, versionGuardedMergeSql } from '../version-rule.js';
import type { Warehouse, WarehouseIdentity } from '../warehouse.js';
import { DEFAULT_VIEW_SETTINGS, DUCKDB_DIALECT, viewStatements, type ViewSettings } from '../views/index.js';

const TARGET_TYPE: Record<ColumnType, string> = { STRING: 'VARCHAR', INT64: 'BIGINT', TIMESTAMP: 'TIMESTAMPTZ', JSON: 'JSON' };
/** Staging keeps raw transport values; the MERGE converts them. */
const STAGE_TYPE: Record<ColumnType, string> = { STRING: 'VARCHAR', INT64: 'BIGINT', TIMESTAMP: 'BIGINT', JSON: 'VARCHAR' };

/** Rows per row group of the warehouse file (DuckDB's default: 122,880). */
const ROW_GROUP_SIZE = 16_384;
/** DuckDB's buffer pool (its default: 80 % of the machine's RAM); CALLSTREAM_DUCKDB_MEMORY_LIMIT. */
const MEMORY_LIMIT = OPTIONS.duckdbMemoryLimit.schema.parse(undefined);
/**
 * WAL size that triggers a checkpoint (DuckDB's default: 16 MB). A checkpoint compresses
 * and rewrites every row group that received rows, so with a flush of ~5,000 rows of 2-4 KB
 * (~20 MB of WAL) the default checkpointed after every flush. Until a checkpoint, what was
 * written stays in the buffer pool (or spills), and the checkpoint works on it there: a
 * threshold as large as the pool ran the history bench out of memory after 5 million rows
 * (256 MB of each). So a quarter of the pool (64 MB for the default 256 MB), at most 256 MB,
 * which measured ~15,000 against ~8,800 rows/s for 16 MB over 1M rows (bench/load/duckdb-upsert.js).
 * Each checkpoint stalls the writes to its table for the time it takes (0.3-0.6 s for 60 MB of
 * WAL); 40 % of the pool made them fewer but halved the bulk rate (docs/performance.md).
 */
export function checkpointThreshold(memoryLimit: string): string {
  const megabytes = Math.floor((sizeInBytes(memoryLimit) || 256 * 1_000_000) / 4 / 1_000_000);
  return `${Math.max(16, Math.min(256, megabytes))}MB`;
}

/**
 * No vacuum at checkpoints (DuckDB's max_vacuum_tasks, default 100). A large write (the sink's
 * batches while it catches up) is stored as row groups smaller than the row group size, and a
 * checkpoint then merges such groups (and groups holding deleted rows): on a file of 1 M rows that
 * took 1.2-2.0 s of a checkpoint's 1.5-2.3 s (perf: VacuumTask, decompressing and compressing old
 * row groups again), against 0.4-0.5 s without; the writes to the table wait for it. Over a build
 * of 1 M rows it cost 40 % of the bulk rate (9,400 against 15,600 rows/s), and it ran the pool out
 * on a backlog of 900 KB events (which now drains). It saved little space: 3 % more file at 1 M
 * with it, 2 % less at 10 M. One task cost as much as a hundred. What is left: more, smaller row
 * groups, and the bytes of a replaced or erased row stay in its row group (unreadable by any
 * query) until that group is rewritten (docs/performance.md, docs/privacy.md).
 */
const MAX_VACUUM_TASKS = '0';

/**
 * DuckDB's own allocator (a jemalloc inside libduckdb) gives memory back sooner: it flushes its
 * caches after a task or a bulk free of more than 16 MB (DuckDB's defaults: 128 MB and 512 MB), with
 * background threads purging what is freed. Two pairs of writers side by side from 0 to 1 M rows
 * (2026-12-08): peak RSS 536-575 MB with these against 616-667 MB with DuckDB's defaults, at the
 * same rate (6,752 against 6,600 rows/s in the last step); with background threads alone,
 * 573-651 MB against 528-597 with all three (docs/performance.md).
 */
const ALLOCATOR_SETTINGS = { allocator_flush_threshold: '16MB', allocator_bulk_deallocation_flush_threshold: '16MB', allocator_background_threads: 'true' };

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Where the key filters are saved at a clean close (a schema of its own, out of the analysts'
 * way). A start reads a table's filter and deletes it at once: after a crash there is none, and
 * the filter is built again from the table.
 */
const SAVED_FILTERS = 'callstream_state.key_filters';
/** The file's identity (one row, made when the file is first written): see identity(). */
const IDENTITY = 'callstream_state.warehouse_identity';

export interface DuckDbOptions {
  /** Attach the file READ_ONLY: `callstream query` with no pipeline running. */
  readOnly?: boolean;
  /** See CALLSTREAM_QUERY_TIMEOUT_MS and CALLSTREAM_QUERY_MAX_ROWS (their defaults when unset). */
  queryTimeoutMs?: number;
  queryMaxRows?: number;
  /** Instead of checkpointThreshold(memoryLimit) (bench/load/duckdb-upsert.js measures others; settings are locked after open). */
  checkpointThreshold?: string;
  /** DuckDB's memory_limit, instead of CALLSTREAM_DUCKDB_MEMORY_LIMIT's default. */
  memoryLimit?: string;
  /** More DuckDB settings at start (e.g. threads): what benches try before a default changes. */
  settings?: Record<string, string>;
  /** Rows per row group of what is written, instead of ROW_GROUP_SIZE (for benches). */
  rowGroupSize?: number;
  /** Settings of the analysts' views (CALLSTREAM_VIEWS_*; their defaults when unset). */
  views?: ViewSettings;
  /**
   * How upsert writes: 'filtered' (the default, see upsert) costs about the same however many
   * rows are stored; 'merge' joins every batch against the whole table, the design before,
   * whose cost grows with the table: kept only as the history bench's baseline
   * (bench/load/history.js).
   */
  writePath?: WritePath;
}

export type WritePath = 'filtered' | 'merge';

/** A query's rows, and whether the row cap cut them. */
export interface QueryAnswer {
  rows: Record<string, unknown>[];
  truncated: boolean;
}

interface QueryLimits {
  timeoutMs: number;
  maxRows: number;
}

/**
 * The embedded warehouse. One process owns the database file (DuckDB allows no second
 * writer, nor a reader beside it), so queries go through this object; `callstream
 * query` reaches it over the pipeline's local socket.
 */
export class DuckDbWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  /** DuckDB connections are not for concurrent statements: writes run one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Queries likewise, on the reader: a write never waits behind a query, nor a query behind a write. */
  private readerQueue: Promise<unknown> = Promise.resolve();
  /** Per table, the keys it may hold (built by ensureTables from the stored rows, then kept by upsert). */
  private readonly keyFilters = new Map<string, KeyFilter>();

  private get writePath(): WritePath {
    return this.options.writePath ?? 'filtered';
  }

  /** The tables ensured so far, by name: what recover() sets up again on the reopened file. */
  private readonly ensured = new Map<string, TableSpec>();

  private constructor(
    private instance: DuckDBInstance,
    private writer: DuckDBConnection,
    private reader: DuckDBConnection,
    private readonly limits: QueryLimits,
    private readonly views: ViewSettings,
    private readonly path: string,
    private readonly options: DuckDbOptions,
  ) {}

  /**
   * Opens (or creates) the database file; ':memory:' for a throwaway one. The file is
   * attached with small row groups: at each checkpoint DuckDB rewrites the row group that
   * received rows, and with 2-4 KB rows its default (122,880 rows, ~400 MB) made every
   * checkpoint slower as the table grew (measured by `npm run bench`); checkpoints wait for
   * a quarter of the pool's size of WAL (see checkpointThreshold). The buffer pool is
   * capped so that the sink's memory stays bounded whatever the table's size (DuckDB's
   * default is 80 % of the machine's RAM); larger work spills to `<file>.tmp`.
   *
   * Once the file is attached, the instance loses file and network access and its settings
   * are locked, for every connection: the query rules (see runReadOnly) then cannot be undone
   * by a query, nor read or write files (read_text, COPY, ATTACH, INSTALL). The attached file
   * and the temp directory stay usable, so writes, spilling and checkpoints go on.
   */
  static async open(path: string, options: DuckDbOptions = {}): Promise<DuckDbWarehouse> {
    const inMemory = path === ':memory:';
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    const limits: QueryLimits = {
      timeoutMs: options.queryTimeoutMs ?? OPTIONS.queryTimeoutMs.schema.parse(undefined),
      maxRows: options.queryMaxRows ?? OPTIONS.queryMaxRows.schema.parse(undefined),
    };
    const { instance, writer, reader } = await connectFile(path, options);
    return new DuckDbWarehouse(instance, writer, reader, limits, options.views ?? DEFAULT_VIEW_SETTINGS, path, options);
  }

  /**
   * Closes the file and opens it again (Warehouse.recover, after SINK_WAREHOUSE_EXHAUSTED): DuckDB
   * gives back its buffer pool and the temp stage tables, and a database that a checkpoint on a
   * full disk invalidated ("Detach and reattach it") is attached again. Measured with a 24 MB
   * memory_limit and 2.5 KB rows in batches of 2,000: the MERGE failed at 84,000 rows; a CHECKPOINT
   * then let one more batch in, halving the batches 46,000 rows, a reopen 1.7 M. Waits for the
   * write and the query running; queries asked meanwhile run on the new connection. What was
   * committed is in the file or its WAL, so nothing is lost; when the file cannot be opened (the
   * disk still full) this throws and the next recover() tries again. An in-memory database has
   * nothing to reopen (it would be lost): nothing happens.
   */
  async recover(): Promise<void> {
    if (this.path === ':memory:') return;
    const reopened = this.serial(() => this.reopen());
    // Queued right behind the reopen, so no write comes between: the stage tables are back before the next upsert.
    const ensured = this.ensureTables([...this.ensured.values()]);
    ensured.catch(() => undefined); // reported below, after the reopen's own error
    try {
      await reopened;
      await ensured;
    } catch (cause) {
      // Classified like a write's error: a reopen on a full disk is SINK_WAREHOUSE_EXHAUSTED (disk) too.
      throw classifyDuckDbError(cause instanceof CallstreamError && cause.cause ? cause.cause : cause, `DuckDB reopen of ${this.path}`);
    }
  }

  private async reopen(): Promise<void> {
    const swap = this.readerQueue.then(async () => {
      for (const connection of [this.writer, this.reader]) ignoreErrors(() => connection.closeSync());
      ignoreErrors(() => this.instance.closeSync());
      ({ instance: this.instance, writer: this.writer, reader: this.reader } = await connectFile(this.path, this.options));
    });
    this.readerQueue = swap.catch(() => undefined);
    await swap;
  }

  ensureTables(specs: readonly TableSpec[]): Promise<void> {
    for (const spec of specs) this.ensured.set(spec.name, spec);
    return this.serial(async () => {
      for (const spec of specs) {
        const columns = spec.columns.map((c) => `${quote(c.name)} ${TARGET_TYPE[c.type]}${c.required ? ' NOT NULL' : ''}`);
        await this.writer.run(`CREATE TABLE IF NOT EXISTS ${quote(spec.name)} (${columns.join(', ')})`);
        await this.addMissingColumns(spec);
        await this.writer.run(stageTableSql(spec));
      }
      for (const view of viewStatements(DUCKDB_DIALECT, this.views, quote, specs)) await this.writer.run(view.sql);
      if (this.writePath === 'filtered') {
        await this.writer.run('CREATE SCHEMA IF NOT EXISTS callstream_state');
        await this.writer.run(`CREATE TABLE IF NOT EXISTS ${SAVED_FILTERS} (table_name VARCHAR NOT NULL, layer INTEGER NOT NULL, capacity BIGINT NOT NULL, keys BIGINT NOT NULL, table_rows BIGINT NOT NULL, bits BLOB NOT NULL)`);
        for (const spec of specs) if (!this.keyFilters.has(spec.name)) this.keyFilters.set(spec.name, await this.loadKeyFilter(spec));
      }
    });
  }

  /**
   * Writes the newest version of each key, never replacing a stored row by an older version
   * (newerSql). With writePath 'filtered' a batch is split by the table's key filter:
   * - keys the table has never held (most of live traffic) are inserted: no lookup at all;
   * - keys it may hold are looked up only among the stored rows at least as recent (event_time)
   *   as the oldest of them, where a redelivery's stored version is (the same event, the same
   *   time); DuckDB skips the older row groups by their min/max of event_time;
   * - what is not found there (a new version on a later day, or the filter's rare false "maybe")
   *   goes through the MERGE against the whole table, which is exact but costs a scan.
   * One transaction: a batch is stored whole or not at all.
   */
  upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    if (rows.length === 0) return Promise.resolve(0);
    const unique = newestPerKey(spec, rows);
    return this.serial(async () => {
      try {
        const filter = this.keyFilters.get(spec.name);
        if (this.writePath === 'merge' || !filter) {
          await this.stage(spec, unique);
          return Number((await this.writer.run(mergeSql(spec))).rowsChanged);
        }
        const fresh: Row[] = [];
        const known: Row[] = [];
        // Added before the write: a key in the filter whose write then failed only costs a lookup later.
        for (const row of unique) (filter.addIfAbsent(keyOf(spec, row)) ? fresh : known).push(row);
        await this.writer.run('BEGIN TRANSACTION');
        try {
          let changed = 0;
          if (fresh.length > 0) {
            await this.stage(spec, fresh);
            changed += Number((await this.writer.run(insertSql(spec))).rowsChanged);
          }
          if (known.length > 0) changed += await this.upsertKnown(spec, known);
          await this.writer.run('COMMIT');
          return changed;
        } catch (err) {
          await this.writer.run('ROLLBACK').catch(() => undefined);
          throw err;
        }
      } catch (cause) {
        throw classifyDuckDbError(cause, `DuckDB upsert into ${spec.name} (${unique.length} rows)`);
      }
    });
  }

  /** The rows whose key the table may hold: the recent rows first, the whole table for the rest. */
  private async upsertKnown(spec: TableSpec, rows: Row[]): Promise<number> {
    await this.stage(spec, rows);
    let since = Infinity;
    for (const row of rows) since = Math.min(since, Number(row.event_time));
    const recent = `T.event_time >= make_timestamptz(${Math.trunc(since)} * 1000)`;
    let changed = Number((await this.writer.run(recentUpdateSql(spec, recent))).rowsChanged);
    await this.writer.run(`DELETE FROM ${quote(stageName(spec))} AS S WHERE EXISTS (SELECT 1 FROM ${quote(spec.name)} AS T WHERE ${keyMatchSql(spec, quote)} AND ${recent})`);
    const left = await this.writer.runAndReadAll(`SELECT count(*) AS n FROM ${quote(stageName(spec))}`);
    if (Number(left.getRowObjects()[0].n) > 0) changed += Number((await this.writer.run(mergeSql(spec))).rowsChanged);
    return changed;
  }

  /**
   * Replaces what the table's stage holds by these rows. The stage is made anew each time: a
   * DELETE from a temp table gives none of its space back (measured: 400 stages of 5,000 rows of
   * 2 KB, deleted each time, held the whole 256 MB pool and spilled 1.36 GB; made anew, 11 MB),
   * which is what ran the sink out of memory after a few million rows, whatever the pool.
   */
  private async stage(spec: TableSpec, rows: Row[]): Promise<void> {
    await this.writer.run(stageTableSql(spec));
    const appender = await this.writer.createAppender(stageName(spec), 'main', 'temp');
    try {
      for (const row of rows) {
        for (const c of spec.columns) appendValue(appender, c, row[c.name]);
        appender.endRow();
      }
    } catch (badValue) {
      // A half-appended row cannot be closed cleanly; what the stage got is deleted before the next upsert.
      ignoreErrors(() => appender.closeSync());
      throw badValue;
    }
    appender.closeSync();
  }

  /**
   * The key filter of a table: the one saved at the last clean close, if the table still holds
   * as many rows as then (another program, e.g. an older callstream, may have written since);
   * else built from the keys of the stored rows (seconds per million rows).
   */
  private async loadKeyFilter(spec: TableSpec): Promise<KeyFilter> {
    const table = quote(spec.name);
    const rows = Number((await this.writer.runAndReadAll(`SELECT count(*) AS n FROM ${table}`)).getRowObjects()[0].n);
    const saved = (await this.writer.runAndReadAll(`SELECT capacity, keys, table_rows, bits FROM ${SAVED_FILTERS} WHERE table_name = $1 ORDER BY layer`, [spec.name])).getRowObjects();
    await this.writer.run(`DELETE FROM ${SAVED_FILTERS} WHERE table_name = $1`, [spec.name]);
    if (saved.length > 0 && saved.every((r) => Number(r.table_rows) === rows)) {
      try {
        return KeyFilter.restore(saved.map((r): LayerState => ({ capacity: Number(r.capacity), count: Number(r.keys), bits: (r.bits as DuckDBBlobValue).bytes })));
      } catch {
        // Not this version's layout: built again below.
      }
    }
    const filter = new KeyFilter(rows);
    const keys = spec.keyColumns.map((c) => `CAST(${quote(c)} AS VARCHAR)`).join(', ');
    const result = await this.writer.stream(`SELECT concat_ws(chr(0), ${keys}) FROM ${table}`);
    for await (const chunk of result.yieldRows()) for (const [key] of chunk) filter.add(String(key));
    return filter;
  }

  /** Saves the key filters for the next start (a clean close only). */
  private async saveKeyFilters(): Promise<void> {
    await this.writer.run('BEGIN TRANSACTION');
    for (const [name, filter] of this.keyFilters) {
      const rows = Number((await this.writer.runAndReadAll(`SELECT count(*) AS n FROM ${quote(name)}`)).getRowObjects()[0].n);
      await this.writer.run(`DELETE FROM ${SAVED_FILTERS} WHERE table_name = $1`, [name]);
      for (const [layer, state] of filter.layerStates().entries()) {
        await this.writer.run(`INSERT INTO ${SAVED_FILTERS} VALUES ($1, $2, $3, $4, $5, $6)`, [name, layer, state.capacity, state.count, rows, blobValue(state.bits)]);
      }
    }
    await this.writer.run('COMMIT');
  }

  eraseRows(spec: TableSpec, match: RowMatch, options: { dryRun: boolean }): Promise<number> {
    const { where, values } = duckDbMatch(match);
    return this.serial(async () => {
      try {
        if (!options.dryRun) return Number((await this.writer.run(`DELETE FROM ${quote(spec.name)} WHERE ${where}`, values)).rowsChanged);
        const counted = await this.writer.runAndReadAll(`SELECT count(*) AS n FROM ${quote(spec.name)} WHERE ${where}`, values);
        return Number(counted.getRowObjects()[0].n);
      } catch (cause) {
        throw new CallstreamError('WH_ERASE_FAILED', `DuckDB erasure in ${spec.name}: ${(cause as Error).message}`, { cause });
      }
    });
  }

  distinctValues(spec: TableSpec, match: RowMatch, column: string): Promise<string[]> {
    const { where, values } = duckDbMatch(match);
    return this.serial(async () => {
      try {
        const result = await this.writer.runAndReadAll(`SELECT DISTINCT CAST(${quote(column)} AS VARCHAR) AS v FROM ${quote(spec.name)} WHERE (${where}) AND ${quote(column)} IS NOT NULL`, values);
        return result.getRowObjects().map((r) => String(r.v));
      } catch (cause) {
        throw new CallstreamError('WH_ERASE_FAILED', `DuckDB erasure lookup in ${spec.name}: ${(cause as Error).message}`, { cause });
      }
    });
  }

  async query(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.boundedQuery(sql)).rows;
  }

  /** query() with the answer's `truncated`: what `callstream query` shows. */
  boundedQuery(sql: string): Promise<QueryAnswer> {
    const answer = this.readerQueue.then(() => runReadOnly(this.reader, sql, this.limits));
    this.readerQueue = answer.catch(() => undefined);
    return answer;
  }

  /**
   * A random id made the first time it is asked for and kept in the file, so it moves with the
   * file and a new file (another data folder, a deleted one) is another warehouse. The
   * description names the file and this host, for the message of a refused sink.
   */
  identity(): Promise<WarehouseIdentity> {
    return this.serial(async () => {
      await this.writer.run('CREATE SCHEMA IF NOT EXISTS callstream_state');
      await this.writer.run(`CREATE TABLE IF NOT EXISTS ${IDENTITY} (id VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL)`);
      await this.writer.run(`INSERT INTO ${IDENTITY} SELECT $1, now() WHERE NOT EXISTS (SELECT 1 FROM ${IDENTITY})`, [randomUUID()]);
      const id = String((await this.writer.runAndReadAll(`SELECT min(id) AS id FROM ${IDENTITY}`)).getRowObjects()[0].id);
      const file = this.path === ':memory:' ? 'an in-memory DuckDB' : `DuckDB file ${resolve(this.path)}`;
      return { id: `duckdb:${id}`, description: `${file} on ${hostname()} (id ${id})` };
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.catch(() => undefined), this.readerQueue]);
    // Without it the next start builds the filters from the tables: slower, never wrong.
    if (this.keyFilters.size > 0) await this.saveKeyFilters().catch(() => this.writer.run('ROLLBACK').catch(() => undefined));
    this.writer.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
  }

  private async addMissingColumns(spec: TableSpec): Promise<void> {
    const result = await this.writer.runAndReadAll(
      `SELECT column_name FROM information_schema.columns WHERE table_name = '${spec.name}' AND table_schema = 'main'`,
    );
    const existing = new Set(result.getRowObjects().map((r) => String(r.column_name)));
    for (const c of spec.columns.filter((c) => !existing.has(c.name))) {
      // Added columns are nullable: old rows have no value for them.
      await this.writer.run(`ALTER TABLE ${quote(spec.name)} ADD COLUMN ${quote(c.name)} ${TARGET_TYPE[c.type]}`);
    }
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * A new instance on the file (see DuckDbWarehouse.open): a writer and a reader connection, the
 * file attached, UTC, and then no file or network access and locked settings.
 */
async function connectFile(path: string, options: DuckDbOptions): Promise<{ instance: DuckDBInstance; writer: DuckDBConnection; reader: DuckDBConnection }> {
  const inMemory = path === ':memory:';
  try {
    const memoryLimit = options.memoryLimit ?? MEMORY_LIMIT;
    const settings: Record<string, string> = { memory_limit: memoryLimit, checkpoint_threshold: options.checkpointThreshold ?? checkpointThreshold(memoryLimit), max_vacuum_tasks: MAX_VACUUM_TASKS, ...ALLOCATOR_SETTINGS };
    if (!inMemory) settings.temp_directory = `${path}.tmp`;
    Object.assign(settings, options.settings);
    const instance = await DuckDBInstance.create(':memory:', settings);
    const writer = await instance.connect();
    const reader = await instance.connect();
    if (!inMemory) {
      const attach = options.readOnly ? 'READ_ONLY' : `ROW_GROUP_SIZE ${options.rowGroupSize ?? ROW_GROUP_SIZE}`;
      await writer.run(`ATTACH '${path.replace(/'/g, "''")}' AS warehouse (${attach})`);
      for (const connection of [writer, reader]) await connection.run('USE warehouse');
    }
    // UTC like BigQuery, whatever the machine's zone: CURRENT_DATE, CAST(ts AS DATE) and EXTRACT give the
    // same days on both (docs/analytics.md). Each connection took the zone when it connected.
    for (const connection of [writer, reader]) await connection.run("SET TimeZone = 'UTC'");
    await writer.run('SET enable_external_access = false');
    await writer.run('SET lock_configuration = true');
    return { instance, writer, reader };
  } catch (cause) {
    throw new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', `Could not open DuckDB at ${path}`, { cause });
  }
}

/**
 * The rules of `callstream query`, whichever process owns the file. The statement is
 * classified by DuckDB's own parser (a keyword check would miss `PRAGMA`s, `WITH … DELETE`,
 * comments); preparing it binds it, which is where DuckDB refuses file access. EXPLAIN is
 * refused too: DuckDB's type for it says nothing of the statement explained, and EXPLAIN
 * ANALYZE runs that statement. The time limit covers the whole run, rows are read chunk by
 * chunk up to the cap, and the transaction is read-only whatever the statement.
 */
async function runReadOnly(reader: DuckDBConnection, sql: string, limits: QueryLimits): Promise<QueryAnswer> {
  await reader.run('BEGIN TRANSACTION READ ONLY');
  let interrupted = false;
  let reinterrupt: NodeJS.Timeout | undefined;
  const deadline = setTimeout(() => {
    interrupted = true;
    reader.interrupt();
    // DuckDB forgets an interrupt that lands between two calls (after prepare, before the
    // stream starts): repeat it until the run ends.
    reinterrupt = setInterval(() => reader.interrupt(), 50);
  }, limits.timeoutMs);
  try {
    const statements = await reader.extractStatements(sql).catch((cause: Error) => {
      // A parse error comes with DuckDB's message; a text without any statement (blanks,
      // comments, `;`) fails inside node-api without one.
      throw cause.message.startsWith('Failed to extract statements:') ? cause : refused('got no statement', cause);
    });
    if (statements.count !== 1) throw refused(`got ${statements.count} statements`);
    const prepared = await statements.prepare(0);
    try {
      if (prepared.statementType !== StatementType.SELECT) throw refused(`got ${StatementType[prepared.statementType] ?? prepared.statementType}`);
      const result = await prepared.stream();
      const rows: Record<string, unknown>[] = [];
      let truncated = false;
      for await (const chunk of result.yieldRowObjectJson()) {
        const room = limits.maxRows - rows.length;
        if (chunk.length > room) {
          rows.push(...chunk.slice(0, room));
          truncated = true;
          break;
        }
        rows.push(...chunk);
      }
      return { rows, truncated };
    } finally {
      prepared.destroySync();
    }
  } catch (cause) {
    if (cause instanceof CallstreamError) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    if (interrupted) {
      throw new CallstreamError('WH_QUERY_TIMEOUT', `The query ran longer than ${limits.timeoutMs} ms (CALLSTREAM_QUERY_TIMEOUT_MS) and was interrupted`, { cause });
    }
    // DuckDB's exception type, the prefix of its messages: raised where a query reached for a file.
    if (message.startsWith('Permission Error:')) throw refused(`no file or network access: ${message}`, cause);
    throw new CallstreamError('WH_QUERY_FAILED', message, { cause });
  } finally {
    clearTimeout(deadline);
    clearInterval(reinterrupt);
    await reader.run('ROLLBACK');
  }
}

function refused(reason: string, cause?: unknown): CallstreamError {
  return new CallstreamError('WH_QUERY_REFUSED', `Only one read-only SELECT statement is allowed; ${reason}`, { cause });
}

/** The stage of a table, empty: raw transport values (see STAGE_TYPE); the statements convert them. */
function stageTableSql(spec: TableSpec): string {
  return `CREATE OR REPLACE TEMP TABLE ${quote(stageName(spec))} (${spec.columns.map((c) => `${quote(c.name)} ${STAGE_TYPE[c.type]}`).join(', ')})`;
}

function stageName(spec: TableSpec): string {
  return `stage_${spec.name}`;
}

function sourceExpr(c: Column): string {
  const name = quote(c.name);
  if (c.type === 'TIMESTAMP') return `make_timestamptz(${name} * 1000) AS ${name}`;
  if (c.type === 'JSON') return `${name}::JSON AS ${name}`;
  return name;
}

/** A row's key as the key filter knows it (loadKeyFilter builds the same text in SQL). */
function keyOf(spec: TableSpec, row: Row): string {
  return spec.keyColumns.map((c) => String(row[c])).join('\u0000');
}

/** The stage's rows converted to the table's types (a MERGE's or an UPDATE's source S). */
function stagedRowsSql(spec: TableSpec): string {
  return `SELECT ${spec.columns.map(sourceExpr).join(', ')} FROM ${quote(stageName(spec))}`;
}

/** Rows of keys the table does not hold: appended, no lookup. */
function insertSql(spec: TableSpec): string {
  return `INSERT INTO ${quote(spec.name)} (${spec.columns.map((c) => quote(c.name)).join(', ')}) ${stagedRowsSql(spec)}`;
}

/** The version guard's UPDATE, over the stored rows that `recent` (a condition on T) admits. */
function recentUpdateSql(spec: TableSpec, recent: string): string {
  return `UPDATE ${quote(spec.name)} AS T SET ${replaceSetSql(spec, quote)}
FROM (${stagedRowsSql(spec)}) AS S
WHERE ${keyMatchSql(spec, quote)} AND ${recent} AND ${newerSql(spec)}`;
}

/** The stage joined against the whole table: exact whatever the stored rows' times, at the cost of a scan. */
function mergeSql(spec: TableSpec): string {
  return versionGuardedMergeSql(spec, { target: `INTO ${quote(spec.name)} AS T`, source: `(${stagedRowsSql(spec)}) AS S`, quote });
}

function ignoreErrors(work: () => void): void {
  try {
    work();
  } catch {
    // nothing to do: the caller reports the first error
  }
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendValue(appender: Appender, c: Column, value: Row[string] | undefined): void {
  if (value === null || value === undefined) return appender.appendNull();
  if (c.type === 'INT64' || c.type === 'TIMESTAMP') return appender.appendBigInt(BigInt(value));
  appender.appendVarchar(String(value));
}

/** A row match as DuckDB SQL with positional parameters ($1, $2, ...). */
function duckDbMatch(match: RowMatch): { where: string; values: Array<string | number> } {
  const values: Array<string | number> = [];
  const where = matchSql(match, {
    quote,
    jsonString: (column, key) => `json_extract_string(${column}, '$.${key}')`,
    list: (list) => `(${list.map((v) => (values.push(v), `$${values.length}`)).join(', ')})`,
  });
  return { where, values };
}
