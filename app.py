"""Router and shared frame: page config, first-start demo data, sign-in, language, region (inside the
user's jurisdiction), period, data as of.

Run with ``streamlit run app.py``.  Pages live in pages/ and only lay out what data_access returns.

The same file is also the server: ``streamlit run`` finds the ``st.App`` at the bottom and serves it, with the
app's own routes beside Streamlit's (ui/session_cookie.py: the server sets and clears the HttpOnly session
cookie) and the database's state on the health check (ui/health.py: 503 while the database cannot be
read); it then runs this file as the page script, as ``__main__``, which draws the frame (:func:`main`).
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import health, session_cookie  # (no Streamlit call, no cache: the server imports this before its runtime)

if __name__ == "__main__":  # the page script's imports: modules with caches are imported inside the runtime
    from data_access.core.access import may_read_audit
    from data_access.core.errors import DATABASE_ERRORS
    from ui import auth, data, frame, guard, resilience, state, tables, urlstate
    from ui.setup import ensure_data
    from ui.state import t
    from ui.views import DEFAULT_PAGE, NAV_PAGES

FAVICON = Path(__file__).resolve().parent / "ui" / "assets" / "favicon.png"


def main() -> None:
    """One run of the page script: the frame, then the page st.navigation picks."""
    # The favicon is a file of the app's own (served from /media): a ":material/…:" icon made the browser fetch it from
    # fonts.gstatic.com, which an intranet cannot reach.  tests/test_browser.py checks no request leaves the app.
    st.set_page_config(page_title="网格化服务管理督导驾驶舱", page_icon=str(FAVICON), layout="wide",
                       # a wall display (?wall=1) opens with the sidebar folded away: the page gets the whole screen
                       initial_sidebar_state="collapsed" if frame.wall_display() else "auto")
    guard.frame_starting()
    deep_link = guard.pending_deep_link()  # a link that first reached a page without the frame (ui/guard.py)
    if deep_link:
        st.query_params.from_dict(deep_link[1])  # before anything reads its parameters from the URL
    # Browser back / forward, a link with query_params: a value the app did not write is read again (ui/urlstate.py).
    urlstate.follow_outside_changes()

    with st.sidebar:
        frame.language_switch()
    tables.toolbar_style(state.lang())  # no English table toolbar on a Chinese page (ui/tables.py)

    # The account is re-read every run.  A database failure here is shown below, after st.navigation (which
    # must run on every run, or Streamlit falls back to listing pages/).
    user, user_error = None, None
    try:
        user = auth.session_user()
    except DATABASE_ERRORS as exc:
        user_error = exc

    pages: dict[str, list[st.Page]] = {}
    for entry in NAV_PAGES:  # ui/views.py
        if entry.url_path == "audit" and not (user is None or may_read_audit(user)):
            continue  # (signed out: every page, so that a link to any of them waits for sign-in)
        pages.setdefault(t(entry.section_key), []).append(
            st.Page(entry.file, title=t(entry.title_key), icon=entry.icon, url_path=entry.url_path,
                    default=entry.url_path == DEFAULT_PAGE))
    # Signed out, the pages stay registered (hidden) so that the link the user came with opens after sign-in.
    nav = st.navigation(pages, position="sidebar" if user is not None else "hidden")
    if deep_link:
        target = next((p for ps in pages.values() for p in ps if p.url_path == deep_link[0]), None)
        if target is not None and target.url_path != nav.url_path:
            st.switch_page(target, query_params=deep_link[1])

    auth.sync_cookie()  # after a sign-in or sign-out: the browser's session cookie (a reload keeps the session)

    # Database gone (retrying by itself until it is back), query timeout, or another database error: a clear
    # message instead of the page (ui/resilience.py).
    with resilience.guard_page():
        resilience.check_database_file()  # the SQLite file renamed or replaced: say so, show no cached answer of it
        if user_error is not None:
            raise user_error
        ensure_data()  # first start: the demo data (and its demo accounts) before the sign-in page offers them
        if user is None:
            auth.sign_in_view()
            st.stop()

        with st.sidebar:
            region = frame.region_picker(data.tree(), user.scope_code)
            d_from, d_to = frame.period_picker()
            frame.data_as_of()
            auth.identity_block(user)

        frame.sync_notices(user)  # stale data; a refused batch (admins, leaders): above every page
        frame.keep_in_url(region, d_from, d_to)
        st.session_state["frame_filter"] = frame.build_filter(user.scope_code, region, d_from, d_to)
        guard.frame_ready()
        nav.run()


if __name__ == "__main__":  # Streamlit runs the page script as __main__ (also AppTest)
    main()
else:  # imported by the server that ``streamlit run app.py`` starts (uvicorn, "app:app")
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    from ui import views

    async def _default_page(request: Request) -> RedirectResponse:
        """Streamlit serves the default page at the root and answers its own path with a "Page not found" dialog:
        a bookmark or a typed /overview goes to the root, with its query (region, period, view)."""
        query = request.url.query
        return RedirectResponse("./" + (f"?{query}" if query else ""), status_code=308)

    app = st.App(__file__, routes=[*session_cookie.ROUTES, Route(f"/{views.DEFAULT_PAGE}", _default_page)],
                 middleware=[Middleware(health.HealthCheck)])
