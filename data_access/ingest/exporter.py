"""Writes the database back in the interchange format (docs/DATA_CONTRACT.md).

Every file of the format (optional ones too), columns in contract order, rows
in key order, streamed from the database; never the derived columns.  Values
are written so that load → export → load is lossless: timestamps as
``YYYY-MM-DDTHH:MM:SS+08:00``, booleans ``true``/``false``, floats as Python's
shortest round-tripping ``repr``, NULL as an empty cell.
"""
from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from data_access.core import schema
from data_access.core.contract import FILES, FileSpec

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


def _export_file(conn, spec: FileSpec, path: Path) -> int:
    table = schema.metadata.tables[spec.table]
    cols = [_exported(table, c.name) for c in spec.columns]
    order = [table.c[k] for k in (spec.order_by or spec.key)]
    fmts = [formatter(c.kind) for c in spec.columns]
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)   # RFC 4180: CRLF between records
        w.writerow(spec.column_names)
        result = conn.execution_options(yield_per=YIELD_ROWS).execute(select(*cols).order_by(*order))
        for part in result.partitions():
            w.writerows([fmt(v) for fmt, v in zip(fmts, row)] for row in part)
            n += len(part)
    return n


def export_dataset(engine: Engine, target_dir: Path) -> dict[str, int]:
    """Write every file of the format into ``target_dir``; returns rows written per table."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for spec in FILES:
            counts[spec.table] = _export_file(conn, spec, target_dir / spec.name)
    return counts
