"""Watching an inbox of batch folders: ``python -m data_access sync --watch INBOX [--once] [--interval S]``, and the
lock that keeps two syncs from running at once (docs/OPERATIONS.md, "Incremental sync").

Each **complete** batch folder in INBOX (its ``batch.json`` present: the producer writes it last; one that cannot
be read is waited for :data:`SETTLE_SECONDS`, as it may still be being written) is applied with
:func:`~data_access.ingest.sync.sync_batch`, oldest ``produced_at`` first.  An applied batch (or one applied
before: the log of batches is in the database, so a restart is safe) moves to ``INBOX/done/``; a refused one to
``INBOX/rejected/`` with ``<batch>.report.txt`` beside it (every problem ``file:line column: reason``), and the
watch stops there (:class:`WatchStopped`): later batches may depend on it, so they stay in the inbox.

:func:`sync_lock` is held by the watcher for its life, by a plain ``sync DIR`` and by ``load DIR`` while they run
(data_access/core/locks.py: an advisory lock on PostgreSQL, ``fcntl.flock`` on ``<database>.sync.lock`` on
SQLite).  A second one raises :class:`LockHeld` naming the holder and what it is doing.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from data_access.core.locks import LockHeld, process_lock
from data_access.ingest.batch import BATCH_JSON, read_batch_json
from data_access.ingest.reading import Report
from data_access.ingest.sync import BatchRefused, SyncResult, follow_up, sync_batch

# a key of its own: sync_batch takes SYNC_LOCK_KEY per transaction, which a watcher's session lock would block
WATCH_LOCK_KEY = 0x5359_4E57   # "SYNW"
DONE, REJECTED = "done", "rejected"
REPORT_SUFFIX = ".report.txt"
SETTLE_SECONDS = 60.0   # an unreadable batch.json younger than this may still be being written: wait for it


class InboxError(Exception):
    """The inbox is not a folder that can be watched."""


class WatchStopped(Exception):
    """A batch was refused: moved to rejected/ with its report; later batches were left in the inbox."""

    def __init__(self, batch: str, problems: list[str], moved_to: Path, report: Path, left: list[str]):
        self.batch, self.problems, self.moved_to, self.report, self.left = batch, problems, moved_to, report, left
        super().__init__(f"batch {batch} refused ({len(problems)} problem(s)): moved to {moved_to}, report {report}")


# --- the lock ---------------------------------------------------------------------------------------------------

@contextmanager
def sync_lock(engine: Engine, what: str = "sync") -> Iterator[None]:
    """Hold the one-load-or-sync-at-a-time lock for the block (``what``: ``sync`` or ``load``, said to a second
    one); :class:`LockHeld` if another holds it."""
    with process_lock(engine, "sync", WATCH_LOCK_KEY, purpose=what, wait=False):
        yield


# --- the inbox --------------------------------------------------------------------------------------------------

def _produced_at(folder: Path) -> datetime | None:
    """The batch's produced_at (naive Asia/Shanghai, whatever offset it was written with); None when batch.json
    cannot be read."""
    info = read_batch_json(folder, Report())
    return info.produced_at if info is not None else None


def pending(inbox: Path, settle: float = SETTLE_SECONDS) -> list[Path]:
    """The complete batch folders in ``inbox`` (batch.json present), oldest produced_at first.

    A batch.json that cannot be read comes first: the sync refuses it with its reason and the watch stops.  But
    while it is younger than ``settle`` seconds it may still be being written: then nothing is returned this
    round (its batch may be older than the others)."""
    found = []
    for p in inbox.iterdir():
        if not p.is_dir() or p.name in (DONE, REJECTED) or p.name.startswith(".") or not (p / BATCH_JSON).is_file():
            continue
        produced = _produced_at(p)
        if produced is None and time.time() - (p / BATCH_JSON).stat().st_mtime < settle:
            return []
        found.append(((produced is not None, produced or datetime.min, p.name), p))
    return [p for _key, p in sorted(found)]


def _move(folder: Path, target_dir: Path) -> Path:
    target = target_dir / folder.name
    n = 1
    while target.exists():   # the same folder name sent again: keep both
        n += 1
        target = target_dir / f"{folder.name}.{n}"
    shutil.move(str(folder), str(target))
    return target


@dataclass
class Processed:
    applied: list[tuple[str, SyncResult]] = field(default_factory=list)


def prepare_inbox(inbox: Path) -> None:
    if not inbox.is_dir():
        raise InboxError(f"{inbox}: not a folder (the inbox must exist)")
    try:
        for name in (DONE, REJECTED):
            (inbox / name).mkdir(exist_ok=True)
    except OSError as exc:
        raise InboxError(f"{inbox}: cannot create {DONE}/ and {REJECTED}/ in it: {exc.strerror}") from None


def process_inbox(inbox: Path, engine: Engine,
                  on_result: Callable[[str, SyncResult], None] | None = None) -> Processed:
    """Apply every complete batch in ``inbox`` once, in order; :class:`WatchStopped` at the first refused one."""
    prepare_inbox(inbox)
    done = Processed()
    queue = pending(inbox)
    stamps: list = []   # of the batches applied: what follows their commits runs once for all (sync.follow_up)
    try:
        for i, folder in enumerate(queue):
            try:
                result = sync_batch(folder, engine, follow=False)
            except BatchRefused as exc:
                moved = _move(folder, inbox / REJECTED)
                report = moved.parent / (moved.name + REPORT_SUFFIX)
                lines = [*exc.problems, *(f"warning: {w}" for w in exc.warnings)]
                report.write_text("\n".join(lines) + "\n", encoding="utf-8")
                raise WatchStopped(folder.name, exc.problems, moved, report,
                                   [p.name for p in queue[i + 1:]]) from None
            if result.changed_at is not None:
                stamps.append(result.changed_at)
            _move(folder, inbox / DONE)
            done.applied.append((folder.name, result))
            if on_result is not None:
                on_result(folder.name, result)
    finally:
        follow_up(engine, stamps)   # also when a batch was refused or the watcher is stopped: those before it are in
    return done


def watch(inbox: Path, engine: Engine, *, once: bool, interval: float,
          on_result: Callable[[str, SyncResult], None] | None = None) -> None:
    """:func:`process_inbox` once, or every ``interval`` seconds until interrupted (KeyboardInterrupt)."""
    while True:
        process_inbox(inbox, engine, on_result)
        if once:
            return
        time.sleep(interval)


__all__ = ["WATCH_LOCK_KEY", "InboxError", "LockHeld", "WatchStopped", "pending", "prepare_inbox", "process_inbox",
           "sync_lock", "watch"]
