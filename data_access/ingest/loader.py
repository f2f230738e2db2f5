"""Validated bulk loader for the interchange format (docs/DATA_CONTRACT.md).

One pass per file, streamed with the csv module: each row is checked against
:mod:`data_access.core.contract` and the cross-file rules below, converted to the
exact values the schema stores, and inserted in batches — raw DBAPI
``executemany`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL — inside one
transaction.  Event sequences are checked with SQL after their insert (the file
may be in any order).  Any problem → rollback, the database is exactly as it
was, and :class:`DatasetInvalid` lists every problem as
``file:line column: reason`` (line = physical line where the record starts,
header = line 1).  Then the columns derived from other rows are filled
(returns, reassignments, reopenings, re-reports and hours per step: derive.py),
the time-limit rules applied to ``due_at`` (time_limits.py), every roll-up rebuilt
(summary.py) and ``data_meta`` stamped, in the same transaction.

Timestamps are stored as naive Asia/Shanghai local time; an offset other than
+08:00 is converted.
"""
from __future__ import annotations

import csv
import math
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, insert, text

from data_access.core import schema
from data_access.core.contract import CASE_STEP_COLUMNS, FILES, Col, FileSpec
from data_access.core.db import no_statement_timeout
from data_access.core.derive import derive_event_counts, derive_rereported
from data_access.core.derived import (
    ANCESTOR_COLUMNS,
    CLOSED_CASE_COLUMNS,
    STEP_HOUR_COLUMNS,
    allowed_hours,
    ancestor_codes,
    closed_late,
    hours_to_close,
    late_hours,
    report_month,
    step_hours,
)
from data_access.core.metrics import REGION_LEVELS, STATUSES
from data_access.core.regions import rebuild_node_paths
from data_access.core.rollups import rebuild_all_summaries
from data_access.core.search import resume_text_index, suspend_text_index
from data_access.core.time_limits import apply_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_PROBLEMS_PER_FILE = 200
BATCH_ROWS = 20_000
PROGRESS_EVERY = 50_000

csv.field_size_limit(64 * 1024 * 1024)

Progress = Callable[[float, str], None]


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


# --- value converters: raw non-empty cell -> stored value, or ValueError(reason) -----------------

_TS_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(Z|[+-]\d{2}:\d{2})?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_RE = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])")
_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_fromiso = datetime.fromisoformat
_FAST_TS = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
                      r"(?:\+08:00)?").fullmatch


def parse_ts(s: str) -> str:
    """ISO 8601 timestamp → 'YYYY-MM-DD HH:MM:SS' naive Asia/Shanghai local time."""
    if _FAST_TS(s) is not None:
        # the common shape, fully checked by the pattern except a day past the month's end
        local = s[:10] + " " + s[11:19]
        if s[8:10] > "28":
            try:
                _fromiso(local)
            except ValueError:
                raise ValueError(f"not a valid date/time: '{s}'") from None
        return local
    m = _TS_RE.fullmatch(s)
    if m is None:
        raise ValueError(f"not a timestamp YYYY-MM-DDTHH:MM:SS[+08:00]: '{s}'")
    d, t, off = m.groups()
    local = d + " " + t
    try:
        _fromiso(local)
    except ValueError:
        raise ValueError(f"not a valid date/time: '{s}'") from None
    if off is None or off == "+08:00":
        return local
    aware = _fromiso(d + "T" + t + ("+00:00" if off == "Z" else off))
    return aware.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def parse_date(s: str) -> str:
    if _DATE_RE.fullmatch(s) is None:
        raise ValueError(f"not a date YYYY-MM-DD: '{s}'")
    try:
        date.fromisoformat(s)
    except ValueError:
        raise ValueError(f"not a valid date: '{s}'") from None
    return s


def parse_month(s: str) -> str:
    if _MONTH_RE.fullmatch(s) is None:
        raise ValueError(f"not a month YYYY-MM: '{s}'")
    return s


def parse_bool(s: str) -> bool:
    v = _BOOLS.get(s.lower())
    if v is None:
        raise ValueError(f"not a boolean (true/false/1/0): '{s}'")
    return v


