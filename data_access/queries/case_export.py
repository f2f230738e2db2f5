"""The filtered case set as a download: CSV or Excel, streamed from the database.

Rows are exactly the cases the workbench list shows for a :class:`CaseFilter`, in the order the list is
sorted by (``sort``, one of cases.SORTS, by the list's own sort keys; ties by case_no as there).  They are
read in chunks with keyset pagination on (sort key, case_no) — never OFFSET, never the whole set in memory —
and written as they arrive, so a 1.07 M-case export needs about as much memory as a 10,000-case one.

Columns: the list's (``cases.LIST_COLUMNS``) first, then the rest of the case (``EXPORT_COLUMNS``).  The
caller owns the translations and passes them in (this package never imports ui/):

* ``headers`` maps a column to its header text (missing: the column name);
* ``labels`` maps a column to {code: label} for the coded columns (``LABELLED_COLUMNS``) and for
  ``on_the_spot`` with the keys "true"/"false" (e.g. 是/否; missing: "true"/"false").  A code without a
  label is written as the code.

Values: timestamps 'YYYY-MM-DD HH:MM:SS' in CSV and real Excel datetimes in the workbook; hours, and the
overdue days as the list shows them (metrics.overdue_days: empty when not overdue), rounded to one decimal; reporter name and phone pass through :func:`access.personal`, so they are masked unless the
user may see personal data.  Text cells of the CSV that a spreadsheet would run as a formula (starting with
= + - @, tab or CR) get a leading apostrophe; the workbook stores every text as text, so it needs none.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from operator import itemgetter
from os import PathLike, fspath
from typing import Any, BinaryIO

import pandas as pd
from sqlalchemy import Connection, Engine, Select

from data_access.core import audit
from data_access.core.access import User, personal
from data_access.core.metrics import overdue_days
from data_access.queries.cases import (
    DEFAULT_SORT,
    LIST_COLUMNS,
    SORTS,
    _arms,
    _beyond,
    _merged,
    _order_by,
    _row_select,
    add_place_names,
    open_grade_by_case,
)
from data_access.core.filters import CaseFilter, OutOfScope, Resolved, case_conditions, resolve
from data_access.core.counting import case_total
from data_access.core.regions import RegionTree
from data_access.core.schema import cases

# Columns of the export, in order: the list's as it shows them (overdue in days), then the rest of the case.
EXPORT_COLUMNS: tuple[str, ...] = (
    *("overdue_days" if c == "overdue_hours" else c for c in LIST_COLUMNS),
    "county_name", "grid_code", "source", "description", "reporter_name", "reporter_phone",
    "accepted_at", "dispatched_at", "handled_at", "feedback_at", "closed_at", "department_code",
    "resolution_level", "on_the_spot", "satisfaction", "hours_to_close",
)
# Coded columns written through ``labels``.
LABELLED_COLUMNS = ("category", "status", "source", "resolution_level", "supervision_grade")
TIMESTAMP_COLUMNS = frozenset({"reported_at", "due_at", "accepted_at", "dispatched_at", "handled_at",
                               "feedback_at", "closed_at"})
HOURS_COLUMNS = frozenset({"overdue_days", "hours_to_close"})  # numbers written with one decimal
NAME_COLUMNS = ("grid_name", "village_name", "township_name", "county_name")
BOOLEAN_LABELS = {"true": "true", "false": "false"}  # used when ``labels`` has no "on_the_spot"

# Rows per query.  At 1.07 M cases 10,000 is as fast as 20,000 and peaks 25–40 MB lower (SQLite and PostgreSQL).
CHUNK_SIZE = 10_000
# Excel's sheet limit, header row included; the workbook continues on a new sheet beyond it.
XLSX_MAX_ROWS = 1_048_576
# open_grade_by_case binds one parameter per case: stay well below SQLite's and PostgreSQL's limits.
_GRADE_BATCH = 5_000

Progress = Callable[[float, int], None]
Output = BinaryIO | str | PathLike[str]

_ROW_COLUMNS = (cases.c.source, cases.c.description, cases.c.reporter_name, cases.c.reporter_phone,
                cases.c.accepted_at, cases.c.dispatched_at, cases.c.handled_at, cases.c.feedback_at,
                cases.c.department_code, cases.c.resolution_level, cases.c.on_the_spot, cases.c.satisfaction,
                cases.c.hours_to_close)
# The chunk query's columns as iter_chunks unpacks them.
_READ = ("case_no", "title", "category", "grid_code", "status", "reported_at", "due_at", "closed_at",
         "overdue_hours", "department_name", *(c.name for c in _ROW_COLUMNS))


# --- rows -----------------------------------------------------------------------------------------------

def _within_user_scope(engine: Engine, f: CaseFilter, user: User | None) -> CaseFilter:
    """``f`` limited to the user's jurisdiction: an export never reaches beyond what the user may see."""
    if user is None or user.scope_code is None:
        return f
    if f.scope_code is None:
        return f.with_(scope_code=user.scope_code)
    if not resolve(engine, CaseFilter()).tree.contains(user.scope_code, f.scope_code):
        raise OutOfScope(f.scope_code)
    return f


