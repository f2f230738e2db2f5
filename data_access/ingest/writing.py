"""Writing the loaded rows: batched inserts or COPY, the bulk-load indexes, the stamp and ANALYZE.

Rows go in with the raw DBAPI connection of the load's transaction — ``executemany`` in batches of
``BATCH_ROWS`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL — and a failure is kept on the
:class:`Writer` (the loader reports it and finds the lines) instead of raised mid-file.  Before the insert
the secondary indexes of the big tables (and on PostgreSQL their foreign keys) are dropped and recreated
once after it; after the commit the planner's statistics are refreshed.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, insert

from data_access.core import schema
from data_access.core.db import no_statement_timeout

SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH_ROWS = 20_000


class Writer:
    """Inserts tuples into one table: batched executemany (SQLite) or COPY (PostgreSQL).

    ``extra``: values appended to every row (the load's sync columns, schema.stamp_columns), their columns the
    last of ``cols``."""

    def __init__(self, conn: Connection | None, table: str, cols: list[str], extra: tuple = ()):
        self.conn, self.table, self.cols = conn, table, cols
        self.extra = extra
        self.n = 0
        self.failed: Exception | None = None
        self.batch: list[tuple] = []
        self._copy = self._copy_cm = None
        if conn is None:
            return
        self.raw = conn.connection.driver_connection
        self.sqlite = conn.dialect.name == "sqlite"
        collist = ", ".join(f'"{c}"' for c in cols)
        if self.sqlite:
            self.sql = f'INSERT INTO "{table}" ({collist}) VALUES ({", ".join("?" * len(cols))})'
            self.cur = self.raw.cursor()
        else:
            self.cur = self.raw.cursor()
            self._copy_cm = self.cur.copy(f'COPY "{table}" ({collist}) FROM STDIN')
            try:
                self._copy = self._copy_cm.__enter__()
            except Exception as exc:  # noqa: BLE001 - reported as a problem by the caller
                self.failed = exc

    def write(self, row: tuple) -> None:
        self.n += 1
        if self.conn is None or self.failed is not None:
            return
        if self.extra:
            row = row + self.extra
        if self.sqlite:
            self.batch.append(row)
            if len(self.batch) >= BATCH_ROWS:
                self._flush()
        else:
            try:
                self._copy.write_row(row)
            except Exception as exc:  # noqa: BLE001
                self.failed = exc

    def _flush(self) -> None:
        try:
            self.cur.executemany(self.sql, self.batch)
        except Exception as exc:  # noqa: BLE001
            self.failed = exc
        self.batch = []

    def close(self) -> None:
        if self.conn is None:
            return
        if self.sqlite:
            if self.batch and self.failed is None:
                self._flush()
            self.cur.close()
        elif self._copy_cm is not None and self._copy is not None:
            try:
                if self.failed is None:
                    self._copy_cm.__exit__(None, None, None)
                else:
                    self._copy_cm.__exit__(type(self.failed), self.failed, None)
            except Exception as exc:  # noqa: BLE001
                self.failed = self.failed or exc
            self.cur.close()


# --- around the insert ---------------------------------------------------------------------------

def has_data(conn: Connection) -> bool:
    """Does any table of the dataset hold a row?"""
    for t in schema.DATASET_TABLES:
        if conn.exec_driver_sql(f'SELECT 1 FROM "{t.name}" LIMIT 1').first() is not None:
            return True
    return False


def clear(conn: Connection) -> None:
    """Empty the dataset's tables and the case roll-up (the load rebuilds the others whole), and the extension
    requests (the dataset's extensions.csv replaces the source's; the dashboard's were taken first: app_rows.py)."""
    conn.execute(delete(schema.case_extensions))
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in [*schema.DATASET_TABLES, schema.case_summary])
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
        return
    conn.execute(delete(schema.case_summary))
    for t in reversed(schema.DATASET_TABLES):   # children before parents
        conn.execute(delete(t))


_BULK_INDEXED = [schema.cases]
_BULK_CONSTRAINED = [schema.cases, schema.case_events]


def drop_bulk_indexes(conn: Connection) -> list:
    """Drop what slows a bulk insert into the (now empty) big tables; rebuilt once after the load.

    The secondary indexes of ``cases``; on PostgreSQL also the foreign keys of
    ``cases`` and ``case_events`` (a per-row trigger each; the loader has checked
    every reference, and re-adding validates them all in one join).
    Transactional DDL on both dialects: a rollback restores them.
    """
    from sqlalchemy.schema import DropConstraint, DropIndex

    dropped: list = []
    if conn.dialect.name == "postgresql":
        for table in _BULK_CONSTRAINED:
            for fk in table.foreign_key_constraints:
                conn.execute(DropConstraint(fk))
                dropped.append(fk)
    for table in _BULK_INDEXED:
        for idx in table.indexes:
            conn.execute(DropIndex(idx, if_exists=True))
            dropped.append(idx)
    return dropped


def create_indexes(conn: Connection, dropped: list) -> None:
    """Recreate what :func:`drop_bulk_indexes` dropped (re-adding a foreign key validates it)."""
    from sqlalchemy import Index
    from sqlalchemy.schema import AddConstraint, CreateIndex

    for item in dropped:
        if isinstance(item, Index):
            conn.execute(CreateIndex(item, if_not_exists=True))
        else:
            conn.execute(AddConstraint(item))


def stamp(conn: Connection, source_dir: Path) -> None:
    """Record when and from which folder the data was loaded (``data_meta``)."""
    meta = schema.data_meta
    # to the microsecond: the region tree and the cached queries key on this value (core/regions.data_version,
    # core/meta.data_updated_at), and a second load within the same second must not look like the first
    now = datetime.now(SHANGHAI).isoformat(timespec="microseconds")
    # tree_at: a batch's change of the region tree (ingest/sync.py), replaced by the load's tree
    conn.execute(delete(meta).where(meta.c.key.in_(["loaded_at", "source", "tree_at"])))
    conn.execute(insert(meta), [{"key": "loaded_at", "value": now},
                                {"key": "source", "value": source_dir.resolve().name}])
    # A load replaces the data: one-click demo accounts only come back through the sample-data builder.
    from data_access.core.users import remove_demo_accounts

    remove_demo_accounts(conn)


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics after a committed load."""
    with engine.connect() as conn, no_statement_timeout(conn):
        if conn.dialect.name == "sqlite":
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA analysis_limit=2000")
            raw.execute("ANALYZE")
            raw.execute("PRAGMA optimize")
            raw.commit()
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