def _make_converter(col: Col) -> Callable[[str], object] | None:
    """The converter of one column (None: the raw string is stored as is)."""
    if col.kind == "str":
        return None
    if col.kind == "enum":
        allowed = frozenset(col.enum)
        expected = ", ".join(col.enum)

        def conv_enum(s: str) -> str:
            if s not in allowed:
                raise ValueError(f"unknown value '{s}' (expected one of {expected})")
            return s
        return conv_enum
    if col.kind in ("int", "float"):
        is_int = col.kind == "int"
        pattern = _INT_RE if is_int else _FLOAT_RE
        lo, hi, gt = col.min, col.max, col.gt
        what = "an integer" if is_int else "a number"

        def conv_num(s: str):
            if is_int and s.isdigit() and s.isascii():
                v = int(s)
            elif pattern.fullmatch(s) is None:
                raise ValueError(f"not {what}: '{s}'")
            else:
                v = int(s) if is_int else float(s)
                if not is_int and not math.isfinite(v):
                    raise ValueError(f"not a finite number: '{s}'")
            if lo is not None and v < lo:
                raise ValueError(f"{s} is below the minimum {lo:g}")
            if hi is not None and v > hi:
                raise ValueError(f"{s} is above the maximum {hi:g}")
            if gt is not None and v <= gt:
                raise ValueError(f"{s} must be greater than {gt:g}")
            return v
        return conv_num
    return {"bool": parse_bool, "date": parse_date, "ts": parse_ts, "month": parse_month}[col.kind]


def _compile_converter(spec: FileSpec, pos: dict[str, int], report) -> Callable:
    """A function ``convert(row, line) -> (values, ok)`` for one file's header, as straight-line code.

    Generated once per file so that the per-row work is a few comparisons per
    column with no loop or tuple unpacking (this is the hot path of a 5 M row load).
    """
    env: dict[str, object] = {"report": report}
    body = ["def convert(row, line):", "    ok = True"]
    names = []
    for i, col in enumerate(spec.columns):
        v = f"v{i}"
        names.append(v)
        idx = pos.get(col.name)
        env[f"D{i}"] = col.default
        if idx is None:                       # optional column left out of the file
            body.append(f"    {v} = D{i}")
            continue
        body.append(f"    {v} = row[{idx}]")
        body.append(f"    if {v} == '':")
        if col.required:
            body.append(f"        report(line, {col.name!r}, 'required value is missing')")
            body.append("        ok = False")
        body.append(f"        {v} = D{i}")
        if col.kind == "str":
            continue
        if col.kind == "enum":
            env[f"E{i}"] = frozenset(col.enum)
            env[f"M{i}"] = f"unknown value '%s' (expected one of {', '.join(col.enum)})"
            body.append(f"    elif {v} not in E{i}:")
            body.append(f"        report(line, {col.name!r}, M{i} % {v})")
            body.append(f"        {v} = None")
            body.append("        ok = False")
            continue
        env[f"C{i}"] = _make_converter(col)
        body.append("    else:")
        body.append("        try:")
        body.append(f"            {v} = C{i}({v})")
        body.append("        except ValueError as exc:")
        body.append(f"            report(line, {col.name!r}, str(exc))")
        body.append(f"            {v} = None")
        body.append("            ok = False")
    body.append(f"    return ({', '.join(names)},), ok")
    exec(compile("\n".join(body), f"<convert {spec.name}>", "exec"), env)  # noqa: S102 - generated from the contract
    return env["convert"]  # type: ignore[return-value]


# --- problem collection -------------------------------------------------------------------------

class _TooMany(Exception):
    """Stop validating the current file."""


class _Report:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.file = ""
        self.in_file = 0

    def start(self, file: str) -> None:
        self.file, self.in_file = file, 0

    def __call__(self, line: int | None, column: str | None, reason: str) -> None:
        where = self.file if line is None else f"{self.file}:{line}"
        self.problems.append(f"{where} {column}: {reason}" if column else f"{where}: {reason}")
        self.in_file += 1
        if self.in_file >= MAX_PROBLEMS_PER_FILE:
            self.problems.append(f"{self.file}: stopped checking this file after "
                                 f"{MAX_PROBLEMS_PER_FILE} problems")
            raise _TooMany


# --- reading ------------------------------------------------------------------------------------

def _utf8_error_line(path: Path) -> int:
    with open(path, "rb") as f:
        for i, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return 0


class _Reader:
    """Streams (start line, row) of one CSV file; knows its byte position for progress."""

    def __init__(self, path: Path):
        self.path = path
        self.size = max(path.stat().st_size, 1)
        self.f = open(path, encoding="utf-8-sig", newline="")
        self.reader = csv.reader(self.f)

    def header(self) -> list[str] | None:
        try:
            return next(self.reader)
        except StopIteration:
            return None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = self.reader
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            if row:   # a blank line is not a record
                yield line, row

    def fraction(self) -> float:
        try:
            return min(self.f.buffer.tell() / self.size, 1.0)
        except (OSError, ValueError):
            return 0.0

    def close(self) -> None:
        self.f.close()


