import { CallstreamError, type ExhaustedResource } from '../../errors.js';

/**
 * DuckDB's error types that point at the data of the rows written (a value that does not
 * convert, is out of range or breaks a NOT NULL): the sink bisects the batch down to the
 * rows at fault and dead-letters them. https://duckdb.org/docs/stable/dev/internal_errors
 */
const ROW_ERROR_TYPES = /^(Conversion|Invalid Input|Out of Range|Constraint) Error:/;

/**
 * The disk is full: the WAL or the file cannot grow (ENOSPC, a quota, a file-size limit), or the
 * temp directory reached max_temp_directory_size (DuckDB reports that as an "Out of Memory Error"
 * naming the setting, hence checked first). Also found in "has been invalidated ... Original
 * error: ...", the state a checkpoint that failed for want of space leaves the database in.
 */
const DISK_FULL = /No space left on device|Disk quota exceeded|File too large|max_temp_directory_size/i;
/**
 * The buffer pool (memory_limit) or the machine is out of memory. Also a checkpoint that found no
 * room in the pool, which leaves the database invalidated until it is reopened and is worded
 * without the "Out of Memory Error" type ("could not allocate block of size 256.0 KiB", "failed to
 * pin block of size 904.0 KiB", measured with rows of 900 KB): the buffer manager's "(243.3
 * MiB/244.1 MiB used)" names the pool either way.
 */
const OUT_OF_MEMORY = /Out of Memory Error|std::bad_alloc|\([\d.]+ [KMGT]?i?B\/[\d.]+ [KMGT]?i?B used\)/i;

/**
 * Maps an error of a DuckDB write to callstream's codes, by DuckDB's error type, never by how
 * many rows failed: a row fault (SINK_ROW_REJECTED) for the types above and for values the
 * appender cannot take (a RangeError or TypeError of the row's own value); out of memory or disk
 * (SINK_WAREHOUSE_EXHAUSTED, naming the resource): the sink writes smaller pieces and reopens the
 * file; everything else (I/O, a missing table or column, a closed database) is a fault of the
 * table or the warehouse (SINK_WAREHOUSE_UNAVAILABLE): the sink waits and retries, dead-letters nothing.
 */
export function classifyDuckDbError(err: unknown, what: string): CallstreamError {
  if (err instanceof CallstreamError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const text = `${what}: ${message.split('\n')[0].slice(0, 1000)}`;
  const resource = exhaustedBy(message);
  if (resource) return new CallstreamError('SINK_WAREHOUSE_EXHAUSTED', text, { cause: err, details: { resource } });
  const rowFault = ROW_ERROR_TYPES.test(message) || err instanceof RangeError || err instanceof SyntaxError;
  return new CallstreamError(rowFault ? 'SINK_ROW_REJECTED' : 'SINK_WAREHOUSE_UNAVAILABLE', text, { cause: err });
}

function exhaustedBy(message: string): ExhaustedResource | undefined {
  if (DISK_FULL.test(message)) return 'disk';
  if (OUT_OF_MEMORY.test(message)) return 'memory';
  return undefined;
}
