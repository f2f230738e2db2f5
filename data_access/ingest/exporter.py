"""Writes the database back in the interchange format (docs/DATA_CONTRACT.md): the whole dataset
(``python -m data_access export DIR``) or, as a batch, the rows changed since a time
(``export --since TIMESTAMP DIR``, docs/DATA_CONTRACT.md "A batch of another dashboard").

Every file of the format (optional ones too), columns in contract order, rows
in key order, streamed from the database; never the derived columns.  Values
are written so that load → export → load is lossless: timestamps as
``YYYY-MM-DDTHH:MM:SS+08:00``, booleans ``true``/``false``, floats as Python's
shortest round-tripping ``repr``, NULL as an empty cell.  A batch is the same files holding only the rows whose
``changed_at`` is at or after the time (files without such a row left out), ``deletions.csv`` from
``sync_deletions`` and ``batch.json`` written last.  Both read one snapshot of the database (PostgreSQL:
REPEATABLE READ; SQLite: one read transaction), so a sync running meanwhile is in it whole or not at all.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select

from data_access.core import schema
from data_access.core.clock import wall_now
from data_access.core.contract import BATCH_JSON, DELETIONS_CSV, FILES, FileSpec
from data_access.core.db import no_statement_timeout

YIELD_ROWS = 10_000


def formatter(kind: str):
    """How the interchange format writes a value of column kind ``kind`` (the export and batch producers)."""
    if kind == "ts":
        def fmt_ts(v):
            if v is None:
                return ""
            if isinstance(v, str):   # defensive: raw SQLite text
                v = datetime.fromisoformat(v)
            return v.replace(microsecond=0, tzinfo=None).isoformat() + "+08:00"
        return fmt_ts
    if kind == "date":
        def fmt_date(v):
            if v is None:
                return ""
            return v.isoformat() if isinstance(v, date) else str(v)
        return fmt_date
    if kind == "bool":
        return lambda v: "" if v is None else ("true" if v else "false")
    if kind == "float":
        return lambda v: "" if v is None else repr(float(v))
    if kind == "int":
        return lambda v: "" if v is None else str(int(v))
    return lambda v: "" if v is None else v


def _exported(table, name: str):
    """The column as the interchange format has it: a case's due time is the dataset's own (``source_due_at``),
    not the one a working-day rule of this installation computed (cases written here carry both)."""
    if table is schema.cases and name == "due_at":
        return func.coalesce(table.c.source_due_at, table.c.due_at).label("due_at")
    return table.c[name]


def _export_file(conn, spec: FileSpec, path: Path, since: datetime | None = None) -> int:
    """Write ``spec``'s rows (those changed at or after ``since``, when given) to ``path``; returns the rows.
    With ``since``, a file without a row is not left behind."""
    table = schema.metadata.tables[spec.table]
    cols = [_exported(table, c.name) for c in spec.columns]
    order = [table.c[k] for k in (spec.order_by or spec.key)]
    fmts = [formatter(c.kind) for c in spec.columns]
    stmt = select(*cols).order_by(*order)
    if since is not None:   # NULL (rows of before the sync columns) is older than any time: never sent
        stmt = stmt.where(table.c.changed_at >= since)
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)   # RFC 4180: CRLF between records
        w.writerow(spec.column_names)
        result = conn.execution_options(yield_per=YIELD_ROWS).execute(stmt)
        for part in result.partitions():
            w.writerows([fmt(v) for fmt, v in zip(fmts, row)] for row in part)
            n += len(part)
    if since is not None and n == 0:
        path.unlink()
    return n


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that reads one snapshot of the database until it is closed, without the query time limit."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            yield conn
            conn.rollback()
        return
    with engine.connect() as conn, no_statement_timeout(conn):
        conn.exec_driver_sql("BEGIN")   # deferred: the first read takes the snapshot (WAL), kept to the end
        yield conn
        conn.rollback()


def export_dataset(engine: Engine, target_dir: Path) -> dict[str, int]:
    """Write every file of the format into ``target_dir``; returns rows written per table."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with _snapshot(engine) as conn:
        for spec in FILES:
            counts[spec.table] = _export_file(conn, spec, target_dir / spec.name)
    return counts


# --- the rows changed since a time, as a batch ----------------------------------------------------------------

class ExportRefused(ValueError):
    """``export --since`` cannot write this batch (the message says why); nothing was written."""


