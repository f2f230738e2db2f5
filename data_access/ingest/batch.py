"""A folder's ``batch.json`` and the signs of a folder still being copied (docs/DATA_CONTRACT.md, "A batch folder").

``batch.json`` is ``{"batch_id": "…", "produced_at": "<timestamp>"}``, optionally with ``"files": {name: records}``
and ``"since"`` (a batch that ``export --since`` of another dashboard wrote);
the producer writes it last.  :func:`read_batch_json` reads and checks it (problems go to the
:class:`~data_access.ingest.reading.Report` as ``batch.json: …``); :func:`check_complete` looks for a half-copied
folder.  A sync needs both (ingest/sync.py); a full load reads ``batch.json`` when the folder has one, for the
row time of its rows (ingest/loader.py).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from data_access.core.contract import BATCH_JSON, DELETIONS_CSV, FILES
from data_access.ingest.converting import parse_ts
from data_access.ingest.reading import Reader, Report

MAX_BATCH_ID = 128
# names of files still being written by a copy or a download
_TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp")


@dataclass(frozen=True)
class BatchInfo:
    batch_id: str
    produced_at: datetime          # naive Asia/Shanghai
    files: dict[str, int] = field(default_factory=dict)   # file -> records, when batch.json lists them
    # written by `export --since` of another dashboard: the batch holds the rows changed since this time
    since: datetime | None = None


def read_batch_json(folder: Path, report: Report) -> BatchInfo | None:
    """The folder's batch.json, or None with the problem reported (a missing file too: a load, for which it is
    optional, looks first)."""
    path = Path(folder) / BATCH_JSON
    report.start(BATCH_JSON)
    if not path.is_file():
        report(None, None, "missing: not a complete batch (the producer writes batch.json last, "
                           "once every other file is complete)")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        report(None, None, "not valid UTF-8")
        return None
    except json.JSONDecodeError as exc:
        report(exc.lineno, None, f"not complete JSON ({exc.msg}): the file is still being written or broken")
        return None
    if not isinstance(data, dict):
        report(1, None, 'expected an object {"batch_id": …, "produced_at": …}')
        return None
    ok = True
    batch_id = data.get("batch_id")
    if not isinstance(batch_id, str) or not batch_id.strip():
        report(None, "batch_id", "required (a non-empty string)")
        ok = False
    elif len(batch_id) > MAX_BATCH_ID:
        report(None, "batch_id", f"longer than {MAX_BATCH_ID} characters")
        ok = False
    produced = data.get("produced_at")
    produced_at = None
    if not isinstance(produced, str) or not produced:
        report(None, "produced_at", "required (a timestamp YYYY-MM-DDTHH:MM:SS[+08:00])")
        ok = False
    else:
        try:
            produced_at = datetime.fromisoformat(parse_ts(produced))
        except ValueError as exc:
            report(None, "produced_at", str(exc))
            ok = False
    since = data.get("since")
    since_at = None
    if since is not None:
        try:
            if not isinstance(since, str):
                raise ValueError("a timestamp YYYY-MM-DDTHH:MM:SS[+08:00]")
            since_at = datetime.fromisoformat(parse_ts(since))
        except ValueError as exc:
            report(None, "since", str(exc))
            ok = False
    files = data.get("files", {})
    known = {s.name for s in FILES} | {DELETIONS_CSV}
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                              and v >= 0 for k, v in files.items()):
        report(None, "files", 'expected {"file.csv": number of records, …}')
        ok = False
    else:
        for name in files:
            if name not in known:
                report(None, "files", f"'{name}' is not a file of the format")
                ok = False
    if not ok:
        return None
    return BatchInfo(batch_id.strip(), produced_at, dict(files), since_at)


def check_complete(folder: Path, info: BatchInfo | None, report: Report) -> None:
    """Report the signs of a half-copied folder: a temporary file, a CSV whose last record has no line break,
    a file batch.json lists missing or with another number of records."""
    folder = Path(folder)
    for p in sorted(folder.iterdir()):
        name = p.name
        if name.startswith((".", "~")) or name.endswith("~") or name.lower().endswith(_TEMPORARY_SUFFIXES):
            report.start(name)
            report(None, None, "a temporary file: the folder is still being copied")
    for p in sorted(folder.glob("*.csv")):
        if p.stat().st_size == 0:
            continue
        with open(p, "rb") as f:
            f.seek(-1, 2)
            last = f.read(1)
        if last not in (b"\n", b"\r"):
            report.start(p.name)
            report(None, None, "the last record does not end with a line break: the file is cut short "
                               "(still being copied?)")
    if info is None:
        return
    for name, expected in info.files.items():
        report.start(name)
        path = folder / name
        if not path.is_file():
            report(None, None, f"listed in batch.json ({expected} records) but missing: the folder is "
                               "still being copied")
            continue
        n = _records(path)
        if n != expected:
            report(None, None, f"{n} records, batch.json says {expected}: the folder is half-copied")


def _records(path: Path) -> int:
    reader = Reader(path)
    try:
        if reader.header() is None:
            return 0
        return sum(1 for _ in reader.rows())
    except (csv.Error, UnicodeDecodeError):
        return -1
    finally:
        reader.close()
