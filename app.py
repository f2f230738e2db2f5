"""Router and shared frame: page config, first-start demo data, language, region, period, data as of.

Run with ``streamlit run app.py``.  Pages live in pages/ and only lay out what data_access returns.
"""
from __future__ import annotations

import os
import threading

import streamlit as st

from ui import data, frame
from ui.state import t

st.set_page_config(page_title="网格化服务管理督导驾驶舱", page_icon=":material/grid_view:", layout="wide")

_build_lock = threading.Lock()


def ensure_data() -> None:
    """On an empty database, build the demo dataset once, with a visible progress bar."""
    from data_access.db import is_empty

    engine = data.engine()
    if not is_empty(engine) or os.environ.get("GOV_AUTO_DEMO", "1") == "0":
        return
    with _build_lock:
        if not is_empty(engine):
            return
        from sample_data import build_sample_database

        st.title(t("setup.title"))
        st.write(t("setup.body"))
        bar = st.progress(0.0)
        try:
            counts = build_sample_database(engine, progress=lambda x, msg: bar.progress(min(max(x, 0.0), 1.0), msg))
        except Exception as exc:  # noqa: BLE001 - shown to the user, not a traceback
            st.error(t("setup.failed", detail=str(exc)[:300]))
            st.stop()
        st.cache_data.clear()
        st.success(t("setup.done", cases=counts.get("cases.csv", counts.get("cases", 0))))
        st.rerun()


with st.sidebar:
    frame.language_switch()

ensure_data()

pages = {
    t("nav.section.main"): [
        st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", default=True,
                url_path="overview"),
    ],
}
nav = st.navigation(pages)

with st.sidebar:
    tree = data.tree()
    region = frame.region_picker(tree)
    d_from, d_to = frame.period_picker()
    frame.data_as_of()

st.session_state["frame_filter"] = frame.build_filter(region, d_from, d_to)
nav.run()
