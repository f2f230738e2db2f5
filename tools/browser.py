"""The app in a real browser: Debian's headless Chromium (``/usr/bin/chromium``, package ``chromium``) driven
by Playwright's Python package, which downloads no browser of its own here.

Used by the browser tests (tests/test_browser.py), the README's screenshots (``python -m
tools.readme_screenshots``) and ``python -m tools.screenshot``.  ``app_server`` runs ``streamlit run app.py`` on a
free local port against a database, ``wait_for_app`` waits until Streamlit has finished running the script (the
same signal Streamlit's own end-to-end tests use: the ``data-test-script-state`` attribute of the app element) and
no skeleton is left.
"""
from __future__ import annotations

import os
from pathlib import Path

from bench.server import StreamlitServer

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = os.environ.get("GOV_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--font-render-hinting=none"]
LAPTOP = {"width": 1366, "height": 768}  # the smallest screen the app is laid out for
WALL = {"width": 2560, "height": 1440}  # a wall display in a governance centre


def chromium_missing() -> str | None:
    """Why the browser cannot run here (None when it can)."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -r requirements-dev.txt)"
    return None


def app_server(db_url: str, log: Path, env: dict[str, str] | None = None, timeout_s: float = 120) -> StreamlitServer:
    """``streamlit run app.py`` on a free loopback port against ``db_url`` (bench/server.py: ready when its health
    check answers, always stopped when the ``with`` block ends); ``env`` overrides its settings (GOV_NOW …)."""
    return StreamlitServer(db_url, env=env, log_path=log, startup_timeout=timeout_s)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def wait_for_app(page, timeout_s: float = 60, settle_ms: int = 150) -> None:
    """Wait until the app is connected, the script has finished running (a rerun that a click or a
    ``st.rerun`` starts a moment later included) and no skeleton or spinner is left."""
    timeout = timeout_s * 1000
    page.wait_for_selector("[data-testid=stApp][data-test-connection-state=CONNECTED]", timeout=timeout)
    for _ in range(3):
        page.wait_for_timeout(settle_ms)
        page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=stSkeleton], [data-testid=stSpinner]')", timeout=timeout)
        page.wait_for_timeout(settle_ms)
        if page.locator("[data-testid=stApp][data-test-script-state=notRunning]").count():
            return


def sign_in(page, username: str, password: str, lang: str = "zh") -> None:
    """Fill in the sign-in form (the sign-in page must be on screen) and wait for the page it opens."""
    from ui.i18n import translate

    page.get_by_label(translate("auth.username", lang)).fill(username)
    page.get_by_label(translate("auth.password", lang), exact=True).fill(password)
    page.get_by_role("button", name=translate("auth.submit", lang), exact=True).click()
    wait_for_app(page)


def sign_in_demo(page, account: str) -> None:
    """One click on a demo account of the sign-in page (sample data only)."""
    page.locator(f".st-key-demo_{account} button").first.click()
    wait_for_app(page)


def metric_values(page) -> dict[str, str]:
    """The KPI cards on screen: label → value as displayed."""
    out = {}
    for m in page.locator("[data-testid=stMetric]").all():
        label = m.locator("[data-testid=stMetricLabel]").inner_text().strip()
        out[label] = m.locator("[data-testid=stMetricValue]").inner_text().strip()
    return out
