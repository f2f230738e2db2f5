"""The DuckDB way, for comparison (benchmark only, not part of the dashboard): the case and region tables of the
dashboard's SQLite file copied into an in-memory DuckDB database, then the Overview's questions asked in SQL
(bench/alt_duckdb_app.py draws them as a Streamlit page, as bench/alt_pandas_app.py does with pandas).

How the data gets in.  DuckDB reads SQLite files through its ``sqlite`` (sqlite_scanner) extension, which is not
bundled in the duckdb wheel: ``LOAD sqlite`` downloads it from DuckDB's extension site on first use, which this
machine (no network but the package registries) cannot do.  So ``load_sqlite`` first tries ``LOAD sqlite`` with
automatic installs switched off (it works where the extension was installed beforehand), ATTACHes the file and
copies each table with ``CREATE TABLE t AS SELECT * FROM src.t``; otherwise (here) it
reads the file with Python's sqlite3 in chunks of ``CHUNK`` rows, turns each chunk into an Arrow table with
the column types the SQLite schema declares (DATETIME → TIMESTAMP, BOOLEAN, INTEGER, FLOAT, text) and appends
it to a DuckDB table.  Either way the time to get the data in is returned and shown.

The questions are the pandas page's: the period is the dashboard's default "last 12 months", a region (the
city by default) and an optional text in the title; the answers are the case count, closure rate, open
overdue count, median hours to close, cases by month and status, cases by child region and the newest 50.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path

CHUNK = 10_000  # 370 MB peak at 100k cases against 606 MB with 50,000 a chunk, the same time
TABLES = ("cases", "regions")
REGION_COLUMN = {"city": "city_code", "county": "county_code", "township": "township_code",
                 "village": "village_code"}
CHILD_COLUMN = {"city": "county_code", "county": "township_code", "township": "village_code",
                "village": "top_grid_code"}
LIST_COLUMNS = ["case_no", "reported_at", "title", "category", "status", "due_at", "closed_at",
                "county_code", "township_code"]


def _duck_type(declared: str) -> str:
    d = (declared or "").upper()
    if "DATETIME" in d or "TIMESTAMP" in d:
        return "TIMESTAMP"
    if d == "DATE":
        return "DATE"
    if "BOOL" in d:
        return "BOOLEAN"
    if "INT" in d:
        return "BIGINT"
    if any(x in d for x in ("FLOAT", "REAL", "DOUBLE", "NUMERIC", "DECIMAL")):
        return "DOUBLE"
    return "VARCHAR"


def _arrow_type(duck: str):
    import pyarrow as pa

    # Timestamps travel as SQLite's text, booleans as its 0 and 1; DuckDB casts them on insert.
    return {"BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.int64()}.get(duck, pa.string())


def _copy_with_sqlite3(con, path: Path, tables) -> dict[str, int]:
    import pyarrow as pa

    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = {}
    try:
        for table in tables:
            cols = [(r[1], _duck_type(r[2])) for r in src.execute(f"PRAGMA table_info({table})")]
            if not cols:
                raise RuntimeError(f"no table {table!r} in {path}")
            con.execute(f"CREATE TABLE {table} (" + ", ".join(f'"{n}" {t}' for n, t in cols) + ")")
            types = [_arrow_type(t) for _, t in cols]
            cur = src.execute(f"SELECT {', '.join(chr(34) + n + chr(34) for n, _ in cols)} FROM {table}")
            rows[table] = 0
            while chunk := cur.fetchmany(CHUNK):
                arrays = [pa.array(list(values), type=t) for values, t in zip(zip(*chunk), types)]
                batch = pa.Table.from_arrays(arrays, names=[n for n, _ in cols])  # noqa: F841 (read by DuckDB)
                con.execute(f"INSERT INTO {table} SELECT * FROM batch")
                rows[table] += len(chunk)
                del chunk, arrays, batch
    finally:
        src.close()
    return rows


def _copy_with_extension(con, path: Path, tables) -> dict[str, int]:
    con.execute(f"ATTACH '{path}' AS src (TYPE sqlite, READ_ONLY)")
    rows = {}
    for table in tables:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM src.{table}")
        rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.execute("DETACH src")
    return rows


def load_sqlite(path: str | Path, tables=TABLES, method: str = "auto"):
    """An in-memory DuckDB connection holding ``tables`` of the SQLite file ``path``, and how they got in:
    {"method", "seconds", "cpu_seconds", "rows"}.  ``method``: "extension", "sqlite3" or "auto" (the extension
    when it loads without a download, else sqlite3)."""
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise RuntimeError(f"no SQLite file {path}")
    t0, c0 = time.perf_counter(), time.process_time()
    con = duckdb.connect()
    # Never reach for the network: an extension that is not installed fails at once.
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    use = method
    if method in ("auto", "extension"):
        try:
            con.execute("LOAD sqlite")
            use = "extension"
        except duckdb.Error:
            if method == "extension":
                raise RuntimeError("DuckDB's sqlite extension is not installed (INSTALL sqlite needs the "
                                   "network)") from None
            use = "sqlite3"
    rows = _copy_with_extension(con, path, tables) if use == "extension" else _copy_with_sqlite3(con, path, tables)
    return con, {"method": {"extension": "DuckDB's sqlite extension (ATTACH … TYPE sqlite), copied into DuckDB",
                            "sqlite3": f"Python sqlite3 → Arrow chunks of {CHUNK:,} rows → DuckDB tables"}[use],
                 "way": use, "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                 "rows": rows}


def period(now: datetime) -> tuple[datetime, datetime]:
    """The dashboard's default "last 12 months": the first day of this month a year ago to the end of today."""
    start = date(now.year - 1, now.month, 1)
    return datetime(start.year, start.month, 1), datetime.combine(now.date() + timedelta(days=1), datetime.min.time())


