"""The log of batches and loads (``sync_batches``): what came in from the source, when, and what was refused.

Written by the loader (a full load, status 'loaded') and by the sync (data_access/ingest/sync.py: 'applied' or
'rejected'); read by ``python -m data_access status`` (:func:`last_batch`) and, through :func:`sync_state`, by the app's frame
("data as of", the staleness warning, a refused batch for admins and leaders).  ``GOV_SYNC_STALE_MINUTES`` (default 60) is how long the data may
go without a batch before it counts as stale.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, desc, insert, select

from data_access.core import settings
from data_access.core.clock import wall_now
from data_access.core.schema import sync_batches

DEFAULT_STALE_MINUTES = 60.0


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    kind: str            # 'batch' or 'load'
    produced_at: datetime
    applied_at: datetime
    rows: int
    status: str          # 'applied', 'loaded', 'rejected'
    source: str | None
    report: str | None

    def minutes_ago(self, now: datetime | None = None) -> float:
        """Minutes from when it was applied to ``now`` (the wall clock)."""
        return max(0.0, ((now or wall_now()) - self.applied_at).total_seconds() / 60.0)


def stale_minutes() -> float:
    """``GOV_SYNC_STALE_MINUTES``: minutes without a batch after which the data counts as stale."""
    return float(settings.number("GOV_SYNC_STALE_MINUTES", DEFAULT_STALE_MINUTES, minimum=0.1, whole=False,
                                 unit="minutes"))


def record(conn: Connection, *, batch_id: str, kind: str, produced_at: datetime, status: str, rows: int = 0,
           source: str | None = None, report: str | None = None, applied_at: datetime | None = None) -> None:
    """Log a batch or a load in the caller's transaction (a batch refused before replaces its entry)."""
    conn.execute(delete(sync_batches).where(sync_batches.c.batch_id == batch_id))
    conn.execute(insert(sync_batches).values(
        batch_id=batch_id, kind=kind, produced_at=produced_at, applied_at=applied_at or wall_now(), rows=rows,
        status=status, source=source, report=report))


def find(conn: Connection, batch_id: str) -> BatchRecord | None:
    row = conn.execute(select(sync_batches).where(sync_batches.c.batch_id == batch_id)).mappings().first()
    return BatchRecord(**row) if row is not None else None


def _last(conn: Connection, statuses: tuple[str, ...], limit: int) -> list[BatchRecord]:
    b = sync_batches.c
    rows = conn.execute(select(sync_batches).where(b.status.in_(statuses))
                        .order_by(desc(b.applied_at), desc(b.produced_at)).limit(limit)).mappings().all()
    return [BatchRecord(**r) for r in rows]


def last_batch(engine: Engine) -> BatchRecord | None:
    """The last batch applied or full load made (None: nothing logged yet)."""
    with engine.connect() as conn:
        found = _last(conn, ("applied", "loaded"), 1)
    return found[0] if found else None


def rejected_batches(engine: Engine, limit: int = 20) -> list[BatchRecord]:
    """The refused batches not applied since (a batch applied after its refusal replaces its entry), newest
    first, each with its report."""
    with engine.connect() as conn:
        return _last(conn, ("rejected",), limit)


def is_stale(last: BatchRecord | None, now: datetime | None = None) -> bool:
    """No batch or load for longer than :func:`stale_minutes` (or never)."""
    return last is None or last.minutes_ago(now) > stale_minutes()


@dataclass(frozen=True)
class SyncState:
    """What the app's frame shows of the batch log (read once per refresh interval).  ``refused`` is the newest
    batch refused (and not applied since) at or after ``last``'s time: the log keeps seconds, and a refusal in
    the same second is shown rather than hidden."""

    last: BatchRecord | None       # the last batch applied or full load made
    follows_source: bool           # a sync batch was ever applied: the database follows a live source
    refused: BatchRecord | None

    def stale(self, now: datetime | None = None) -> bool:
        """Stale as ``python -m data_access status`` says (:func:`is_stale`, the same clock), but only for a
        database that follows a source: one that only ever had full loads (a demo, a historical dataset) is
        frozen by design and never "stale"."""
        return self.follows_source and is_stale(self.last, now)


def sync_state(engine: Engine) -> SyncState:
    b = sync_batches.c
    with engine.connect() as conn:
        last = _last(conn, ("applied", "loaded"), 1)
        refused = _last(conn, ("rejected",), 1)
        follows = conn.execute(select(b.batch_id).where(b.status == "applied", b.kind == "batch")
                               .limit(1)).first() is not None
    last_rec = last[0] if last else None
    newer = refused[0] if refused and (last_rec is None or refused[0].applied_at >= last_rec.applied_at) else None
    return SyncState(last_rec, follows, newer)
