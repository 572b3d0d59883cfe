import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { duckDbPath, queryOverSocket, querySocketPath } from '../../pipeline/index.js';
import { DuckDbWarehouse } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { formatTable } from '../format-table.js';

/** `callstream query`: a read-only query on the embedded warehouse, through the running pipeline if there is one. */
export async function query(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  const sql = positionals.join(' ').trim();
  if (!sql) {
    console.error('Usage: callstream query "<SQL>" [--json]');
    return 2;
  }
  const config = loadConfig();
  let rows = await queryOverSocket(querySocketPath(config.dataDir), sql);
  if (rows === undefined) {
    // No pipeline runs: open the file ourselves.
    const path = duckDbPath(config);
    if (!existsSync(path)) {
      console.error(`No warehouse at ${path}: start the pipeline first (npm start), or set CALLSTREAM_DATA_DIR.`);
      return 1;
    }
    const warehouse = await DuckDbWarehouse.open(path);
    try {
      rows = await warehouse.query(sql);
    } finally {
      await warehouse.close();
    }
  }
  console.log(values.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
  return 0;
}