# --- writing ------------------------------------------------------------------------------------

class _Writer:
    """Inserts tuples into one table: batched executemany (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, conn: Connection | None, table: str, cols: list[str]):
        self.conn, self.table, self.cols = conn, table, cols
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


# --- the load -----------------------------------------------------------------------------------

_LEVEL_RANK = {lvl: i for i, lvl in enumerate(REGION_LEVELS)}
_STATUS_INDEX = {s: i for i, s in enumerate(STATUSES)}
# which of accepted_at … closed_at a case in each status has (status index k: steps 1..k)
_STEPS_OF_STATUS = [tuple(j <= k for j in range(1, 6)) for k in range(len(STATUSES))]
# the derived columns row_cases appends to the contract's, in its order (data_access/core/derived.py)
_DERIVED_CASE_COLS = [*ANCESTOR_COLUMNS, "report_month", *CLOSED_CASE_COLUMNS, "source_due_at", "allowed_hours",
                      *STEP_HOUR_COLUMNS]


class _Keys:
    """Keys of one file: code → first line (negative when that row was refused)."""

    def __init__(self, what: str):
        self.what = what
        self.lines: dict[str, int] = {}
        self.incomplete = False   # the file could not be read to the end: unknown keys are not news

    def add(self, key, line: int, report: _Report, column: str) -> bool:
        first = self.lines.get(key)
        if first is not None:
            shown = key if isinstance(key, str) else " / ".join(map(str, key))
            report(line, column, f"duplicate {column} '{shown}' (first on line {abs(first)})")
            return False
        self.lines[key] = line
        return True

    def refuse(self, key) -> None:
        if key in self.lines:
            self.lines[key] = -abs(self.lines[key])

    def check(self, value, line: int, report: _Report, column: str) -> bool:
        """True when value is a valid key; reports an unknown one (a refused one is silent)."""
        first = self.lines.get(value)
        if first is None:
            if not self.incomplete:
                report(line, column, f"unknown {self.what} '{value}'")
            return False
        return first > 0

    def __contains__(self, value) -> bool:
        first = self.lines.get(value)
        return first is not None and first > 0

    def __len__(self) -> int:
        return len(self.lines)


class _Load:
    """State of one validation/load run over a dataset folder."""

    def __init__(self, source_dir: Path, conn: Connection | None, progress: Progress | None):
        self.dir = Path(source_dir)
        self.conn = conn
        self.progress = progress
        self.report = _Report()
        self.counts: dict[str, int] = {}
        self.db_failed = False
        self.regions = _Keys("region")
        self.region_level: dict[str, str] = {}
        self.region_parent: dict[str, str | None] = {}
        self.grids = _Keys("grid")
        self.grid_ancestry: dict[str, tuple] = {}
        self.teams = _Keys("volunteer team")
        self.departments = _Keys("department")
        self.categories = _Keys("category")
        self.cases = _Keys("case")
        self.projects = _Keys("asset project")
        self.units = _Keys("clean unit")
        # keys of the files nothing else refers to
        self._staff = _Keys("staff")
        self._supervisions = _Keys("supervision")
        self._months = _Keys("project month")
        self._reviews = _Keys("review")
        self._region_rows: list = []
        self._grid_rows: list = []
        self.keys_of = {"regions": self.regions, "grids": self.grids, "volunteer_teams": self.teams,
                        "departments": self.departments, "categories": self.categories,
                        "cases": self.cases, "asset_projects": self.projects, "clean_units": self.units}
        total = 0
        self.sizes: dict[str, int] = {}
        for spec in FILES:
            p = self.dir / spec.name
            self.sizes[spec.name] = p.stat().st_size if p.is_file() else 0
            total += self.sizes[spec.name]
        self.total_bytes = max(total, 1)
        self.done_bytes = 0

    # progress over 0 .. 0.9 by bytes read; the rest is the SQL work after
    def tick(self, reader: _Reader | None, msg: str) -> None:
        if self.progress is None:
            return
        part = reader.fraction() * reader.size if reader is not None else 0
        self.progress(min(0.9 * (self.done_bytes + part) / self.total_bytes, 0.9), msg)

    def run(self) -> None:
        if not self.dir.is_dir():
            self.report.start(str(self.dir))
            self.report(None, None, "dataset folder not found")
            return
        known = {s.name for s in FILES}
        for p in sorted(self.dir.iterdir()):
            if p.suffix.lower() == ".csv" and p.name not in known:
                self.report.warnings.append(f"{p.name}: not a file of the format, ignored")
        for spec in FILES:
            self.report.start(spec.name)
            try:
                self.load_file(spec)
            except _TooMany:
                self.mark_incomplete(spec)
            self.done_bytes += self.sizes[spec.name]
        if self.conn is not None and not self.db_failed and self.counts.get("case_events"):
            self.report.start("case_events.csv")
            try:
                self.check_event_sequences()
            except _TooMany:
                pass

    def mark_incomplete(self, spec: FileSpec) -> None:
        keys = self.keys_of.get(spec.table)
        if keys is not None:
            keys.incomplete = True

    # -- one file --------------------------------------------------------------------------------

    def load_file(self, spec: FileSpec) -> None:
        path = self.dir / spec.name
        report = self.report
        self.counts[spec.table] = 0
        if not path.is_file():
            if not spec.optional:
                report(None, None, "required file is missing")
                self.mark_incomplete(spec)
            return
        self.tick(None, f"reading {spec.name}")
        reader = _Reader(path)
        try:
            self._load_rows(spec, reader)
        except UnicodeDecodeError as exc:
            self.mark_incomplete(spec)
            report(_utf8_error_line(path) or None, None,
                   f"not valid UTF-8 ({exc.reason}); save the file as UTF-8")
        except csv.Error as exc:
            self.mark_incomplete(spec)
            report(reader.reader.line_num or None, None, f"malformed CSV: {exc}")
        finally:
            reader.close()

    def _load_rows(self, spec: FileSpec, reader: _Reader) -> None:
        report = self.report
        header = reader.header()
        if header is None:
            report(1, None, "empty file: the header row is missing")
            return
        pos: dict[str, int] = {}
        for i, name in enumerate(header):
            if name in pos:
                report(1, name, "duplicate column in the header")
            pos[name] = i
        known = set(spec.column_names)
        for name in header:
            if name not in known:
                report.warnings.append(f"{spec.name}:1 {name}: unknown column, ignored")
        missing = [c for c in spec.required_in_header() if c not in pos]
        for c in missing:
            report(1, c, "required column is missing")
        if missing or report.in_file:
            self.mark_incomplete(spec)
            return
        ncols = len(header)
        convert = _compile_converter(spec, pos, report)
        handler = getattr(self, "row_" + spec.table)
        if spec.table == "case_events":
            self._case_lines = self.cases.lines
            self._org_codes = frozenset(k for keys in (self.regions, self.departments, self.grids)
                                        for k, first in keys.lines.items() if first > 0)
        writer = self.writer_for(spec)
        write = writer.write
        csv_reader = reader.reader
        every = PROGRESS_EVERY
        n = 0
        try:
            while True:
                line = csv_reader.line_num + 1     # where the next record starts
                row = next(csv_reader, None)
                if row is None:
                    break
                if len(row) != ncols:
                    if row:                        # a blank line is not a record
                        report(line, None, f"expected {ncols} fields, found {len(row)}")
                    continue
                n += 1
                if n % every == 0:
                    self.tick(reader, f"{spec.name}: {n:,} rows")
                out = handler(*convert(row, line), line)
                if out is not None:
                    write(out)
        finally:
            self.finish_writer(spec, writer)

    def writer_for(self, spec: FileSpec) -> _Writer:
        cols = spec.column_names + (_DERIVED_CASE_COLS if spec.table == "cases" else [])
        conn = None if self.db_failed else self.conn
        return _Writer(conn, spec.table, cols)

    def finish_writer(self, spec: FileSpec, writer: _Writer) -> None:
        too_many = False
        try:
            if spec.table in ("regions", "grids"):
                # self-referencing: rows were kept until the whole file was read
                for row in self.deferred_rows(spec.table):
                    writer.write(row)
        except _TooMany:
            too_many = True
        finally:
            writer.close()
        self.counts[spec.table] = writer.n
        if writer.failed is not None:
            self.db_failed = True
            self.report_db_failure(spec, writer.failed)
        if too_many:
            raise _TooMany

    def report_db_failure(self, spec: FileSpec, exc: Exception) -> None:
        """The database refused rows (a duplicate key not caught before): find the lines."""
        report = self.report
        found = False
        if spec.key:
            seen: dict[tuple, int] = {}
            reader = _Reader(self.dir / spec.name)
            try:
                header = reader.header() or []
                idx = [header.index(k) for k in spec.key]
                for line, row in reader.rows():
                    if len(row) != len(header):
                        continue
                    key = tuple(row[i] for i in idx)
                    if spec.table == "case_events":
                        key = (key[0], key[1].lstrip("+").lstrip("0") or "0")
                    if key in seen:
                        found = True
                        report(line, spec.key[-1],
                               f"duplicate {' / '.join(spec.key)} '{' / '.join(key)}' "
                               f"(first on line {seen[key]})")
                    else:
                        seen[key] = line
            finally:
                reader.close()
        if not found:
            msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
            report(None, None, f"the database refused the rows: {msg}")

    # -- per-file rules: take the converted values (contract order), return the row or None ----

    def row_regions(self, v: tuple, ok: bool, line: int):
        code, name, level, parent = v
        if code is not None and not self.regions.add(code, line, self.report, "code"):
            return
        if not ok:
            self.regions.refuse(code)
            return
        self.region_level[code] = level
        self.region_parent[code] = parent
        self._region_rows.append((line, code, name, level, parent))
        return

    def deferred_rows(self, table: str):
        if table == "regions":
            yield from self._finish_regions()
        else:
            yield from self._finish_grids()

    def _finish_regions(self):
        report = self.report
        rows, self._region_rows = self._region_rows, []
        rows.sort(key=lambda r: _LEVEL_RANK[r[3]])   # parents before children
        for line, code, name, level, parent in rows:
            if parent is not None:
                plevel = self.region_level.get(parent)
                if plevel is None:
                    if parent not in self.regions.lines:
                        report(line, "parent_code", f"unknown region '{parent}'")
                    self.regions.refuse(code)
                    continue
                if _LEVEL_RANK[plevel] >= _LEVEL_RANK[level]:
                    report(line, "parent_code",
                           f"parent '{parent}' is a {plevel}, not a level above {level}")
                    self.regions.refuse(code)
                    continue
                if parent not in self.regions:   # the parent was refused
                    self.regions.refuse(code)
                    continue
            yield (code, name, level, parent)

    def row_grids(self, v: tuple, ok: bool, line: int):
        code = v[0]
        if code is not None and not self.grids.add(code, line, self.report, "code"):
            return
        village = v[2]
        if village is not None:
            if not self.regions.check(village, line, self.report, "village_code"):
                ok = False
            elif self.region_level[village] != "village":
                self.report(line, "village_code",
                            f"region '{village}' is a {self.region_level[village]}, not a village")
                ok = False
        if not ok:
            self.grids.refuse(code)
            return
        self._grid_rows.append((line, tuple(v)))
        return

    def _finish_grids(self):
        report = self.report
        parent_of = {row[0]: row[3] for _line, row in self._grid_rows}
        good = []
        for line, row in self._grid_rows:
            code, parent = row[0], row[3]
            if parent is not None:
                if parent == code:
                    report(line, "parent_grid_code", "a grid cannot belong to itself")
                elif parent not in parent_of and parent not in self.grids.lines:
                    report(line, "parent_grid_code", f"unknown grid '{parent}'")
                elif parent not in parent_of:
                    pass   # the parent row was refused and reported already
                elif parent_of[parent] is not None:
                    report(line, "parent_grid_code",
                           f"'{parent}' is itself a micro-grid; a micro-grid belongs to a grid")
                else:
                    good.append(row)
                    continue
                self.grids.refuse(code)
                continue
            good.append(row)
        self._grid_rows = []
        good.sort(key=lambda r: r[3] is not None)   # grids before micro-grids
        for row in good:
            if row[3] is not None and row[3] not in self.grids:
                self.grids.refuse(row[0])
                continue
            self.grid_ancestry[row[0]] = self._ancestry(row[0], row[2], row[3])
            yield row

    def _ancestry(self, grid: str, village: str, parent_grid: str | None) -> tuple:
        """The grid's ancestor-code columns (derived.ancestor_codes)."""
        chain = []
        code = village
        while code is not None:
            chain.append((self.region_level[code], code))
            code = self.region_parent.get(code)
        return ancestor_codes(chain, grid, parent_grid)

    def row_staff(self, v: tuple, ok: bool, line: int):
        report = self.report
        if v[0] is not None and not self._staff.add(v[0], line, report, "staff_id"):
            return None
        grid, region = v[3], v[4]
        if grid is None and region is None:
            report(line, "grid_code", "one of grid_code and region_code must be set")
            ok = False
        if grid is not None and not self.grids.check(grid, line, report, "grid_code"):
            ok = False
        if region is not None and not self.regions.check(region, line, report, "region_code"):
            ok = False
        return v if ok else None

    def row_volunteer_teams(self, v: tuple, ok: bool, line: int):
        report = self.report
        if v[0] is not None and not self.teams.add(v[0], line, report, "team_code"):
            return None
        if v[2] is not None and not self.regions.check(v[2], line, report, "region_code"):
            ok = False
        if v[3] is not None and not self.grids.check(v[3], line, report, "grid_code"):
            ok = False
        if not ok:
            self.teams.refuse(v[0])
            return None
        return v

    def row_volunteer_activities(self, v: tuple, ok: bool, line: int):
        if v[0] is not None and not self.teams.check(v[0], line, self.report, "team_code"):
            ok = False
        return v if ok else None

    def row_departments(self, v: tuple, ok: bool, line: int):
        report = self.report
        if v[0] is not None and not self.departments.add(v[0], line, report, "code"):
            return None
        if v[2] is not None and not self.regions.check(v[2], line, report, "region_code"):
            ok = False
        if not ok:
            self.departments.refuse(v[0])
            return None
        return v

    def row_categories(self, v: tuple, ok: bool, line: int):
        if v[0] is not None and not self.categories.add(v[0], line, self.report, "code"):
            return None
        if not ok:
            self.categories.refuse(v[0])
            return None
        return v

    def row_cases(self, v: tuple, ok: bool, line: int):
        report = self.report
        case_no = v[0]
        if case_no is not None and not self.cases.add(case_no, line, report, "case_no"):
            return None
        grid = v[1]
        if grid is not None and not self.grids.check(grid, line, report, "grid_code"):
            ok = False
        if v[2] is not None and not self.categories.check(v[2], line, report, "category"):
            ok = False
        if v[16] is not None and not self.departments.check(v[16], line, report, "department_code"):
            ok = False
        reported, due, status = v[9], v[15], v[8]
        # timestamps in step order, none before an earlier one
        if reported is not None:
            last, last_col = reported, "reported_at"
            for j in range(10, 15):
                t = v[j]
                if t is not None:
                    if t < last:
                        report(line, CASE_STEP_COLUMNS[j - 9], f"{t} is earlier than {last_col} {last}")
                        ok = False
                    else:
                        last, last_col = t, CASE_STEP_COLUMNS[j - 9]
            if due is not None and due < reported:
                report(line, "due_at", f"{due} is earlier than reported_at {reported}")
                ok = False
        # status ⇔ timestamps
        k = _STATUS_INDEX.get(status)
        pattern = (v[10] is not None, v[11] is not None, v[12] is not None, v[13] is not None,
                   v[14] is not None)
        if k is not None and pattern != _STEPS_OF_STATUS[k] and not (k == 5 and v[18] and pattern[4]):
            spot = k == 5 and v[18]
            for j in range(1, 6):
                t = v[9 + j]
                col = CASE_STEP_COLUMNS[j]
                if j > k and t is not None:
                    report(line, col, f"is set but status is '{status}'")
                    ok = False
                elif j == k and t is None:
                    report(line, col, f"is required when status is '{status}'")
                    ok = False
                elif j < k and t is None and not spot and not (k == 5 and j == 4):
                    report(line, col, f"is missing: a '{status}' case passed through this step "
                                      "(only a case settled on the spot may skip steps)")
                    ok = False
        if k is not None:
            if k == 5 and v[17] is None:
                report(line, "resolution_level", "is required when status is 'closed'")
                ok = False
            elif k != 5 and v[17] is not None:
                report(line, "resolution_level", f"must be empty when status is '{status}'")
                ok = False
        if not ok:
            self.cases.refuse(case_no)
            return None
        # the derived columns (data_access/core/derived.py), computed once here
        rep, acc, dis, han, fee, clo = [None if x is None else _fromiso(x) for x in v[9:15]]
        due_ts = _fromiso(due)
        return (*v, *self.grid_ancestry[grid], report_month(v[9]), hours_to_close(rep, clo),
                closed_late(clo, due_ts), late_hours(clo, due_ts), due, allowed_hours(rep, due_ts),
                step_hours(rep, acc), step_hours(acc, dis), step_hours(dis, han), step_hours(han, fee))

    def row_case_events(self, v: tuple, ok: bool, line: int):
        # hot path (≈ 4 per case): plain dict/set lookups, the slow checks only on a miss
        first = self._case_lines.get(v[0])
        if first is None or first < 0:
            if v[0] is not None and not self.cases.check(v[0], line, self.report, "case_no"):
                ok = False
        org = v[5]
        if org is not None and org not in self._org_codes:
            if org in self.regions.lines or org in self.departments.lines or org in self.grids.lines:
                ok = False     # refused row, reported already
            else:
                self.report(line, "org_code", f"unknown region, department or grid '{org}'")
                ok = False
        return v if ok else None

    def row_supervisions(self, v: tuple, ok: bool, line: int):
        report = self.report
        if v[0] is not None and not self._supervisions.add(v[0], line, report, "supervision_id"):
            return None
        if v[1] is not None and not self.cases.check(v[1], line, report, "case_no"):
            ok = False
        if v[3] is not None and not self.regions.check(v[3], line, report, "issued_by"):
            ok = False
        if v[4] is not None and v[5] is not None and v[5] < v[4]:
            report(line, "deadline", f"{v[5]} is earlier than issued_at {v[4]}")
            ok = False
        if v[4] is not None and v[6] is not None and v[6] < v[4]:
            report(line, "resolved_at", f"{v[6]} is earlier than issued_at {v[4]}")
            ok = False
        return v if ok else None

    def row_asset_projects(self, v: tuple, ok: bool, line: int):
        report = self.report
        if v[0] is not None and not self.projects.add(v[0], line, report, "project_code"):
            return None
        region = v[2]
        if region is not None and self.regions.check(region, line, report, "region_code"):
            if self.region_level[region] not in ("city", "county", "township"):
                report(line, "region_code",
                       f"region '{region}' is a {self.region_level[region]}; "
                       "a project lies in a city, county or township")
                ok = False
        elif region is not None:
            ok = False
        if not ok:
            self.projects.refuse(v[0])
            return None
        return v

    def row_asset_project_months(self, v: tuple, ok: bool, line: int):
        report = self.report
        if v[0] is not None and not self.projects.check(v[0], line, report, "project_code"):
            ok = False
        if v[0] is not None and v[1] is not None \
                and not self._months.add((v[0], v[1]), line, report, "month"):
            ok = False
        return v if ok else None

    def row_clean_units(self, v: tuple, ok: bool, line: int):
        report = self.report
        if v[0] is not None and not self.units.add(v[0], line, report, "unit_code"):
            return None
        if v[3] is not None and not self.regions.check(v[3], line, report, "region_code"):
            ok = False
        if not ok:
            self.units.refuse(v[0])
            return None
        return v

    def row_clean_unit_reviews(self, v: tuple, ok: bool, line: int):
        report = self.report
        if v[0] is not None and not self.units.check(v[0], line, report, "unit_code"):
            ok = False
        if v[0] is not None and v[1] is not None \
                and not self._reviews.add((v[0], v[1]), line, report, "month"):
            ok = False
        return v if ok else None

    # -- event sequences: checked in SQL after the insert ---------------------------------------

    def check_event_sequences(self) -> None:
        """seq is 1..n without gaps per case and `at` never goes back; find the offending lines."""
        if self.progress:
            self.progress(0.9, "checking event sequences")
        rows = self.conn.execute(text(
            "SELECT case_no, seq, at, pseq, pat FROM ("
            " SELECT case_no, seq, at, LAG(seq) OVER w AS pseq, LAG(at) OVER w AS pat"
            " FROM case_events WINDOW w AS (PARTITION BY case_no ORDER BY seq)) t"
            " WHERE seq <> COALESCE(pseq, 0) + 1 OR at < pat"
            f" LIMIT {MAX_PROBLEMS_PER_FILE}")).all()
        if not rows:
            return
        bad: dict[tuple[str, int], list[str]] = {}
        for case_no, seq, at, pseq, pat in rows:
            reasons = []
            if seq != (pseq or 0) + 1:
                reasons.append(("seq", f"{seq} follows {pseq} for case '{case_no}': the sequence must "
                                       "run 1, 2, 3 … without gaps" if pseq else
                                f"case '{case_no}' starts at seq {seq}, not 1"))
            if pat is not None and _ts_text(at) < _ts_text(pat):
                reasons.append(("at", f"{_ts_text(at)} is earlier than event seq {pseq} "
                                      f"at {_ts_text(pat)} of the same case"))
            bad[(case_no, int(seq))] = reasons
        reader = _Reader(self.dir / "case_events.csv")
        try:
            header = reader.header() or []
            ic, iseq = header.index("case_no"), header.index("seq")
            for line, row in reader.rows():
                if len(row) != len(header) or row[ic] not in self.cases:
                    continue
                try:
                    key = (row[ic], int(row[iseq]))
                except ValueError:
                    continue
                reasons = bad.pop(key, None)
                if reasons:
                    for col, reason in reasons:
                        self.report(line, col, reason)
                    if not bad:
                        break
        finally:
            reader.close()


