"""Reading a dataset's CSV files: the stream of records, the header check and the report of problems.

Files are UTF-8 (a BOM is allowed) and parsed by the csv module; a record may span lines (a quoted field
with a newline), so every problem names the physical line where its record starts (the header is line 1).
An encoding or CSV error stops the file; :func:`utf8_error_line` then finds the line to name.  Problems are
collected in a :class:`Report` as ``file:line column: reason``; after ``MAX_PROBLEMS_PER_FILE`` of one file
it raises :class:`TooMany` and the file is not checked further.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from data_access.core.contract import FileSpec

MAX_PROBLEMS_PER_FILE = 200

csv.field_size_limit(64 * 1024 * 1024)


# --- problem collection -------------------------------------------------------------------------

class TooMany(Exception):
    """Stop validating the current file."""


class Report:
    """The problems (refusing the dataset) and warnings (not refusing it) found so far, file by file."""

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
            raise TooMany


# --- reading ------------------------------------------------------------------------------------

def utf8_error_line(path: Path) -> int:
    """The first line of ``path`` that is not valid UTF-8 (0: none)."""
    with open(path, "rb") as f:
        for i, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return 0


class Reader:
    """Streams (start line, row) of one CSV file; knows its byte position for progress.

    The loader's hot loop reads ``reader.reader`` (the csv reader) itself; :meth:`rows` is for the
    second reads that look for the lines of a problem found later."""

    def __init__(self, path: Path):
        self.path = path
        self.size = max(path.stat().st_size, 1)
        self.f = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by close()
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


def header_positions(spec: FileSpec, header: list[str], report: Report) -> dict[str, int] | None:
    """Column name → position in the file, or None when the header makes the file unreadable (reported).

    Unknown columns are ignored with a warning; a column of the contract that may be left out is simply
    absent from the result (its values are the column's default)."""
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
        return None
    return pos
