import { join, resolve } from 'node:path';
import type { Config } from './options.js';

/** Where the embedded warehouse lives. */
export function duckDbPath(config: Pick<Config, 'dataDir'>): string {
  return join(resolve(config.dataDir), 'callstream.duckdb');
}
