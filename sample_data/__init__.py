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

__all__ = ["SAMPLE_WORKING_DAY_RULES", "build_demo_if_empty", "build_sample_database", "configure_sample_time_limits",
           "finish_sample_database", "generate", "load_sample_folder", "sample_unfinished"]

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


DEMO_BUILD_KEY = "demo_build"  # data_meta: "pending" from before the load until the sample is complete


def _set_build_marker(engine, pending: bool) -> None:
    from sqlalchemy import delete, insert

    from data_access.core.schema import data_meta

    with engine.begin() as conn:
        conn.execute(delete(data_meta).where(data_meta.c.key == DEMO_BUILD_KEY))
        if pending:
            conn.execute(insert(data_meta).values(key=DEMO_BUILD_KEY, value="pending"))


def sample_unfinished(engine) -> bool:
    """True when a sample build loaded its data but stopped before its last step (the demo accounts, the time
    limits, the repeat-case proposals): a browser tab closed during the app's first start, a killed
    ``python -m sample_data``.  :func:`build_demo_if_empty` then finishes it."""
    from sqlalchemy import select

    from data_access.core.schema import data_meta

    with engine.connect() as conn:
        return conn.execute(select(data_meta.c.value).where(data_meta.c.key == DEMO_BUILD_KEY)).scalar() == "pending"


def finish_sample_database(engine, progress: Callable[[float, str], None] | None = None,
                           say: Callable[[str], None] | None = None) -> None:
    """The steps after a sample's load, each safe to run again: the sample time limits in working days, the demo
    accounts (offered on the sign-in page while this sample is loaded) and the repeat-case proposals (as after
    a real load followed by ``python -m data_access duplicates``, docs/OPERATIONS.md).  Clears the
    unfinished-build mark last, so an interruption anywhere before leaves it for the next start to finish."""
    import time

    from data_access.core.duplicates import detect_duplicates, store_proposals
    from data_access.core.users import install_demo_accounts

    def step(fraction: float, message: str) -> None:
        if progress:
            progress(fraction, message)

    t0 = time.perf_counter()
    step(0.99, "time limits in working days")
    changed = configure_sample_time_limits(engine)
    if say:
        say("time limits in working days: " + ", ".join(f"{c} {d}" for c, d in SAMPLE_WORKING_DAY_RULES.items())
            + f" ({changed:,} due times set, {time.perf_counter() - t0:.1f}s)")
    demo = install_demo_accounts(engine)
    if say:
        say("demo accounts (one click on the sign-in page): " + ", ".join(a.username for a in demo))
    step(0.995, "repeat cases")
    stored = store_proposals(engine, detect_duplicates(engine))
    if say:
        say(f"repeat-case proposals: {stored.get('proposed', 0):,}")
    _set_build_marker(engine, pending=False)
    step(1.0, "done")


def load_sample_folder(folder: Path, engine, progress: Callable[[float, str], None] | None = None,
                       say: Callable[[str], None] | None = None):
    """Load a generated sample folder with ``replace=True``, then :func:`finish_sample_database`; the one way a
    sample enters a database (the app's first start and ``python -m sample_data``).  ``progress`` runs over
    0..0.99 for the load.  Returns the loader's result."""
    from data_access.ingest.loader import load_dataset  # imported late: heavy

    # marked before the load commits: a build stopped anywhere after it is finished on the next start
    _set_build_marker(engine, pending=True)
    result = load_dataset(folder, engine, replace=True, progress=progress)
    finish_sample_database(engine, progress=progress, say=say)
    return result


def build_sample_database(engine, scale: str = "demo", seed: int = 20231008, as_of: dt.date | None = None,
                          progress: Callable[[float, str], None] | None = None) -> dict[str, int]:
    """Generate a dataset into a temporary folder and :func:`load_sample_folder` it.

    ``progress(fraction, message)``: generation is reported over 0..0.4, loading over 0.4..1.0.
    Returns the row counts per file. Raises ``data_access.ingest.loader.DatasetInvalid`` if the loader refuses it.
    """
    def gen_cb(f: float, msg: str) -> None:
        if progress:
            progress(0.4 * max(0.0, min(1.0, f)), msg)

    def load_cb(f: float, msg: str = "") -> None:
        if progress:
            progress(0.4 + 0.6 * max(0.0, min(0.99, f)), msg)

    with tempfile.TemporaryDirectory(prefix="sample_data_") as tmp:
        counts = generate(Path(tmp), scale=scale, seed=seed, as_of=as_of, progress=gen_cb)
        load_sample_folder(Path(tmp), engine, progress=load_cb)
    return counts


def build_demo_if_empty(engine, scale: str = "demo",
                        progress: Callable[[float, str], None] | None = None) -> dict[str, int] | None:
    """The app's first start: build the demo data into an empty database, once across processes, or finish a
    sample build that was stopped after its load (:func:`sample_unfinished`).

    Two processes first-starting at once (two app servers, two sessions of separate servers) must not both build:
    the second waits for the first's lock (data_access/core/locks.py: an advisory lock on PostgreSQL, a lock
    file next to the SQLite file), then finds the data built and returns None.  Otherwise the row counts per
    file, as :func:`build_sample_database`."""
    from data_access.core.db import is_empty
    from data_access.core.locks import setup_lock

    if not is_empty(engine) and not sample_unfinished(engine):
        return None
    with setup_lock(engine):
        if is_empty(engine):
            return build_sample_database(engine, scale=scale, progress=progress)
        if sample_unfinished(engine):   # loaded, then stopped before its last steps: finish them
            finish_sample_database(engine, progress=progress)
            from data_access.core.meta import case_count

            return {"cases.csv": case_count(engine)}
        return None   # built by another process while this one waited

