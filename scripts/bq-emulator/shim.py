"""Offline launcher shim for bqemulator (used by scripts/bq-emulator.sh).

Two runtime patches, no third-party file is modified:

1. Offline spatial extension. bqemulator's engine runs
   ``INSTALL spatial; LOAD spatial`` at start-up, which downloads the
   extension from DuckDB's extension repository -- unreachable offline.
   ``bq-emulator.sh install`` installs ``duckdb-extension-spatial`` from PyPI
   (pinned to the same version as ``duckdb``) and copies its binary to
   ``$CALLSTREAM_BQEMU_EXTDIR/v<duckdb>/<platform>/spatial.duckdb_extension``.
   Every ``duckdb.connect`` call is given that directory as its
   ``extension_directory``, so ``INSTALL spatial`` is a local no-op and
   ``LOAD spatial`` loads the pre-installed file. Network auto-install of other
   extensions is turned off.

2. Schema evolution via ``tables.patch`` / ``tables.update``. bqemulator 1.4.0
   only rewrites its catalog on those calls (what ``table.setMetadata({schema})``
   in the Node client sends); the DuckDB table keeps its old columns, so a
   later query or DML naming the new column fails with
   ``Binder Error: Table "t" does not have a column with name "x"``. The patch
   adds the missing top-level columns to the DuckDB table whenever the catalog
   entry of a table is updated (additions only; no drops or type changes).
   Set ``CALLSTREAM_BQEMU_NO_SCHEMA_PATCH=1`` to turn it off.

3. Storage Write appends on the event loop. bqemulator 1.4.0 runs AppendRows
   in grpc.aio's thread pool and inserts the committed rows into DuckDB from
   that thread, on the same DuckDB connection the REST side uses from the
   event loop, guarded only by a lock of its own, not by the engine's write
   lock. An append and a DML job (a MERGE or DELETE) at the same moment then
   hang the whole emulator (both threads idle, every request unanswered; seen
   with callstream's staged mode once flushes append while a MERGE runs). The
   patch runs that insert on the event loop under the engine's write lock,
   like every other write. Set ``CALLSTREAM_BQEMU_NO_APPEND_PATCH=1`` to turn
   it off.

Then control passes to ``bqemulator``'s own CLI (``bqemulator.cli:main``);
all its arguments (``start --rest-port ...``) are passed through.
"""

from __future__ import annotations

import os
import sys

import duckdb

_EXT_DIR = os.environ.get("CALLSTREAM_BQEMU_EXTDIR")
_real_connect = duckdb.connect


def _connect(database=":memory:", read_only=False, config=None, **kwargs):
    cfg = dict(config or {})
    if _EXT_DIR:
        cfg.setdefault("extension_directory", _EXT_DIR)
    cfg.setdefault("autoinstall_known_extensions", False)
    return _real_connect(database, read_only=read_only, config=cfg, **kwargs)


duckdb.connect = _connect


def _install_schema_patch() -> None:
    from bqemulator.api.routes.tables import _field_to_rest
    from bqemulator.catalog.duckdb_repository import DuckDBCatalogRepository
    from bqemulator.catalog.memory_repository import MemoryCatalogRepository
    from bqemulator.storage.engine import DuckDBEngine
    from bqemulator.storage.sql_identifiers import quoted_table_ref
    from bqemulator.storage.type_map import bq_schema_to_duckdb_columns

    engines: list = []
    real_start = DuckDBEngine.start

    async def start(self):  # type: ignore[no-untyped-def]
        await real_start(self)
        engines.append(self)

    DuckDBEngine.start = start  # type: ignore[method-assign]

    def add_missing_columns(table) -> None:  # type: ignore[no-untyped-def]
        if not engines or table.table_type != "TABLE" or not table.schema_.fields:
            return
        ref = quoted_table_ref(table.project_id, table.dataset_id, table.table_id)
        cur = engines[-1].connection.cursor()
        try:
            try:
                existing = {row[0] for row in cur.execute(f"DESCRIBE {ref}").fetchall()}
            except duckdb.Error:
                return  # no physical table (yet): nothing to reconcile
            fields = [_field_to_rest(f) for f in table.schema_.fields]
            for name, dtype in bq_schema_to_duckdb_columns(fields):
                if name not in existing:
                    cur.execute(f'ALTER TABLE {ref} ADD COLUMN "{name}" {dtype}')
        finally:
            cur.close()

    for cls in (MemoryCatalogRepository, DuckDBCatalogRepository):
        real_update = cls.update_table

        def update_table(self, table, _real=real_update):  # type: ignore[no-untyped-def]
            add_missing_columns(table)
            return _real(self, table)

        cls.update_table = update_table  # type: ignore[method-assign]


def _install_append_patch() -> None:
    import asyncio

    from bqemulator.grpc_api.write_servicer import BigQueryWriteHandler
    from bqemulator.storage.engine import DuckDBEngine

    loops: list = []
    real_start = DuckDBEngine.start

    async def start(self):  # type: ignore[no-untyped-def]
        await real_start(self)
        loops.append((asyncio.get_running_loop(), self))

    DuckDBEngine.start = start  # type: ignore[method-assign]
    real_flush = BigQueryWriteHandler._flush_to_target

    def flush_to_target(self, stream, rows):  # type: ignore[no-untyped-def]
        if not loops:
            return real_flush(self, stream, rows)
        loop, engine = loops[-1]

        async def flush() -> None:
            async with engine.write_lock():
                real_flush(self, stream, rows)

        # Called from a gRPC worker thread: wait there while the loop does the insert.
        asyncio.run_coroutine_threadsafe(flush(), loop).result()

    BigQueryWriteHandler._flush_to_target = flush_to_target  # type: ignore[method-assign]


def main() -> None:
    if not _EXT_DIR:
        sys.exit("shim.py: CALLSTREAM_BQEMU_EXTDIR is not set")
    if os.environ.get("CALLSTREAM_BQEMU_DETACH") == "1":
        # Own session/process group, so `bq-emulator.sh stop` can signal the
        # whole group and the caller's terminal signals don't reach us.
        try:
            os.setsid()
        except OSError:
            pass  # already a process-group leader
    if os.environ.get("CALLSTREAM_BQEMU_NO_SCHEMA_PATCH") != "1":
        _install_schema_patch()
    if os.environ.get("CALLSTREAM_BQEMU_NO_APPEND_PATCH") != "1":
        _install_append_patch()
    from bqemulator.cli import main as bq_main

    bq_main()


if __name__ == "__main__":
    main()
