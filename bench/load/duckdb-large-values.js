#!/usr/bin/env node
// How large a value the embedded DuckDB can hold within its buffer pool. DuckDB keeps a
// string of more than a few KB out of line ("overflow string"), and a scan materialises
// every such string of a vector (up to 2,048 rows) at once, in memory it cannot spill
// (tag OVERFLOW_STRINGS in duckdb_memory()). A checkpoint scans the row group it rewrites
// the same way. So the pool must hold the out-of-line bytes of one vector: a table of
// 900 KB values stops accepting writes (and answering full scans) after about pool / 900 KB
// rows, whatever the setting of row group size or checkpoint threshold.
//
// For each value size and pool, this appends rows of that size in steps (a CHECKPOINT after
// each, like the warehouse's own) and, after each step, scans the column on a fresh
// instance; it stops at the first failure or at maxRows. Prints one JSON report: per size
// and pool, the rows held, their bytes, and the error met.
//
// With "layout":"chunks" each value goes instead into a side table, split into rows of
// `chunkChars` characters (id, seq, chunk), with a small reference left in the main table:
// the design that keeps every stored string in line. The scan then reads the chunks, and one
// value is put back together by id (string_agg ordered by seq) after each step. The report adds
// the process's peak RSS.
//
// Usage: node bench/load/duckdb-large-values.js ['{"sizesKb":[16,64,256,900],"pools":["160MB","256MB"],"maxRows":4096,"layout":"inline"}']
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const opts = { sizesKb: [16, 64, 256, 900], pools: ['160MB', '256MB'], maxRows: 4_096, rowGroupSize: 16_384, layout: 'inline', chunkChars: 4_000, ...JSON.parse(process.argv[2] ?? '{}') };
let peakRss = 0;
setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100).unref();
const MB = 1_000_000;

/** A JSON document of about `bytes` (words from a seeded generator, so it does not compress to nothing). */
function document(bytes, seed) {
  const words = 'customer agent pricing demo week calendar invite budget finance review'.split(' ');
  const parts = [];
  let length = 0;
  while (length < bytes) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    parts.push(words[seed % words.length]);
    length += parts[parts.length - 1].length + 1;
  }
  return JSON.stringify({ transcript: parts.join(' ') });
}

async function instance(path, pool) {
  const db = await DuckDBInstance.create(':memory:', { memory_limit: pool, temp_directory: `${path}.tmp` });
  const connection = await db.connect();
  await connection.run(`ATTACH '${path}' AS w (ROW_GROUP_SIZE ${opts.rowGroupSize})`);
  await connection.run('USE w');
  return { db, connection };
}

async function trial(sizeKb, pool) {
  const dir = mkdtempSync(join(tmpdir(), 'callstream-large-values-'));
  const path = join(dir, 'w.duckdb');
  const values = Array.from({ length: 8 }, (_, v) => document(sizeKb * 1024, v + 1));
  const step = Math.max(8, Math.floor((8 * MB) / (sizeKb * 1024)));
  const writer = await instance(path, pool);
  const chunked = opts.layout === 'chunks';
  await writer.connection.run(chunked ? 'CREATE TABLE t (id VARCHAR, payload JSON); CREATE TABLE v (id VARCHAR, seq INTEGER, chunk VARCHAR)' : 'CREATE TABLE t (id VARCHAR, payload JSON)');
  let rows = 0;
  let reassembleMs = null;
  let error = null;
  let failedIn = null;
  try {
    while (rows < opts.maxRows && !error) {
      const appender = await writer.connection.createAppender('t');
      const side = chunked ? await writer.connection.createAppender('v') : undefined;
      for (let i = rows; i < rows + step; i++) {
        const value = values[i % values.length];
        appender.appendVarchar(`call-${i}`);
        appender.appendVarchar(side ? JSON.stringify({ $value: `call-${i}`, chars: value.length }) : value);
        appender.endRow();
        for (let seq = 0; side && seq * opts.chunkChars < value.length; seq++) {
          side.appendVarchar(`call-${i}`);
          side.appendInteger(seq);
          side.appendVarchar(value.slice(seq * opts.chunkChars, (seq + 1) * opts.chunkChars));
          side.endRow();
        }
      }
      try {
        appender.closeSync();
        side?.closeSync();
        await writer.connection.run('CHECKPOINT');
      } catch (cause) {
        error = String(cause.message).split('\n')[0];
        failedIn = 'write';
        break;
      }
      rows += step;
      const reader = await instance(`${path}`, pool).catch((cause) => ({ cause }));
      if (reader.cause) {
        error = String(reader.cause.message).split('\n')[0];
        failedIn = 'open';
        break;
      }
      try {
        await reader.connection.run(chunked ? 'SELECT sum(length(chunk)) FROM v' : 'SELECT sum(length(payload)) FROM t');
        if (chunked) {
          const t0 = performance.now();
          const back = await reader.connection.runAndReadAll(`SELECT string_agg(chunk, '' ORDER BY seq) FROM v WHERE id = 'call-${rows - 1}'`);
          reassembleMs = Math.round(performance.now() - t0);
          if (back.getRows()[0][0] !== values[(rows - 1) % values.length]) throw new Error('a value put back together differs from the one written');
        }
      } catch (cause) {
        error = String(cause.message).split('\n')[0];
        failedIn = 'scan';
      } finally {
        reader.connection.closeSync();
        reader.db.closeSync();
      }
    }
  } finally {
    writer.connection.closeSync();
    writer.db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
  const held = error && failedIn === 'scan' ? rows - step : rows;
  return { layout: opts.layout, sizeKb, pool, step, rowsHeld: held, mbHeld: Math.round((held * sizeKb * 1024) / MB), failedIn, error, peakRssMb: Math.round(peakRss / MB), ...(chunked ? { reassembleOneMs: reassembleMs } : {}) };
}

const results = [];
for (const pool of opts.pools) {
  for (const sizeKb of opts.sizesKb) {
    const result = await trial(sizeKb, pool);
    console.error(`[large-values] ${JSON.stringify(result)}`);
    results.push(result);
  }
}
console.log(JSON.stringify({ report: { maxRows: opts.maxRows, layout: opts.layout, results } }));
process.exit(0);
