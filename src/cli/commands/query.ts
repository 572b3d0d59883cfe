import { existsSync } from 'node:fs';
import { loadConfig } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import { duckDbPath } from '../../config/index.js';
import { askOverSocket, querySocketPath } from '../../query-socket/index.js';
import { DuckDbWarehouse } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { formatTable } from '../format-table.js';

/**
 * `callstream query`: a read-only query on the embedded warehouse, through the running pipeline
 * if there is one. Either way DuckDbWarehouse applies the same rules and limits.
 */
export async function query(sql: string, options: { json: boolean }): Promise<number> {
  const config = loadConfig();
  let answer = await askOverSocket(querySocketPath(config.dataDir), sql);
  if (answer === undefined) {
    // No pipeline runs: open the file ourselves.
    const path = duckDbPath(config);
    // CFG_INVALID: CALLSTREAM_DATA_DIR (or the default ./data) does not point at a warehouse.
    if (!existsSync(path)) throw new CallstreamError('CFG_INVALID', `No warehouse at ${path}: start the pipeline first (npm start), or set CALLSTREAM_DATA_DIR`);
    const warehouse = await DuckDbWarehouse.open(path, { readOnly: true, queryTimeoutMs: config.queryTimeoutMs, queryMaxRows: config.queryMaxRows });
    try {
      answer = await warehouse.boundedQuery(sql);
    } finally {
      await warehouse.close();
    }
  }
  console.log(options.json ? JSON.stringify(answer.rows, null, 2) : formatTable(answer.rows));
  // On stderr, so that --json output stays one JSON document.
  if (answer.truncated) console.error(`callstream: truncated: only the first ${answer.rows.length} rows (CALLSTREAM_QUERY_MAX_ROWS); add a LIMIT, a WHERE or an aggregate.`);
  return 0;
}
