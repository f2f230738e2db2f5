"""Every page runs inside the frame (app.py), never on its own.

Streamlit decides once per server process whether the app uses a ``pages/`` folder: until the first session
has run app.py's ``st.navigation``, a deep link such as ``/cases?q=…`` runs ``pages/cases.py`` by itself,
without the frame (no region, period, language — and later no sign-in).  A page therefore checks that the
frame ran in this script run; if not, it hands the link to app.py, which opens the same page with the same
parameters inside the frame.
"""
from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

_RAN = "_frame_ran"
_DEEP_LINK = "_deep_link"


def frame_starting() -> None:
    st.session_state[_RAN] = False


def frame_ready() -> None:
    st.session_state[_RAN] = True


def require_frame(url_path: str) -> None:
    """Call first on every page."""
    if st.session_state.get(_RAN):
        return
    st.session_state[_DEEP_LINK] = (url_path, st.query_params.to_dict())
    try:
        st.switch_page("app.py")
    except StreamlitAPIException:  # the page was started as a script of its own (not through app.py)
        st.info("Run the dashboard with `streamlit run app.py`. / 请用 `streamlit run app.py` 启动。")
        st.stop()


def pending_deep_link() -> tuple[str, dict] | None:
    return st.session_state.pop(_DEEP_LINK, None)
