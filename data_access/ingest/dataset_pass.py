"""One pass over a dataset folder: every file of the contract read, converted, checked and written.

Files go in load order (data_access/core/contract.FILES: parents before children).  For each, the header
is checked (reading.py), a converter is compiled from it (converting.py), and each record is converted,
given to its table's rule (rules.py, case_rules.py) and, if the rule keeps it, to the table's writer
(writing.py).  Problems are collected in the :class:`~data_access.ingest.reading.Report`, never raised;
the caller (loader.py) refuses the dataset if there is any.  Without a connection nothing is written and
only the checks run.
"""
from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection

from data_access.core import schema
from data_access.core.contract import FILES, FileSpec
from data_access.core.schema import stamp_columns
from data_access.ingest.case_rules import DatasetRules
from data_access.ingest.converting import compile_converter
from data_access.ingest.reading import (
    Reader,
    Report,
    TooMany,
    header_positions,
    utf8_error_line,
)
from data_access.ingest.writing import Writer

PROGRESS_EVERY = 50_000

Progress = Callable[[float, str], None]


class DatasetPass:
    """State of one validation/load run over a dataset folder."""

    # a file of the contract not marked optional must be there (a batch: ingest/sync.py, any subset)
    all_files_required = True

    def __init__(self, source_dir: Path, conn: Connection | None, progress: Progress | None,
                 stamps: dict[str, str] | None = None, rules: DatasetRules | None = None,
                 report: Report | None = None):
        self.dir = Path(source_dir)
        self.conn = conn
        self.progress = progress
        # the sync columns' values of every row written ({"produced_at": …, "changed_at": …} as stored text)
        self.stamps = stamps or {}
        self.report = report or Report()
        self.rules = rules or DatasetRules(self.report)
        self.counts: dict[str, int] = {}
        self.db_failed = False
        total = 0
        self.sizes: dict[str, int] = {}
        for spec in FILES:
            p = self.dir / spec.name
            self.sizes[spec.name] = p.stat().st_size if p.is_file() else 0
            total += self.sizes[spec.name]
        self.total_bytes = max(total, 1)
        self.done_bytes = 0

    # progress over 0 .. 0.9 by bytes read; the rest is the SQL work after
    def tick(self, reader: Reader | None, msg: str) -> None:
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
            except TooMany:
                self.rules.mark_incomplete(spec.table)
            self.done_bytes += self.sizes[spec.name]
        if self.conn is not None and not self.db_failed and self.counts.get("case_events"):
            self.report.start("case_events.csv")
            if self.progress:
                self.progress(0.9, "checking event sequences")
            try:
                self.rules.check_event_sequences(self.conn, self.dir / "case_events.csv")
            except TooMany:
                pass

    # -- one file --------------------------------------------------------------------------------

    def load_file(self, spec: FileSpec) -> None:
        path = self.dir / spec.name
        report = self.report
        self.counts[spec.table] = 0
        if not path.is_file():
            if not spec.optional and self.all_files_required:
                report(None, None, "required file is missing")
                self.rules.mark_incomplete(spec.table)
            return
        self.tick(None, f"reading {spec.name}")
        reader = Reader(path)
        try:
            self._load_rows(spec, reader)
        except UnicodeDecodeError as exc:
            self.rules.mark_incomplete(spec.table)
            report(utf8_error_line(path) or None, None,
                   f"not valid UTF-8 ({exc.reason}); save the file as UTF-8")
        except csv.Error as exc:
            self.rules.mark_incomplete(spec.table)
            report(reader.reader.line_num or None, None, f"malformed CSV: {exc}")
        finally:
            reader.close()

    def _load_rows(self, spec: FileSpec, reader: Reader) -> None:
        report = self.report
        header = reader.header()
        if header is None:
            report(1, None, "empty file: the header row is missing")
            return
        pos = header_positions(spec, header, report)
        if pos is None:
            self.rules.mark_incomplete(spec.table)
            return
        ncols = len(header)
        convert = compile_converter(spec, pos, report)
        rule = self.rules.rule(spec.table)
        self.rules.start_file(spec)
        cols, extra = self.rules.columns(spec), ()
        if self.stamps:
            names = stamp_columns(schema.metadata.tables[spec.table])
            cols, extra = cols + list(names), tuple(self.stamps[n] for n in names)
        writer = self.writer(spec, cols, extra)
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
                out = rule(*convert(row, line), line)
                if out is not None:
                    write(out)
        finally:
            self.finish_writer(spec, writer)

    def writer(self, spec: FileSpec, cols: list[str], extra: tuple):
        """Where the rows ``spec``'s rule keeps go (``write``, ``close``, ``n``, ``failed``): the table."""
        return Writer(None if self.db_failed else self.conn, spec.table, cols, extra)

    def finish_writer(self, spec: FileSpec, writer: Writer) -> None:
        too_many = False
        try:
            # self-referencing tables (regions, grids): rows were kept until the whole file was read
            for row in self.rules.deferred_rows(spec.table):
                writer.write(row)
        except TooMany:
            too_many = True
        finally:
            writer.close()
        self.counts[spec.table] = writer.n
        if writer.failed is not None:
            self.db_failed = True
            self.report_db_failure(spec, writer.failed)
        if too_many:
            raise TooMany

    def report_db_failure(self, spec: FileSpec, exc: Exception) -> None:
        """The database refused rows (a duplicate key not caught before): find the lines."""
        report = self.report
        found = False
        if spec.key:
            seen: dict[tuple, int] = {}
            reader = Reader(self.dir / spec.name)
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
