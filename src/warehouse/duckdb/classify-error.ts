import { CallstreamError } from '../../errors.js';

/**
 * DuckDB's error types that point at the data of the rows written (a value that does not
 * convert, is out of range or breaks a NOT NULL): the sink bisects the batch down to the
 * rows at fault and dead-letters them. https://duckdb.org/docs/stable/dev/internal_errors
 */
const ROW_ERROR_TYPES = /^(Conversion|Invalid Input|Out of Range|Constraint) Error:/;

/**
 * Maps an error of a DuckDB write to callstream's codes, by DuckDB's error type, never by how
 * many rows failed: a row fault (SINK_ROW_REJECTED) for the types above and for values the
 * appender cannot take (a RangeError or TypeError of the row's own value); everything else
 * (I/O, out of memory, a missing table or column, a closed database) is a fault of the table
 * or the warehouse (SINK_WAREHOUSE_UNAVAILABLE): the sink waits and retries, dead-letters nothing.
 */
export function classifyDuckDbError(err: unknown, what: string): CallstreamError {
  if (err instanceof CallstreamError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const rowFault = ROW_ERROR_TYPES.test(message) || err instanceof RangeError || err instanceof SyntaxError;
  return new CallstreamError(rowFault ? 'SINK_ROW_REJECTED' : 'SINK_WAREHOUSE_UNAVAILABLE', `${what}: ${message.split('\n')[0].slice(0, 1000)}`, { cause: err });
}
