"""Facts about the data itself: when it last changed, whether there is any."""
from __future__ import annotations

from sqlalchemy import Engine, func, select

from .schema import cases, data_meta


def data_updated_at(engine: Engine) -> str | None:
    """ISO time of the last load or write (None for an empty database)."""
    with engine.connect() as conn:
        return conn.execute(select(data_meta.c.value).where(data_meta.c.key == "updated_at")).scalar_one_or_none()


def case_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cases)).scalar_one()
