"""First start: build the demo dataset into an empty database, once per process, with a progress bar."""
from __future__ import annotations

import os
import threading

import streamlit as st

from . import data
from .state import t

_build_lock = threading.Lock()  # module level: shared by every session of this server process


def demo_allowed() -> bool:
    """Whether an empty database may get the demo data: only the embedded default file, never a database that
    ``GOV_DB_URL`` names (an empty one there is a mistake to report — a file that vanished and was made again
    empty, a wrong URL — not a place for passwordless demo accounts), and never with ``GOV_AUTO_DEMO=0``."""
    return os.environ.get("GOV_AUTO_DEMO", "1") != "0" and not os.environ.get("GOV_DB_URL", "").strip()


def ensure_data() -> None:
    """On an empty database: build the demo data and rerun where :func:`demo_allowed`, else say that the database
    is empty and how to fill it (the page goes on: the sign-in page says how to make the first account).  A sample
    build stopped after its load (a tab closed during the first start) is finished the same way: without that,
    the data would stay without its demo accounts and no one could sign in."""
    from data_access.core.db import is_empty
    from sample_data import sample_unfinished

    engine = data.engine()
    empty = is_empty(engine)
    if not empty and not sample_unfinished(engine):
        return
    if not demo_allowed():
        st.warning(t("setup.empty" if empty else "setup.unfinished"), icon=":material/database:")
        return
    st.title(t("setup.title"))
    st.write(t("setup.body" if empty else "setup.finishing"))
    bar = st.progress(0.0)
    # a second session of this server waits on the thread lock, a second server process on the lock between
    # processes (sample_data.build_demo_if_empty); each then finds the data built
    with _build_lock:
        from sample_data import build_demo_if_empty

        try:
            def show(x: float, _msg: str) -> None:
                x = min(max(float(x), 0.0), 1.0)
                bar.progress(x, t("setup.progress", pct=f"{x:.0%}"))

            counts = build_demo_if_empty(engine, progress=show)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
            st.error(t("setup.failed", detail=str(exc)[:300]))
            st.stop()
        if counts is not None:
            st.success(t("setup.done", cases=f"{counts.get('cases.csv', 0):,}"))
    st.cache_data.clear()
    st.rerun()


class friendly_errors:
    """Context manager: a database failure inside becomes a short message on the page, not a traceback.

    The same messages as around the whole page (ui/resilience.py): database unavailable → "retrying…" with
    automatic retries, query timeout → narrow the selection, anything else → ``frame.error``.  Other
    exceptions, Streamlit's rerun/stop included, pass through."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        from .resilience import show_error

        return exc is not None and show_error(exc)