def _ts_text(v) -> str:
    return v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else str(v)


# --- transaction helpers -------------------------------------------------------------------------

def _has_data(conn: Connection) -> bool:
    for t in schema.DATASET_TABLES:
        if conn.exec_driver_sql(f'SELECT 1 FROM "{t.name}" LIMIT 1').first() is not None:
            return True
    return False


def _clear(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in [*schema.DATASET_TABLES, schema.case_summary])
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
        return
    conn.execute(delete(schema.case_summary))
    for t in reversed(schema.DATASET_TABLES):   # children before parents
        conn.execute(delete(t))


_BULK_INDEXED = [schema.cases]
_BULK_CONSTRAINED = [schema.cases, schema.case_events]


def _drop_bulk_indexes(conn: Connection) -> list:
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


def _create_indexes(conn: Connection, dropped: list) -> None:
    from sqlalchemy import Index
    from sqlalchemy.schema import AddConstraint, CreateIndex

    for item in dropped:
        if isinstance(item, Index):
            conn.execute(CreateIndex(item, if_not_exists=True))
        else:
            conn.execute(AddConstraint(item))


def _run_in_transaction(source_dir: Path, engine: Engine, *, replace: bool, commit: bool,
                        progress: Progress | None) -> LoadResult:
    t0 = time.perf_counter()
    source_dir = Path(source_dir)
    # a load of a million rows runs for minutes: the per-statement limit of queries (db.py) does not apply
    with engine.connect() as conn, no_statement_timeout(conn):
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
                    # the app's per-statement limit is for queries, not for a bulk load
                    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
                # the search index is filled once after the load, not row by row (nor emptied row by row)
                text_index = suspend_text_index(conn)
                if _has_data(conn):
                    if not replace:
                        raise DatabaseNotEmpty(
                            "the database already holds data; load with replace to overwrite it")
                    if progress:
                        progress(0.0, "removing the existing data")
                    _clear(conn)
                dropped = _drop_bulk_indexes(conn)
                load = _Load(source_dir, conn, progress)
                load.run()
                report = load.report
                if report.problems:
                    raise DatasetInvalid(report.problems, report.warnings)
                if progress:
                    progress(0.92, "building indexes")
                _create_indexes(conn, dropped)
                if text_index:
                    resume_text_index(conn)
                if progress:
                    progress(0.94, "counting returns, reassignments and re-reports")
                derive_event_counts(conn)
                derive_rereported(conn)
                apply_rules(conn)  # also moves allowed_hours with the due time
                if progress:
                    progress(0.95, "building the case summary")
                rebuild_node_paths(conn)
                rebuild_all_summaries(conn)
                _stamp(conn, source_dir)
                if commit:
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
        _analyze(engine)
    if progress:
        progress(1.0, "done")
    return LoadResult(counts=load.counts, warnings=report.warnings, seconds=time.perf_counter() - t0)


def _stamp(conn: Connection, source_dir: Path) -> None:
    meta = schema.data_meta
    now = datetime.now(SHANGHAI).replace(microsecond=0).isoformat()
    conn.execute(delete(meta).where(meta.c.key.in_(["loaded_at", "source"])))
    conn.execute(insert(meta), [{"key": "loaded_at", "value": now},
                                {"key": "source", "value": source_dir.resolve().name}])
    # A load replaces the data: one-click demo accounts only come back through the sample-data builder.
    from data_access.core.users import remove_demo_accounts

    remove_demo_accounts(conn)


def _analyze(engine: Engine) -> None:
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


# --- public API ---------------------------------------------------------------------------------

def load_dataset(source_dir: Path, engine: Engine, *, replace: bool = False,
                 progress: Progress | None = None) -> LoadResult:
    """Validate and load a dataset folder in one transaction.

    Raises :class:`DatabaseNotEmpty` when the database holds data and ``replace``
    is false (nothing written), :class:`DatasetInvalid` on any problem (rolled back).
    """
    return _run_in_transaction(source_dir, engine, replace=replace, commit=True, progress=progress)


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
