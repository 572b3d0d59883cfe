import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { duckDbPath, querySocketPath } from '../../pipeline/index.js';
import { askOverSocket } from '../../pipeline/query-socket.js';
import { DuckDbWarehouse } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { formatTable } from '../format-table.js';

/**
 * `callstream query`: a read-only query on the embedded warehouse, through the running pipeline
 * if there is one. Either way DuckDbWarehouse applies the same rules and limits.
 */
export async function query(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  const sql = positionals.join(' ').trim();
  if (!sql) {
    console.error('Usage: callstream query "<SQL>" [--json]');
    return 2;
  }
  const config = loadConfig();
  let answer = await askOverSocket(querySocketPath(config.dataDir), sql);
  if (answer === undefined) {
    // No pipeline runs: open the file ourselves.
    const path = duckDbPath(config);
    if (!existsSync(path)) {
      console.error(`No warehouse at ${path}: start the pipeline first (npm start), or set CALLSTREAM_DATA_DIR.`);
      return 1;
    }
    const warehouse = await DuckDbWarehouse.open(path, { readOnly: true, queryTimeoutMs: config.queryTimeoutMs, queryMaxRows: config.queryMaxRows });
    try {
      answer = await warehouse.boundedQuery(sql);
    } finally {
      await warehouse.close();
    }
  }
  console.log(values.json ? JSON.stringify(answer.rows, null, 2) : formatTable(answer.rows));
  // On stderr, so that --json output stays one JSON document.
  if (answer.truncated) console.error(`callstream: truncated: only the first ${answer.rows.length} rows (CALLSTREAM_QUERY_MAX_ROWS); add a LIMIT, a WHERE or an aggregate.`);
  return 0;
}