def _chunk_select(r: Resolved, now: datetime, key, extra, desc: bool, after: tuple | None, limit: int) -> Select:
    """The next ``limit`` matching cases after the keyset ``after`` = (sort key, case_no), in the list's order
    by one sort key (cases._arms), the key as the last column ``sort_key``."""
    conds = case_conditions(r, now)
    if extra is not None:
        conds.append(extra)
    if after is not None:
        conds.append(_beyond(key, desc, after))
    return (_row_select(now).add_columns(*_ROW_COLUMNS, key.label("sort_key")).where(*conds)
            .order_by(*_order_by(key, desc)).limit(limit))


def _next_chunk(conn: Connection, r: Resolved, f: CaseFilter, sort: str, now: datetime, after: tuple | None,
                limit: int) -> tuple[list, tuple | None]:
    """The next chunk's rows (as the list orders them) and the keyset after it.  A sort of one key reads the rows
    in one query; "most overdue first" merges its arms' keys as the list's pages do (cases._merged), then reads
    those rows by case_no."""
    arms, desc = _arms(sort, now, f)
    if len(arms) == 1:
        (key, extra), = arms
        result = conn.execute(_chunk_select(r, now, key, extra, desc, after, limit))
        keys = list(result.keys())
        pick = itemgetter(*(keys.index(k) for k in _READ), keys.index("sort_key"))
        rows = [pick(x) for x in result]
        return [x[:-1] for x in rows], ((rows[-1][-1], rows[-1][0]) if rows else None)
    keyed = _merged(conn, case_conditions(r, now), arms, desc, after, limit)
    ids = [k[0] for k in keyed]
    by_no: dict[str, tuple] = {}
    for i in range(0, len(ids), _GRADE_BATCH):
        result = conn.execute(_row_select(now).add_columns(*_ROW_COLUMNS)
                              .where(cases.c.case_no.in_(ids[i:i + _GRADE_BATCH])))
        keys = list(result.keys())
        pick = itemgetter(*(keys.index(k) for k in _READ))
        by_no.update((x[0], x) for x in (pick(y) for y in result))
    return [by_no[c] for c in ids], ((keyed[-1][1], keyed[-1][0]) if keyed else None)


def _open_grades(conn: Connection, case_nos: list[str]) -> dict[str, str]:
    """open_grade_by_case in batches small enough for any driver's parameter limit."""
    grades: dict[str, str] = {}
    for i in range(0, len(case_nos), _GRADE_BATCH):
        grades.update(open_grade_by_case(conn, case_nos[i:i + _GRADE_BATCH]))
    return grades


class _PlaceNames:
    """grid_code → (grid, village, township, county name), from the region tree, remembered across chunks."""

    def __init__(self, tree: RegionTree) -> None:
        self.tree = tree
        self.known: dict[str, tuple[str, ...]] = {}

    def lookup(self, grid_codes: Sequence[str]) -> dict[str, tuple[str, ...]]:
        new = sorted(set(grid_codes) - self.known.keys())
        if new:
            df = add_place_names(pd.DataFrame({"grid_code": new}), self.tree)
            for row in df.itertuples(index=False):
                self.known[row.grid_code] = tuple(getattr(row, c) for c in NAME_COLUMNS)
        return self.known


def _hours(v: float | None) -> float | None:
    """Hours to one decimal (and never "-0.0")."""
    return None if v is None else round(float(v), 1) + 0.0


