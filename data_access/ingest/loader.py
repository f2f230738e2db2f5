"""Validated bulk loader for the interchange format (docs/DATA_CONTRACT.md): the public entry points.

One pass per file, streamed with the csv module: each row is checked against
:mod:`data_access.core.contract` and the cross-file rules, converted to the
exact values the schema stores, and inserted in batches — raw DBAPI
``executemany`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL — inside one
transaction.  Event sequences are checked with SQL after their insert (the file
may be in any order).  Any problem → rollback, the database is exactly as it
was, and :class:`DatasetInvalid` lists every problem as
``file:line column: reason`` (line = physical line where the record starts,
header = line 1).  Then the columns derived from other rows are filled
(returns, reassignments, reopenings, re-reports: derive.py), the time-limit rules
applied to ``due_at`` (time_limits.py), every roll-up rebuilt (rollups.py) and
``data_meta`` stamped, in the same transaction.

Timestamps are stored as naive Asia/Shanghai local time; an offset other than
+08:00 is converted.

Every row loaded gets its row time (``produced_at``: the folder's ``batch.json`` produced_at if it has one,
else the time of the load) and ``changed_at`` (the time of the load), and the load is logged in
``sync_batches``, so that later batches (ingest/sync.py) never let an older row overwrite a newer one
(docs/DATA_CONTRACT.md, "Batches and incremental sync").  A replacing load keeps what the dashboard wrote:
its supervision orders and their log entries are put back over the new data (ingest/app_rows.py), or the
load is refused naming each order whose case the new data lacks; the ratings recorded by callback (回访) go back
on their cases where the new data rates none (core/callbacks.reapply: the source's rating wins).

The parts, in data_access/ingest/:

- reading.py — the CSV stream, the header check, encoding and CSV errors, the report of problems;
- converting.py — each cell by its column's kind, a record → a named-tuple row of the contract's columns;
- rules.py, case_rules.py — the per-table rules (keys, references, timestamps ⇔ status) by column name,
  and a case's derived columns (data_access/core/derived.py);
- writing.py — batched inserts / COPY, the bulk-load indexes, the stamp, ANALYZE;
- dataset_pass.py — the pass over the folder's files that ties them together;
- this module — the transaction around it and the public API (:func:`load_dataset`,
  :func:`check_dataset`, :class:`DatasetInvalid`, :class:`DatabaseNotEmpty`, :class:`LoadResult`).
"""
from __future__ import annotations

import json
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete

from data_access.core import batches, callbacks
from data_access.core import warnings as early_warnings
from data_access.core.clock import wall_now
from data_access.core.db import bulk_load_settings, bulk_load_transaction_settings, no_statement_timeout
from data_access.core.derive import derive_bounces, derive_event_counts, derive_rereported
from data_access.core.regions import rebuild_node_paths
from data_access.core.rollups import rebuild_all_summaries, rebuild_structure_summary, rebuild_team_summary
from data_access.core.schema import sync_deletions
from data_access.core.search import resume_text_index, suspend_text_index
from data_access.core.time_limits import apply_rules
from data_access.ingest import app_rows, writing
from data_access.ingest.batch import BATCH_JSON, BatchInfo, read_batch_json
from data_access.ingest.converting import parse_ts
from data_access.ingest.dataset_pass import DatasetPass, Progress
from data_access.ingest.reading import Report


