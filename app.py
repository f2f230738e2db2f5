"""Router and shared frame: page config, first-start demo data, language, region, period, data as of.

Run with ``streamlit run app.py``.  Pages live in pages/ and only lay out what data_access returns.
"""
from __future__ import annotations

import streamlit as st

from ui import data, frame, guard
from ui.setup import ensure_data, friendly_errors
from ui.state import t
from ui.user import identity_caption

st.set_page_config(page_title="网格化服务管理督导驾驶舱", page_icon=":material/grid_view:", layout="wide")
guard.frame_starting()
deep_link = guard.pending_deep_link()  # a link that first reached a page without the frame (ui/guard.py)
if deep_link:
    st.query_params.from_dict(deep_link[1])  # before anything reads its parameters from the URL

with st.sidebar:
    frame.language_switch()

pages = {
    t("nav.section.main"): [
        st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", default=True,
                url_path="overview"),
        st.Page("pages/cases.py", title=t("nav.cases"), icon=":material/assignment:", url_path="cases"),
    ],
}
nav = st.navigation(pages)  # before anything else draws, so Streamlit never falls back to listing pages/
if deep_link:
    target = next((p for ps in pages.values() for p in ps if p.url_path == deep_link[0]), None)
    if target is not None and target.url_path != nav.url_path:
        st.switch_page(target, query_params=deep_link[1])
ensure_data()

region, d_from, d_to = None, None, None
with st.sidebar, friendly_errors():
    tree = data.tree()
    region = frame.region_picker(tree)
    d_from, d_to = frame.period_picker()
    frame.data_as_of()
    identity_caption()

frame.keep_in_url(region, d_from, d_to)
st.session_state["frame_filter"] = frame.build_filter(region, d_from, d_to)
guard.frame_ready()
nav.run()
