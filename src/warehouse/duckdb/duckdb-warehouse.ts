import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CallstreamError } from '../../errors.js';
import type { Column, ColumnType, Row, TableSpec } from '../tables.js';
import { keyMatchSql, newerSql, newestPerKey, nonKeyColumns, type Warehouse } from '../warehouse.js';

const TARGET_TYPE: Record<ColumnType, string> = { STRING: 'VARCHAR', INT64: 'BIGINT', TIMESTAMP: 'TIMESTAMPTZ', JSON: 'JSON' };
/** Staging keeps raw transport values; the MERGE converts them. */
const STAGE_TYPE: Record<ColumnType, string> = { STRING: 'VARCHAR', INT64: 'BIGINT', TIMESTAMP: 'BIGINT', JSON: 'VARCHAR' };

/** Rows per row group of the warehouse file (DuckDB's default: 122,880). */
const ROW_GROUP_SIZE = 16_384;
/** DuckDB's buffer pool (its default: 80 % of the machine's RAM). */
const MEMORY_LIMIT = '512MB';
/**
 * WAL size that triggers a checkpoint (DuckDB's default: 16 MB). A checkpoint compresses
 * and rewrites every row group that received rows, so with a flush of ~5,000 rows of 2-4 KB
 * (~20 MB of WAL) the default checkpointed after every flush. 256 MB: the sink's DuckDB
 * throughput went from ~8,800 to ~15,000 rows/s over 1M rows (bench/load/duckdb-upsert.js), at
 * the cost of a longer pause every ~60,000 rows and a longer WAL replay after a crash.
 */
const CHECKPOINT_THRESHOLD = '256MB';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The embedded warehouse. One process owns the database file (DuckDB allows no second
 * writer, nor a reader beside it), so queries go through this object; `callstream
 * query` reaches it over the pipeline's local socket.
 */
export class DuckDbWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  /** DuckDB connections are not for concurrent statements: writes run one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  /**
   * Opens (or creates) the database file; ':memory:' for a throwaway one. The file is
   * attached with small row groups: at each checkpoint DuckDB rewrites the row group that
   * received rows, and with 2-4 KB rows its default (122,880 rows, ~400 MB) made every
   * checkpoint slower as the table grew (measured by `npm run bench`); checkpoints wait for
   * 256 MB of WAL (see CHECKPOINT_THRESHOLD). The buffer pool is
   * capped so that the sink's memory stays bounded whatever the table's size (DuckDB's
   * default is 80 % of the machine's RAM); larger work spills to `<file>.tmp`.
   */
  static async open(path: string): Promise<DuckDbWarehouse> {
    const inMemory = path === ':memory:';
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    try {
      const settings: Record<string, string> = { memory_limit: MEMORY_LIMIT, checkpoint_threshold: CHECKPOINT_THRESHOLD };
      if (!inMemory) settings.temp_directory = `${path}.tmp`;
      const instance = await DuckDBInstance.create(':memory:', settings);
      const writer = await instance.connect();
      const reader = await instance.connect();
      if (!inMemory) {
        await writer.run(`ATTACH '${path.replace(/'/g, "''")}' AS warehouse (ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`);
        for (const connection of [writer, reader]) await connection.run('USE warehouse');
      }
      return new DuckDbWarehouse(instance, writer, reader);
    } catch (cause) {
      throw new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', `Could not open DuckDB at ${path}`, { cause });
    }
  }

  ensureTables(specs: readonly TableSpec[]): Promise<void> {
    return this.serial(async () => {
      for (const spec of specs) {
        const columns = spec.columns.map((c) => `${quote(c.name)} ${TARGET_TYPE[c.type]}${c.required ? ' NOT NULL' : ''}`);
        await this.writer.run(`CREATE TABLE IF NOT EXISTS ${quote(spec.name)} (${columns.join(', ')})`);
        await this.addMissingColumns(spec);
        const stage = spec.columns.map((c) => `${quote(c.name)} ${STAGE_TYPE[c.type]}`);
        await this.writer.run(`CREATE TEMP TABLE IF NOT EXISTS ${quote(stageName(spec))} (${stage.join(', ')})`);
      }
    });
  }

  upsert(spec: TableSpec, rows: Row[]): Promise<number> {
    if (rows.length === 0) return Promise.resolve(0);
    const unique = newestPerKey(spec, rows);
    return this.serial(async () => {
      const stage = quote(stageName(spec));
      try {
        await this.writer.run(`DELETE FROM ${stage}`);
        const appender = await this.writer.createAppender(stageName(spec), 'main', 'temp');
        for (const row of unique) {
          for (const c of spec.columns) appendValue(appender, c, row[c.name]);
          appender.endRow();
        }
        appender.flushSync();
        appender.closeSync();
        const result = await this.writer.run(mergeSql(spec));
        return Number(result.rowsChanged);
      } catch (cause) {
        throw new CallstreamError('SINK_WAREHOUSE_UNAVAILABLE', `DuckDB upsert into ${spec.name} failed`, { cause });
      }
    });
  }

  async query(sql: string): Promise<Record<string, unknown>[]> {
    // A read-only transaction on its own connection: `callstream query` cannot change data.
    return this.serial(async () => {
      await this.reader.run('BEGIN TRANSACTION READ ONLY');
      try {
        const result = await this.reader.runAndReadAll(sql);
        return result.getRowObjectsJson() as Record<string, unknown>[];
      } catch (cause) {
        throw new CallstreamError('WH_QUERY_FAILED', cause instanceof Error ? cause.message : String(cause), { cause });
      } finally {
        await this.reader.run('ROLLBACK');
      }
    });
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
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

function stageName(spec: TableSpec): string {
  return `stage_${spec.name}`;
}

function sourceExpr(c: Column): string {
  const name = quote(c.name);
  if (c.type === 'TIMESTAMP') return `make_timestamptz(${name} * 1000) AS ${name}`;
  if (c.type === 'JSON') return `${name}::JSON AS ${name}`;
  return name;
}

function mergeSql(spec: TableSpec): string {
  const names = spec.columns.map((c) => quote(c.name));
  return `MERGE INTO ${quote(spec.name)} AS T
USING (SELECT ${spec.columns.map(sourceExpr).join(', ')} FROM ${quote(stageName(spec))}) AS S
ON ${keyMatchSql(spec, quote)}
WHEN MATCHED AND ${newerSql(spec)} THEN UPDATE SET ${nonKeyColumns(spec).map((c) => `${quote(c.name)} = S.${quote(c.name)}`).join(', ')}
WHEN NOT MATCHED THEN INSERT (${names.join(', ')}) VALUES (${spec.columns.map((c) => `S.${quote(c.name)}`).join(', ')})`;
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendValue(appender: Appender, c: Column, value: Row[string] | undefined): void {
  if (value === null || value === undefined) return appender.appendNull();
  if (c.type === 'INT64' || c.type === 'TIMESTAMP') return appender.appendBigInt(BigInt(value));
  appender.appendVarchar(String(value));
}
