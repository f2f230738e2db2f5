"""Router and shared frame: page config, first-start demo data, language, region, period, data as of.

Run with ``streamlit run app.py``.  Pages live in pages/ and only lay out what data_access returns.
"""
from __future__ import annotations

import streamlit as st

from ui import data, frame
from ui.setup import ensure_data, friendly_errors
from ui.state import t

st.set_page_config(page_title="网格化服务管理督导驾驶舱", page_icon=":material/grid_view:", layout="wide")

with st.sidebar:
    frame.language_switch()

pages = {
    t("nav.section.main"): [
        st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", default=True,
                url_path="overview"),
    ],
}
nav = st.navigation(pages)  # before anything else draws, so Streamlit never falls back to listing pages/
ensure_data()

region, d_from, d_to = None, None, None
with st.sidebar, friendly_errors():
    tree = data.tree()
    region = frame.region_picker(tree)
    d_from, d_to = frame.period_picker()
    frame.data_as_of()

st.session_state["frame_filter"] = frame.build_filter(region, d_from, d_to)
nav.run()
