"""使用帮助 — the guided tour for first-time users: what each page answers and for whom (with a link to each
page and to each view of the supervision centre), the sidebar's region and period, filters kept in the URL,
how to issue a supervision order, and the definitions glossary (the ``help.*`` texts of the ⓘ, ui/glossary.py).

No data is read here; like every page it runs only inside the frame, after sign-in."""
from __future__ import annotations

import streamlit as st

from data_access.core.access import may_read_audit
from ui import auth, frame, glossary
from ui.auth import current_user
from ui.guard import require_frame
from ui.state import lang, t
from ui.views import NAV_PAGES, NavPage, view_icons

PAGES = tuple(p for p in NAV_PAGES if p.url_path != "help")  # the navigation's, in its order (ui/views.py)


def page_card(page: NavPage, user) -> None:
    path, title_key, icon, text_key = page.file, page.title_key, page.icon, f"guide.page.{page.url_path}"
    with st.container(border=True):
        if path == "pages/audit.py" and not may_read_audit(user):
            # not in this account's navigation, so no link to it
            st.markdown(f"**{t(title_key)}**")
            st.markdown(t(text_key))
            st.caption(t("guide.page.audit.denied"))
            return
        st.page_link(path, label=t(title_key), icon=icon)
        st.markdown(t(text_key))
        if path == "pages/supervision.py":
            for view in view_icons("supervision"):
                left, right = st.columns([2, 3], vertical_alignment="center")
                left.page_link(path, label=t(f"sc.view.{view}"), icon=":material/chevron_right:",
                               query_params={"view": view})
                right.caption(t(f"guide.view.{view}"))


def glossary_section() -> None:
    st.subheader(t("guide.gloss.title"), anchor="definitions")
    st.caption(t("guide.gloss.caption"))
    sep = "：" if lang() == "zh" else ": "
    for heading, items in glossary.sections():
        lines = [f"- **{t(term)}**{sep}{glossary.definition(key, lang())}" if term
                 else f"- {glossary.definition(key, lang())}" for term, key in items]
        st.markdown(f"**{t(heading)}**\n\n" + "\n".join(lines))


require_frame("help")
frame.tip_seen()  # the Overview's pointer to this page has done its work
auth.sync_cookie()  # remembered by the browser now, not at the next click
user = current_user()
st.title(t("guide.title"))
st.caption(t("guide.caption"))
st.markdown(t("guide.toc"))

st.subheader(t("guide.pages.title"), anchor="pages")
st.caption(t("guide.pages.caption"))
columns = st.columns(2)
for i, nav_page in enumerate(PAGES):
    with columns[0 if i < 3 else 1]:  # read down: the oversight pages (the centre's card is long), then the rest
        page_card(nav_page, user)

st.subheader(t("guide.filters.title"), anchor="filters")
st.markdown(t("guide.filters.body"))
st.subheader(t("guide.url.title"), anchor="links")
st.markdown(t("guide.url.body"))
st.subheader(t("guide.order.title"), anchor="orders")
st.markdown(t("guide.order.body"))
glossary_section()
