import { describe, expect, it } from 'vitest';
import { exhaustedResource } from '../../../../src/errors.js';
import { classifyDuckDbError } from '../../../../src/warehouse/duckdb/classify-error.js';

/** DuckDB's own messages (1.5), as measured on a small memory limit, a full tmpfs and a capped temp directory. */
const OUT_OF_MEMORY = 'Out of Memory Error: failed to pin block of size 256.0 KiB (22.6 MiB/22.8 MiB used)\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)';
const ALLOCATE = 'Out of Memory Error: failed to allocate data of size 16.0 MiB (483.2 MiB/488.2 MiB used)';
const WAL_FULL = 'TransactionContext Error: Failed to commit: Could not write file "/data/w.duckdb.wal": No space left on device';
const CHECKPOINT_FULL = 'IO Error: Checkpoint failed for database "warehouse". The database has been invalidated. Original error: Could not write file "/data/w.duckdb": No space left on device';
const INVALIDATED = 'IO Error: Database "warehouse" has been invalidated because checkpointing failed. Detach and reattach it before using it again. Original error: Could not write file "/data/w.duckdb": No space left on device';
const AUTOCHECKPOINT = 'IO Error: Transaction COMMIT succeeded and is durable, but the autocheckpoint failed. Detach and reattach the database to recover. Checkpoint failed for database "warehouse". The database has been invalidated. Original error: Could not write file "/data/w.duckdb": No space left on device';
const TEMP_FULL = "Out of Memory Error: failed to offload data block of size 256.0 KiB (1.8 GiB/1.8 GiB used).\nThis limit was set by the 'max_temp_directory_size' setting.";
const FILE_TOO_LARGE = 'IO Error: Could not write file "/data/w.duckdb.wal": File too large';
// bench/load/large-backlog.js, 2,000 rows of 900 KB with the 256 MB default pool: a checkpoint ran out of
// the pool and invalidated the database; the sink retried the same write for 120 s (not classified then).
const CHECKPOINT_NO_BLOCK = 'TransactionContext Error: Failed to commit: Checkpoint failed for database "warehouse". The database has been invalidated. Original error: could not allocate block of size 256.0 KiB (244.0 MiB/244.1 MiB used)';
const INVALIDATED_NO_PIN = 'IO Error: Database "warehouse" has been invalidated because checkpointing failed. Detach and reattach it before using it again. Original error: failed to pin block of size 904.0 KiB (243.3 MiB/244.1 MiB used)';
const INVALIDATED_NO_BLOCK = 'IO Error: Database "warehouse" has been invalidated because checkpointing failed. Detach and reattach it before using it again. Original error: could not allocate block of size 256.0 KiB (244.0 MiB/244.1 MiB used)';

describe('classifyDuckDbError', () => {
  it.each([
    [OUT_OF_MEMORY, 'memory'],
    [ALLOCATE, 'memory'],
    [WAL_FULL, 'disk'],
    [CHECKPOINT_FULL, 'disk'],
    [INVALIDATED, 'disk'],
    [AUTOCHECKPOINT, 'disk'],
    [TEMP_FULL, 'disk'],
    [FILE_TOO_LARGE, 'disk'],
    [CHECKPOINT_NO_BLOCK, 'memory'],
    [INVALIDATED_NO_BLOCK, 'memory'],
    [INVALIDATED_NO_PIN, 'memory'],
  ])('%s -> SINK_WAREHOUSE_EXHAUSTED (%s)', (message, resource) => {
    const err = new Error(message);
    const mapped = classifyDuckDbError(err, 'DuckDB upsert into call_events (5000 rows)');
    expect(mapped.code).toBe('SINK_WAREHOUSE_EXHAUSTED');
    expect(mapped.retriable).toBe(true);
    expect(exhaustedResource(mapped)).toBe(resource);
    expect(mapped.details).toEqual({ resource });
    expect(mapped.message).toContain('DuckDB upsert into call_events');
    expect(mapped.cause).toBe(err);
  });

  it.each([
    ['Conversion Error: Could not convert string "x" to INT64', 'SINK_ROW_REJECTED'],
    ['Constraint Error: NOT NULL constraint failed: call_events.call_id', 'SINK_ROW_REJECTED'],
    ['Catalog Error: Table with name call_events does not exist!', 'SINK_WAREHOUSE_UNAVAILABLE'],
    ['Connection Error: Connection already closed!', 'SINK_WAREHOUSE_UNAVAILABLE'],
  ])('%s -> %s', (message, code) => {
    const mapped = classifyDuckDbError(new Error(message), 'upsert');
    expect(mapped.code).toBe(code);
    expect(exhaustedResource(mapped)).toBeUndefined();
  });
});
