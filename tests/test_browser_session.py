"""The session cookie in a real browser (issue 21 item 2): ``streamlit run app.py`` on the hand-computable
fixture, Debian's headless Chromium (tools/browser.py).  After a sign-in the cookie is the server's: HttpOnly,
SameSite=Strict, not Secure over plain HTTP, and ``document.cookie`` does not show it; a reload keeps the
session; ``python -m data_access users set-password`` signs the old browser session out on its reload, with
the notice; sign-out clears the cookie.
"""
from __future__ import annotations

import io
import os
import re

import pytest

from tests.test_browser import _MISSING, PERIOD, STAFF, serve, wait_metric
from tools import browser
from ui.i18n import translate

if _MISSING and os.environ.get("GOV_TEST_BROWSER") == "required":
    raise RuntimeError(f"browser tests are required here but cannot run: {_MISSING}")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(_MISSING), reason=_MISSING or "")]


def _session_cookie(ctx) -> dict | None:
    return next((c for c in ctx.cookies() if c["name"] == "gov_session"), None)


def test_the_session_cookie_is_httponly_strict_and_ends_with_a_new_password(chromium, tmp_path, monkeypatch):
    from data_access.cli import main

    with serve("sqlite", tmp_path) as app:
        ctx = chromium.new_context(viewport=browser.LAPTOP)
        tab = ctx.new_page()
        try:
            tab.goto(f"{app.url}/staffing?{PERIOD}")
            browser.wait_for_app(tab)
            browser.sign_in(tab, *STAFF)
            wait_metric(tab, "stf.kpi.grids", "zh", "2")
            for _ in range(50):  # the page posts the grant as it renders; the answer sets the cookie
                if _session_cookie(ctx):
                    break
                tab.wait_for_timeout(100)
            cookie = _session_cookie(ctx)
            assert cookie is not None, ctx.cookies()
            assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["secure"] is False
            assert cookie["path"] == "/" and len(cookie["value"]) == 64
            assert "gov_session" not in tab.evaluate("document.cookie")  # no script on the page reads it
            assert cookie["value"] not in tab.content()  # nor finds it in the page

            tab.reload()
            browser.wait_for_app(tab)
            wait_metric(tab, "stf.kpi.grids", "zh", "2")  # the server's cookie keeps the session on reload

            monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password 2026\n"))
            assert main(["--db", app.db_url, "users", "set-password", STAFF[0], "--password-stdin"]) == 0
            tab.reload()
            browser.wait_for_app(tab)
            tab.get_by_label(translate("auth.username", "zh")).wait_for(timeout=30_000)  # signed out
            assert tab.get_by_text(translate("auth.err.changed", "zh")).count() == 1
            assert tab.locator("[data-testid=stMetric]").count() == 0
            for _ in range(50):  # the server clears the dead cookie
                if _session_cookie(ctx) is None:
                    break
                tab.wait_for_timeout(100)
            assert _session_cookie(ctx) is None

            browser.sign_in(tab, STAFF[0], "a brand new password 2026")
            wait_metric(tab, "stf.kpi.grids", "zh", "2")
            sidebar = tab.locator("[data-testid=stSidebar]")
            sidebar.get_by_role("button", name=re.compile(translate("auth.sign_out", "zh"))).click()
            browser.wait_for_app(tab)
            tab.get_by_label(translate("auth.username", "zh")).wait_for(timeout=30_000)
            for _ in range(50):  # sign-out clears the cookie on the server's answer
                if _session_cookie(ctx) is None:
                    break
                tab.wait_for_timeout(100)
            assert _session_cookie(ctx) is None
        finally:
            ctx.close()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browser.launch(p)
        yield b
        b.close()
