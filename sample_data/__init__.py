"""Deterministic sample data for the grid-governance dashboard.

``generate`` writes a dataset folder in the interchange format;
``build_sample_database`` generates one into a temporary folder and loads it
through the validated loader (what the app does on first start), then sets the
sample time-limit rules (``SAMPLE_WORKING_DAY_RULES``).
"""
from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

from .generator import generate

__all__ = ["SAMPLE_WORKING_DAY_RULES", "build_demo_if_empty", "build_sample_database", "configure_sample_time_limits", "generate"]

# Categories that in practice count working days, not hours: 劳资纠纷 10 working days, 征地拆迁 30, and
# 其他 (mostly 信访-like requests) 15, as the 信访工作条例 counts its limits.
SAMPLE_WORKING_DAY_RULES = {"labour": 10, "demolition": 30, "other": 15}


def configure_sample_time_limits(engine) -> int:
    """Set ``SAMPLE_WORKING_DAY_RULES`` for the categories the database has (time_limits.set_rule recomputes
    their due times and the roll-ups); returns the cases whose due time changed."""
    from sqlalchemy import select

    from data_access.core import time_limits
    from data_access.core.schema import categories

    with engine.connect() as conn:
        present = set(conn.execute(select(categories.c.code)).scalars())
    return sum(time_limits.set_rule(engine, code, working_days=days, actor="sample_data")
               for code, days in SAMPLE_WORKING_DAY_RULES.items() if code in present)


def build_sample_database(engine, scale: str = "demo", seed: int = 20231008, as_of: dt.date | None = None,
                          progress: Callable[[float, str], None] | None = None) -> dict[str, int]:
    """Generate a dataset into a temporary folder and load it with ``replace=True``.

    ``progress(fraction, message)``: generation is reported over 0..0.4, loading over 0.4..1.0.
    Returns the row counts per file. Raises ``data_access.ingest.loader.DatasetInvalid`` if the loader refuses it.
    """
    from data_access.ingest.loader import (
        load_dataset,  # imported late: written in parallel, heavy
    )

    def gen_cb(f: float, msg: str) -> None:
        if progress:
            progress(0.4 * max(0.0, min(1.0, f)), msg)

    def load_cb(f: float, msg: str = "") -> None:
        if progress:
            progress(0.4 + 0.6 * max(0.0, min(1.0, f)), msg)

    with tempfile.TemporaryDirectory(prefix="sample_data_") as tmp:
        counts = generate(Path(tmp), scale=scale, seed=seed, as_of=as_of, progress=gen_cb)
        load_dataset(Path(tmp), engine, replace=True, progress=load_cb)
    if progress:
        progress(0.99, "time limits in working days")
    configure_sample_time_limits(engine)
    from data_access.core.users import install_demo_accounts

    install_demo_accounts(engine)  # the sign-in page offers them while this sample data is loaded
    if progress:
        progress(0.995, "repeat cases")
    from data_access.core.duplicates import detect_duplicates, store_proposals

    # the supervision centre's repeat-case view shows the sample's proposals from the start, as after a real
    # load followed by `python -m data_access duplicates` (docs/OPERATIONS.md)
    store_proposals(engine, detect_duplicates(engine))
    if progress:
        progress(1.0, "done")
    return counts


def build_demo_if_empty(engine, scale: str = "demo",
                        progress: Callable[[float, str], None] | None = None) -> dict[str, int] | None:
    """The app's first start: build the demo data into an empty database, once across processes.

    Two processes first-starting at once (two app servers, two sessions of separate servers) must not both build:
    the second waits for the first's lock (data_access/core/locks.py: an advisory lock on PostgreSQL, a lock
    file next to the SQLite file), then finds the data built and returns None.  Otherwise the row counts per
    file, as :func:`build_sample_database`."""
    from data_access.core.db import is_empty
    from data_access.core.locks import setup_lock

    if not is_empty(engine):
        return None
    with setup_lock(engine):
        if not is_empty(engine):   # built by another process while this one waited
            return None
        return build_sample_database(engine, scale=scale, progress=progress)