def iter_chunks(engine: Engine, f: CaseFilter, *, user: User | None, now: datetime,
                labels: Mapping[str, Mapping[str, str]], chunk_size: int = CHUNK_SIZE,
                sort: str = DEFAULT_SORT) -> Iterator[list[list[Any]]]:
    """The export's rows in chunks of at most ``chunk_size``: lists of values in ``EXPORT_COLUMNS`` order, in the
    list's order for ``sort`` (an unknown sort: the list's default, as the list does).

    Values are typed for the writers: datetime for timestamps, float (1 decimal) for hours, int for
    satisfaction, str (translated label, masked personal data) or None for the rest."""
    f = _within_user_scope(engine, f, user)
    sort = sort if sort in SORTS else DEFAULT_SORT
    r = resolve(engine, f)
    places = _PlaceNames(r.tree)
    yes_no = {True: labels.get("on_the_spot", BOOLEAN_LABELS).get("true", "true"),
              False: labels.get("on_the_spot", BOOLEAN_LABELS).get("false", "false")}
    cat, status, source, level, grade_of = (labels.get(c, {}) for c in LABELLED_COLUMNS)
    after: tuple | None = None
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one snapshot for every chunk
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        while True:
            rows: list[Any]
            rows, last = _next_chunk(conn, r, f, sort, now, after, chunk_size)  # last: where the next one starts
            if not rows:
                return
            grades = _open_grades(conn, [x[0] for x in rows])
            names = places.lookup([x[3] for x in rows])
            # Each row is replaced by its output in place, so a chunk is held once, not twice.
            for i, (case_no, title, category, grid_code, st, reported_at, due_at, closed_at, overdue, dept_name,
                 src, description, reporter_name, reporter_phone, accepted_at, dispatched_at, handled_at,
                 feedback_at, dept_code, res_level, on_the_spot, satisfaction, hours_to_close) in enumerate(rows):
                grid, village, township, county = names[grid_code]
                grade = grades.get(case_no)
                rows[i] = [
                    case_no, title, cat.get(category, category), grid, village, township, status.get(st, st),
                    reported_at, due_at, _hours(overdue_days(overdue)), dept_name,
                    None if grade is None else grade_of.get(grade, grade),
                    county, grid_code, source.get(src, src), description,
                    personal(user, reporter_name, "name"), personal(user, reporter_phone, "phone"),
                    accepted_at, dispatched_at, handled_at, feedback_at, closed_at, dept_code,
                    None if res_level is None else level.get(res_level, res_level),
                    None if on_the_spot is None else yes_no[bool(on_the_spot)],
                    satisfaction, _hours(hours_to_close),
                ]
            n = len(rows)
            yield rows
            if n < chunk_size:
                return
            after = last


def _rows_with_progress(engine: Engine, f: CaseFilter, *, user: User | None, now: datetime,
                        labels: Mapping[str, Mapping[str, str]], progress: Progress | None, total: int | None,
                        chunk_size: int, sort: str = DEFAULT_SORT) -> Iterator[list[list[Any]]]:
    """iter_chunks, reporting (fraction done, rows done) after each chunk; the last report is (1.0, rows)."""
    if progress is not None and total is None:
        total = case_total(engine, _within_user_scope(engine, f, user), now)
    done, last = 0, (0.0, 0)
    for chunk in iter_chunks(engine, f, user=user, now=now, labels=labels, chunk_size=chunk_size, sort=sort):
        yield chunk
        done += len(chunk)
        if progress is not None:
            last = (min(1.0, done / total) if total else 1.0, done)
            progress(*last)
    if progress is not None and last != (1.0, done):
        progress(1.0, done)


def header_row(headers: Mapping[str, str]) -> list[str]:
    """The translated header of every export column (the column name where no translation is given)."""
    return [headers.get(c, c) for c in EXPORT_COLUMNS]


# --- CSV ------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(v: str | None) -> str:
    """A text cell that a spreadsheet will not run as a formula (leading apostrophe where needed)."""
    if v is None:
        return ""
    return "'" + v if v.startswith(_FORMULA_START) else v


def _csv_formatters() -> list[Callable[[Any], str]]:
    def ts(v: datetime | None) -> str:
        return "" if v is None else v.isoformat(" ", "seconds")

    def hours(v: float | None) -> str:
        return "" if v is None else f"{v:.1f}"

    def num(v: int | None) -> str:
        return "" if v is None else str(v)

    out: list[Callable[[Any], str]] = []
    for c in EXPORT_COLUMNS:
        out.append(ts if c in TIMESTAMP_COLUMNS else hours if c in HOURS_COLUMNS
                   else num if c == "satisfaction" else _csv_text)
    return out