@dataclass
class BatchExport:
    batch_id: str
    produced_at: datetime
    since: datetime
    counts: dict[str, int] = field(default_factory=dict)   # rows per table (files written only)
    deletions: int = 0

    @property
    def rows(self) -> int:
        return sum(self.counts.values()) + self.deletions


def _ts(v: datetime) -> str:
    return v.replace(microsecond=0, tzinfo=None).isoformat() + "+08:00"


def _export_deletions(conn: Connection, path: Path, since: datetime) -> int:
    t = schema.sync_deletions.c
    rows = conn.execute(select(t.table_name, t.row_key).where(t.deleted_at >= since)
                        .order_by(t.table_name, t.row_key)).all()
    if rows:
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["table", "key"])
            w.writerows(rows)
    return len(rows)


def _reloaded_since(conn: Connection, since: datetime) -> datetime | None:
    """When a full load replaced data the database held before ``since`` (load --replace at or after it): the rows
    it dropped left no deletion, so no batch can carry them.  A first load after ``since`` dropped nothing."""
    b = schema.sync_batches.c
    held_before = conn.execute(select(func.count()).where(b.status.in_(("loaded", "applied")),
                                                         b.applied_at < since)).scalar_one()
    if not held_before:
        return None
    return conn.execute(select(func.max(b.applied_at)).where(b.kind == "load", b.status == "loaded",
                                                             b.applied_at >= since)).scalar_one()


def export_batch(engine: Engine, target_dir: Path, since: datetime) -> BatchExport:
    """Write the rows changed at or after ``since`` (naive Asia/Shanghai) into the new or empty folder
    ``target_dir`` as a batch: the changed rows of each file, ``deletions.csv`` (only when a row was deleted),
    ``batch.json`` last (``batch_id``, ``produced_at`` = now, ``since``, ``files``).

    Raises :class:`ExportRefused` (nothing written) for a ``since`` in the future, a folder that is not empty, or
    a full load after ``since``.  ``since`` is inclusive: a row written in the same second as ``since`` is sent
    (sending a row the follower already has again changes nothing there)."""
    target_dir = Path(target_dir)
    since = since.replace(microsecond=0, tzinfo=None)
    produced_at = wall_now()   # before the snapshot: the next batch's since may be this time and lose nothing
    if since > produced_at:
        raise ExportRefused(f"--since: {since:%Y-%m-%d %H:%M:%S} is in the future "
                            f"(now {produced_at:%Y-%m-%d %H:%M:%S}, Asia/Shanghai)")
    if target_dir.exists() and (not target_dir.is_dir() or any(target_dir.iterdir())):
        raise ExportRefused(f"{target_dir}: exists and is not an empty folder; a batch is written into a new "
                            "or empty folder (files of an older batch would be sent again)")
    created = not target_dir.exists()
    out = BatchExport("", produced_at, since)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        with _snapshot(engine) as conn:
            reloaded = _reloaded_since(conn, since)
            if reloaded is not None:
                raise ExportRefused(f"--since: the data was replaced by a full load at {reloaded:%Y-%m-%d %H:%M:%S}, "
                                    "after that time; the rows it dropped are in no batch: send a full export "
                                    "(export DIR) instead")
            for spec in FILES:
                n = _export_file(conn, spec, target_dir / spec.name, since)
                if n:
                    out.counts[spec.table] = n
            out.deletions = _export_deletions(conn, target_dir / DELETIONS_CSV, since)
        files = {spec.name: n for spec in FILES if (n := out.counts.get(spec.table))}
        if out.deletions:
            files[DELETIONS_CSV] = out.deletions
        out.batch_id = _batch_id(target_dir, since, produced_at, sorted(files))
        meta = {"batch_id": out.batch_id, "produced_at": _ts(produced_at), "since": _ts(since), "files": files}
        tmp = target_dir / (BATCH_JSON + ".tmp")
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.rename(target_dir / BATCH_JSON)   # last, whole: the folder is a batch only now
    except BaseException:
        if created:
            shutil.rmtree(target_dir, ignore_errors=True)
        else:
            for p in target_dir.iterdir():
                p.unlink()
        raise
    return out


def _batch_id(folder: Path, since: datetime, produced_at: datetime, names: list[str]) -> str:
    """``export-<since>-<produced>-<digest>``: the same changes exported twice in the same second get the same id
    (the follower applies them once); two instances' batches of the same second differ by their content."""
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode() + b"\0")
        with open(folder / name, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return f"export-{since:%Y%m%dT%H%M%S}-{produced_at:%Y%m%dT%H%M%S}-{h.hexdigest()[:12]}"