class DatasetInvalid(Exception):
    """The dataset breaks the contract; nothing was written."""

    def __init__(self, problems: list[str], warnings: list[str] | None = None):
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        head = "; ".join(self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the dataset: {head}{more}")


class DatabaseNotEmpty(Exception):
    """The database already holds data and ``replace`` was not asked for."""


@dataclass
class LoadResult:
    counts: dict[str, int] = field(default_factory=dict)   # rows per table
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- the transaction ----------------------------------------------------------------------------

def _row_times(source_dir: Path) -> tuple[BatchInfo | None, datetime]:
    """The folder's batch.json (None without one) and the time of the load (wall clock).  The rows loaded get
    produced_at = batch.json's produced_at, else the time of the load (docs/DATA_CONTRACT.md, "Row time")."""
    loaded_at = wall_now()
    if not (source_dir / BATCH_JSON).is_file():
        return None, loaded_at
    report = Report()
    info = read_batch_json(source_dir, report)
    if report.problems:
        raise DatasetInvalid(report.problems)
    return info, loaded_at


def _ts(v: datetime) -> str:
    return v.strftime("%Y-%m-%d %H:%M:%S")


def _run_in_transaction(source_dir: Path, engine: Engine, *, replace: bool, commit: bool,
                        progress: Progress | None) -> LoadResult:
    t0 = time.perf_counter()
    source_dir = Path(source_dir)
    info, loaded_at = _row_times(source_dir) if source_dir.is_dir() else (None, wall_now())
    produced_at = info.produced_at if info is not None else loaded_at
    # a load of a million rows runs for minutes: the per-statement limit of queries (db.py) does not apply
    with engine.connect() as conn, no_statement_timeout(conn), bulk_load_settings(conn):
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection
        if sqlite:
            # references are checked by the loader; per-row FK lookups would only slow the insert
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            trans = conn.begin()
            try:
                if sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    # the app's per-statement limit is for queries, not for a bulk load; memory for its sorts
                    bulk_load_transaction_settings(conn)
                # the search index is filled once after the load, not row by row (nor emptied row by row)
                text_index = suspend_text_index(conn)
                kept = app_rows.AppRows()
                if writing.has_data(conn):
                    if not replace:
                        raise DatabaseNotEmpty(
                            "the database already holds data; load with replace to overwrite it")
                    if progress:
                        progress(0.0, "removing the existing data")
                    kept = app_rows.take(conn)   # the app's orders and log entries, put back below
                    writing.clear(conn)
                dropped = writing.drop_bulk_indexes(conn)
                load = DatasetPass(source_dir, conn, progress,
                                   {"produced_at": _ts(produced_at), "changed_at": _ts(loaded_at)})
                load.run()
                report = load.report
                if report.problems:
                    raise DatasetInvalid(report.problems, report.warnings)
                app_rows.put_back(conn, kept, report)
                if kept.entries and not report.problems:
                    report.start("case_events.csv")
                    load.rules.check_event_sequences(conn, source_dir / "case_events.csv",
                                                     sorted({r["case_no"] for r in kept.entries}))
                if report.problems:
                    raise DatasetInvalid(report.problems, report.warnings)
                # The derived columns that need no index of cases are written before the indexes are built: on
                # PostgreSQL an UPDATE of a case writes a new version of its row into every index (25, the four GIN
                # search indexes among them), and the event counts alone took 14.9 s at 1.07 M skewed cases after
                # the indexes, against a row version each before them
                if progress:
                    progress(0.92, "counting returns, reassignments and reopenings; due times")
                derive_event_counts(conn)
                apply_rules(conn)  # also moves allowed_hours with the due time
                if progress:
                    progress(0.93, "building indexes")
                writing.create_indexes(conn, dropped)
                if progress:
                    progress(0.94, "finding re-reports")
                derive_rereported(conn)   # by the same-matter index (ix_cases_same_matter), before the search index
                derive_bounces(conn)   # each case's route events in the order of case_events' primary key
                if text_index:
                    if progress:
                        progress(0.945, "building the search index")
                    resume_text_index(conn)
                # the ratings staff recorded by callback, where the new data has none (the source's wins)
                callbacks.reapply(conn)
                if progress:
                    progress(0.95, "building the region paths and the staffing roll-ups")
                rebuild_node_paths(conn)
                rebuild_structure_summary(conn)   # the staffing and volunteer pages' counts (after node_paths)
                rebuild_team_summary(conn)   # the volunteer pages' teams with their paths and last activity
                rebuild_all_summaries(conn, progress=(lambda name: progress(0.96, f"building the roll-up {name}"))
                                      if progress else None)
                writing.stamp(conn, source_dir)
                # the batch log: a load is where the source's history starts again (its deletions are past)
                conn.execute(delete(sync_deletions))
                batches.record(conn, batch_id=info.batch_id if info is not None
                               else f"load-{loaded_at:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}",
                               kind="load", produced_at=produced_at, applied_at=loaded_at, status="loaded",
                               rows=sum(load.counts.values()), source=source_dir.resolve().name,
                               report=json.dumps(load.counts))
                if commit:
                    if progress:
                        # SQLite: the transaction's pages written to the WAL, then copied into the file (23 s of a
                        # 1.07 M load: PERFORMANCE.md, "The load, phase by phase")
                        progress(0.97, "committing")
                    trans.commit()
                else:
                    trans.rollback()
            except BaseException:
                if trans.is_active:
                    trans.rollback()
                raise
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")
    if commit:
        if progress:
            progress(0.98, "analyzing")
        writing.analyze(engine)
    if progress:
        progress(1.0, "done")
    return LoadResult(counts=load.counts, warnings=report.warnings, seconds=time.perf_counter() - t0)


# --- public API ---------------------------------------------------------------------------------

def load_dataset(source_dir: Path, engine: Engine, *, replace: bool = False,
                 progress: Progress | None = None) -> LoadResult:
    """Validate and load a dataset folder in one transaction.

    Raises :class:`DatabaseNotEmpty` when the database holds data and ``replace``
    is false (nothing written), :class:`DatasetInvalid` on any problem (rolled back).
    ``replace`` keeps the orders issued in the dashboard and their log entries (or refuses, naming each
    whose case the dataset lacks); accounts, the audit log and time-limit settings are never touched.
    """
    result = _run_in_transaction(source_dir, engine, replace=replace, commit=True, progress=progress)
    early_warnings.refresh_quietly(engine)  # after the commit: the early warnings of the new data (core/warnings.py)
    return result


def check_dataset(source_dir: Path, engine: Engine | None = None) -> LoadResult:
    """Validate a dataset folder without changing any database; raises :class:`DatasetInvalid`.

    The rows are loaded into ``engine`` inside a transaction that is always rolled
    back, or, without an engine, into a scratch SQLite file that is deleted after.
    """
    if engine is not None:
        return _run_in_transaction(source_dir, engine, replace=True, commit=False, progress=None)
    from data_access.core.db import make_engine

    with tempfile.TemporaryDirectory(prefix="gov-check-") as tmp:
        scratch = make_engine(f"sqlite:///{Path(tmp) / 'check.db'}")
        try:
            return _run_in_transaction(source_dir, scratch, replace=True, commit=False, progress=None)
        finally:
            scratch.dispose()


__all__ = [
    "DatabaseNotEmpty",
    "DatasetInvalid",
    "LoadResult",
    "check_dataset",
    "load_dataset",
    "parse_ts",
]
