"""Facts about the data itself: when it last changed, whether there is any."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select

from data_access.core.clock import TZ
from data_access.core.schema import cases, data_meta

_VERSION_KEYS = ("updated_at", "loaded_at")


def data_updated_at(engine: Engine) -> str | None:
    """ISO time of the last load or write (None for an empty database).

    It doubles as the data version: caches of slow-changing things (the region tree) key on it."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.max(data_meta.c.value)).where(data_meta.c.key.in_(_VERSION_KEYS))
        ).scalar_one_or_none()


def touch(conn: Connection) -> str:
    """Record, in the caller's transaction, that the data changed now."""
    now = datetime.now(TZ).isoformat(timespec="microseconds")
    conn.execute(delete(data_meta).where(data_meta.c.key == "updated_at"))
    conn.execute(insert(data_meta).values(key="updated_at", value=now))
    return now


def case_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cases)).scalar_one()