def regions(con) -> dict[str, tuple[str, str]]:
    rows = con.execute("SELECT code, name, level FROM regions").fetchall()
    return {code: (name, level) for code, name, level in rows}


def _where(level: str, region: str, now: datetime, q: str) -> tuple[str, list]:
    start, end = period(now)
    col = REGION_COLUMN.get(level, "grid_code")
    sql = f"reported_at >= ? AND reported_at < ? AND {col} = ?"
    params: list = [start, end, region]
    if q:
        sql += " AND contains(title, ?)"
        params.append(q)
    return sql, params


def overview(con, region: str, level: str, now: datetime, q: str = "", page: int = 1) -> dict:
    """The pandas page's answers for one region, the last 12 months and an optional title text."""
    where, params = _where(level, region, now, q)
    n, closure, overdue, median = con.execute(
        f"""SELECT count(*), avg(CASE WHEN status = 'closed' THEN 1.0 ELSE 0.0 END),
                   count(*) FILTER (WHERE status <> 'closed' AND due_at < ?),
                   median(hours_to_close) FILTER (WHERE status = 'closed')
            FROM cases WHERE {where}""", [now, *params]).fetchone()
    by_month = con.execute(f"SELECT report_month, status, count(*) AS n FROM cases WHERE {where} "
                           "GROUP BY ALL ORDER BY 1, 2", params).fetchall()
    by_child = []
    if level in CHILD_COLUMN:
        child = CHILD_COLUMN[level]
        by_child = con.execute(
            f"""SELECT c.{child} AS code, r.name, count(*) AS cases,
                       count(*) FILTER (WHERE c.status = 'closed') AS closed,
                       count(*) FILTER (WHERE c.status = 'closed') / count(*) AS closure_rate
                FROM (SELECT {child}, status FROM cases WHERE {where}) c LEFT JOIN regions r ON r.code = c.{child}
                GROUP BY ALL ORDER BY cases DESC, code""",
            params).fetchall()
    newest = con.execute(f"SELECT {', '.join(LIST_COLUMNS)} FROM cases WHERE {where} "
                         "ORDER BY reported_at DESC, case_no LIMIT 50 OFFSET ?",
                         [*params, (max(page, 1) - 1) * 50]).fetchall()
    return {"cases": n, "closure_rate": closure, "open_overdue": overdue, "median_hours": median,
            "by_month": by_month, "by_child": by_child, "newest": newest}