def write_csv(engine: Engine, f: CaseFilter, out: Output, *, user: User | None, now: datetime,
              headers: Mapping[str, str], labels: Mapping[str, Mapping[str, str]],
              progress: Progress | None = None, total: int | None = None, chunk_size: int = CHUNK_SIZE,
              sort: str = DEFAULT_SORT) -> int:
    """Write the cases matching ``f`` as CSV to ``out`` (a binary stream or a path); returns rows written.

    UTF-8 with a byte-order mark (Excel then reads Chinese correctly), RFC 4180 quoting, CRLF line ends.
    ``total`` (the caller's count of matching cases) scales ``progress``; without it one count is made."""
    if isinstance(out, (str, PathLike)):
        with open(out, "wb") as fh:
            return write_csv(engine, f, fh, user=user, now=now, headers=headers, labels=labels,
                             progress=progress, total=total, chunk_size=chunk_size, sort=sort)
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    try:
        w = csv.writer(text)
        w.writerow(header_row(headers))
        fmts = _csv_formatters()
        n = 0
        for chunk in _rows_with_progress(engine, f, user=user, now=now, labels=labels, progress=progress,
                                         total=total, chunk_size=chunk_size, sort=sort):
            w.writerows([fmt(v) for fmt, v in zip(fmts, row)] for row in chunk)
            n += len(chunk)
        text.flush()
    finally:
        text.detach()  # leave the caller's stream open
    _audit_export(engine, f, user, "csv", n, sort)
    return n


# --- Excel ----------------------------------------------------------------------------------------------

# Column widths in Excel character units (a Chinese character counts about 2).
_WIDTHS = {"case_no": 22, "title": 30, "description": 40, "grid_name": 22, "village_name": 14,
           "township_name": 14, "county_name": 12, "grid_code": 22, "department_name": 20,
           "department_code": 14, "reporter_phone": 15}
_TS_WIDTH = 19
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def _display_width(s: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


def _sheet_title(name: str, n: int) -> str:
    """The n-th (1-based) sheet's name: ``name``, then ``name (2)``…, valid for Excel (≤ 31 characters)."""
    base = _SHEET_NAME_BAD.sub("_", name).strip("'") or "Sheet"
    suffix = "" if n == 1 else f" ({n})"
    return base[:31 - len(suffix)] + suffix


def write_xlsx(engine: Engine, f: CaseFilter, out: Output, *, user: User | None, now: datetime,
               headers: Mapping[str, str], labels: Mapping[str, Mapping[str, str]],
               progress: Progress | None = None, total: int | None = None, chunk_size: int = CHUNK_SIZE,
               sheet_name: str = "Cases", sort: str = DEFAULT_SORT) -> int:
    """Write the cases matching ``f`` as an Excel workbook to ``out`` (binary stream or path); returns rows.

    XlsxWriter in constant_memory mode (each row goes to disk once the next starts).  Every sheet has the
    bold, frozen, filterable header row; a sheet holds ``XLSX_MAX_ROWS`` rows with it, and the rows go on
    on ``sheet_name (2)``, ``(3)``….  Timestamps are Excel datetimes (yyyy-mm-dd hh:mm:ss), hours numbers
    with one decimal, text always text (never a formula or a link)."""
    import xlsxwriter

    # zip64: a full sheet of long descriptions could pass 4 GB of XML; Excel reads zip64 without complaint.
    target = fspath(out) if isinstance(out, (str, PathLike)) else out
    wb = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False, "use_zip64": True})
    bold = wb.add_format({"bold": True})
    ts_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    hours_fmt = wb.add_format({"num_format": "0.0"})
    heads = header_row(headers)
    per_sheet = XLSX_MAX_ROWS - 1
    ncols = len(EXPORT_COLUMNS)
    kinds = ["ts" if c in TIMESTAMP_COLUMNS else "hours" if c in HOURS_COLUMNS
             else "int" if c == "satisfaction" else "text" for c in EXPORT_COLUMNS]

    def new_sheet(n: int):
        ws = wb.add_worksheet(_sheet_title(sheet_name, n))
        for col, (c, head) in enumerate(zip(EXPORT_COLUMNS, heads)):
            width = _TS_WIDTH if c in TIMESTAMP_COLUMNS else _WIDTHS.get(c, 10)
            ws.set_column(col, col, max(width, _display_width(head) + 3))  # + 3: the filter button
        ws.write_row(0, 0, heads, bold)
        ws.freeze_panes(1, 0)
        return ws

    def close_sheet(ws, rows: int) -> None:
        ws.autofilter(0, 0, max(rows, 1), ncols - 1)

    sheets = 1
    ws = new_sheet(sheets)
    row = 0  # data rows on the current sheet
    n = 0
    for chunk in _rows_with_progress(engine, f, user=user, now=now, labels=labels, progress=progress,
                                     total=total, chunk_size=chunk_size, sort=sort):
        for values in chunk:
            if row == per_sheet:
                close_sheet(ws, row)
                sheets += 1
                ws = new_sheet(sheets)
                row = 0
            row += 1
            for col, (kind, v) in enumerate(zip(kinds, values)):
                if v is None:
                    continue
                if kind == "text":
                    ws.write_string(row, col, v)
                elif kind == "ts":
                    ws.write_datetime(row, col, v, ts_fmt)
                elif kind == "hours":
                    ws.write_number(row, col, v, hours_fmt)
                else:
                    ws.write_number(row, col, v)
        n += len(chunk)
    close_sheet(ws, row)
    wb.close()  # on an error the workbook is never closed: no half-written file that looks complete
    _audit_export(engine, f, user, "xlsx", n, sort)
    return n


def _audit_export(engine: Engine, f: CaseFilter, user: User | None, fmt: str, n: int, sort: str) -> None:
    """Every finished export is in the audit log: who, which filter and order, how many rows."""
    audit.record(engine, "export", user=user, username=None if user else "system", rows=n,
                 target=export_file_name(f, fmt),
                 detail={"format": fmt, "filter": audit.filter_detail(f), "sort": sort if sort in SORTS else DEFAULT_SORT})


# --- file name ------------------------------------------------------------------------------------------

_FILE_NAME_BAD = re.compile(r'[\\/:*?"<>|\x00-\x1f_]+')


MAX_NAME_CHARS = 80  # a Chinese character is 3 bytes in UTF-8; file systems allow 255 bytes for a name


def download_name(parts, ext: str) -> str:
    """``parts`` joined by '_' as a file name every file system accepts: in each part a run of characters that
    none accepts (``\\ / : * ? " < > |``, control characters) or of '_' becomes one '_', dots and spaces at its
    ends are dropped, empty parts are left out; at most MAX_NAME_CHARS before the extension."""
    clean = [_FILE_NAME_BAD.sub("_", str(p)).strip(" ._") for p in parts if p]
    name = "_".join(p for p in clean if p)[:MAX_NAME_CHARS].strip(" ._") or "export"
    return name + "." + ext.lstrip(".")


def region_path_names(tree: RegionTree | None, code: str | None) -> list[str]:
    """A region as people name it in a file name: its names from the city (the province only when it is the
    region itself) down, e.g. ['娄底市', '新化县']; the code when the tree does not know it."""
    if not code:
        return []
    if tree is None or code not in tree.nodes:
        return [code]
    return [n.name for n in tree.ancestors(code) if n.level != "province" or n.code == code]


def period_label(date_from: date | None, date_to: date | None) -> list[str]:
    """'2026-11' for a whole calendar month, else the ends that are set ('2026-01-01', '2026-03-20')."""
    if (date_from and date_to and date_from.day == 1 and (date_from.year, date_from.month) == (date_to.year, date_to.month)
            and (date_to + timedelta(days=1)).day == 1):
        return [f"{date_from:%Y-%m}"]
    return [d.isoformat() for d in (date_from, date_to) if d is not None]


def export_file_name(f: CaseFilter, ext: str, *, prefix: str = "案件", as_of: date | None = None,
                     tree: RegionTree | None = None) -> str:
    """A download name for the export of ``f``: region_prefix_period.ext, e.g. 娄底市_新化县_案件_2026-11.xlsx
    (with ``tree``; without it the region's code: 431322_案件_2026-11.xlsx).

    The region is the filter's region (else its scope; none for everything).  The period is a month when it is
    one whole calendar month, else its ends; an open end is left out, except that ``as_of`` (today) stands in
    for a missing end date when a start date is set.  See :func:`download_name` for the characters."""
    date_to = f.date_to or (as_of if f.date_from else None)
    return download_name([*region_path_names(tree, f.region_code or f.scope_code), prefix,
                          *period_label(f.date_from, date_to)], ext)
