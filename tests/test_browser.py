"""The app in a real browser: ``streamlit run app.py`` on a free port against the hand-computable fixture
(tests/fixtures/metrics, "now" = 2026-03-20 12:00, period 2026-01-01 … 2026-03-31), driven by Playwright in
Debian's headless Chromium (tools/browser.py).

For every page, in Chinese and in English: it renders with no exception or error element, its main number is
the fixture's (README of the fixture), choosing 东县 in the sidebar changes that number to 东县's, the URL
carries the choice, and a reload shows the same.  Every view of every page renders without an exception.
On the case workbench a case is searched, selected in the list, given a red supervision order through the
form, and the order shows in the count and in the orders tab.  Sign-in (a wrong password refused, the right
one accepted), a reload that keeps the session, sign-out.

Each run saves a screenshot of every page in both languages, and of every view, to artifacts/screenshots
(``GOV_ARTIFACTS`` moves it).  ``.ci/run`` installs Chromium and sets ``GOV_TEST_BROWSER=required``, so there
a missing browser fails instead of skipping.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from bench.visits import VIEWS  # every view of every page
from tests.conftest import PG_SKIP_REASON, PG_URL, ROOT, load_fixture
from tools import browser
from ui.i18n import translate

_MISSING = browser.chromium_missing()
if _MISSING and os.environ.get("GOV_TEST_BROWSER") == "required":
    raise RuntimeError(f"browser tests are required here but cannot run: {_MISSING}")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(_MISSING), reason=_MISSING or "")]

ARTIFACTS = Path(os.environ.get("GOV_ARTIFACTS", ROOT / "artifacts")) / "screenshots"
NOW = "2026-03-20T12:00:00"
PERIOD = "period=custom&from=2026-01-01&to=2026-03-31"
LEADER = ("e2e.leader", "leader-pass-2026")  # city-wide leader
STAFF = ("e2e.staff", "staff-pass-2026")  # staff of 东县
LANGS = ("zh", "en")

# Each page: its URL path, the catalog key of its title, the catalog key of its main number, and that number
# for the whole city and for 东县 in the fixture's first quarter of 2026 (tests/fixtures/metrics/README.md):
#   overview: cases reported in the period, 9 (c01–c09) / 6 (c01–c04, c07, c08 in grids G1, G2)
#   cases: matching cases, the same 9 / 6
#   supervision: cases open now, 3 (c06, c07, c08) / 2 (c07, c08)
#   staffing: grids, 3 (G1–G3) / 2;  volunteers: teams, 7 (T1–T4, W1–W3) / 4
#   assets: projects, 8 (DX-P1…4, XX-P1…3, SHI-P1) / 4;  clean: units, 9 (DX-Q1…5, XX-Q1…3, SHI-Q1) / 5
PAGES = [
    ("overview", "nav.overview", "ov.kpi.cases", "9", "6"),
    ("cases", "nav.cases", "wb.kpi.found", "9", "6"),
    ("supervision", "nav.supervision", "sc.backlog.open", "3", "2"),
    ("staffing", "nav.staffing", "stf.kpi.grids", "3", "2"),
    ("volunteers", "nav.volunteers", "vol.kpi.teams", "7", "4"),
    ("assets", "nav.assets", "ast.kpi.projects", "8", "4"),
    ("clean", "nav.clean", "cln.kpi.units", "9", "5"),
]


def serve(kind: str, tmp: Path):
    """The app on the fixture in a database of ``kind`` with the two accounts (a context manager)."""
    from data_access.core import users

    eng = load_fixture(kind, tmp, "metrics")
    users.add_user(eng, LEADER[0], display_name="李明", role="leader", scope_code="100", password=LEADER[1])
    users.add_user(eng, STAFF[0], display_name="王芳", role="staff", scope_code="110", password=STAFF[1])
    url = eng.url.render_as_string(hide_password=False)
    eng.dispose()
    return browser.app_server(url, log=tmp / "app.log", env={"GOV_NOW": NOW})


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with serve("sqlite", tmp_path_factory.mktemp("browser")) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browser.launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def leader_state(app, chromium, tmp_path_factory):
    """The browser state (its session cookie) of the leader, signed in once through the form."""
    ctx = chromium.new_context(viewport=browser.LAPTOP)
    page = ctx.new_page()
    page.goto(f"{app.url}/?{PERIOD}")
    browser.wait_for_app(page)
    browser.sign_in(page, *LEADER)
    path = tmp_path_factory.mktemp("state") / "leader.json"
    ctx.storage_state(path=str(path))
    ctx.close()
    return str(path)


@pytest.fixture
def page(chromium, leader_state):
    """A new tab of the signed-in leader at a 1366×768 laptop size."""
    ctx = chromium.new_context(viewport=browser.LAPTOP, storage_state=leader_state)
    tab = ctx.new_page()
    yield tab
    ctx.close()


def open_page(tab, app, path: str, query: str = "") -> None:
    url_path = "" if path == "overview" else path  # the default page's URL is the app's root
    tab.goto(f"{app.url}/{url_path}?{PERIOD}{'&' + query if query else ''}")
    browser.wait_for_app(tab)


def assert_clean(tab) -> None:
    """No exception element, no error alert, no dialog (such as Streamlit's "Page not found") other than the
    workbench's opened case, and no traceback text."""
    others = tab.locator("[role=dialog]").filter(has_not=tab.locator(".st-key-case_panel"))
    assert others.count() == 0, others.first.inner_text()
    assert tab.locator("[data-testid=stException]").count() == 0, tab.locator("[data-testid=stException]").first.inner_text()
    errors = tab.locator("[data-testid=stAlertContentError]")
    assert errors.count() == 0, errors.first.inner_text()
    assert "Traceback" not in tab.locator("[data-testid=stMain]").inner_text()


def assert_fits(tab) -> None:
    """Nothing wider than the window: the main area scrolls only vertically."""
    overflow = tab.evaluate("() => { const m = document.querySelector('[data-testid=stMain]');"
                            " return m.scrollWidth - m.clientWidth; }")
    assert overflow <= 1, f"the page is {overflow} px wider than the window"


def metric(tab, key: str, lang: str) -> str:
    values = browser.metric_values(tab)
    label = translate(key, lang)
    assert label in values, (label, values)
    return values[label]


def wait_metric(tab, key: str, lang: str, expected: str) -> None:
    """The metric shows ``expected`` (after a rerun the page may still be replacing its elements)."""
    label = translate(key, lang)
    card = tab.locator("[data-testid=stMetric]").filter(
        has=tab.locator("[data-testid=stMetricLabel]", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    card.locator("[data-testid=stMetricValue]").filter(
        has_text=re.compile(rf"^\s*{re.escape(expected)}\s*$")).wait_for(timeout=30_000)


def choose_sidebar_option(tab, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar's select box ``label`` as a user does: type to narrow the list, click."""
    field = tab.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").filter(has_text=label).first.locator("input")
    field.click()
    field.fill(option)
    tab.get_by_role("option", name=option, exact=True).click()
    browser.wait_for_app(tab)


def wait_url(tab, *parts: str, lang: str | None = None, timeout_s: float = 30) -> str:
    """The address bar once it holds ``parts`` (and ``lang``'s marking, when given), or as it is after
    ``timeout_s``.  The app writes the query string (and a page link the path) in the run that a click starts;
    browser.wait_for_app lets 150 ms pass for that run to begin, which on a loaded machine may not be enough."""
    def done(url: str) -> bool:
        return all(p in url for p in parts) and (lang is None or ("lang=en" in url) == (lang == "en"))

    deadline = time.monotonic() + timeout_s
    while not done(tab.url) and time.monotonic() < deadline:
        tab.wait_for_timeout(100)
    return tab.url


def assert_url(tab, lang: str, *parts: str) -> None:
    """The address bar holds ``parts`` and the language (Chinese, the default, is left out of the URL)."""
    url = wait_url(tab, *parts, lang=lang)
    for part in parts:
        assert part in url, (part, url)
    assert ("lang=en" in url) == (lang == "en"), url


def shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.wait_for_timeout(400)  # charts finish their first paint
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path,title_key,metric_key,city,east", PAGES, ids=[p[0] for p in PAGES])
def test_page_numbers_follow_the_region_filter_and_survive_a_reload(app, page, lang, path, title_key, metric_key,
                                                                    city, east):
    open_page(page, app, path, f"lang={lang}")
    assert_clean(page)
    assert page.locator("h1").first.inner_text().startswith(translate(title_key, lang).split(" · ")[0][:2])
    assert metric(page, metric_key, lang) == city
    assert_fits(page)
    shot(page, f"{path}_{lang}")

    county_box = translate("frame.region.level_pick", lang, level=translate("level.county", lang))
    choose_sidebar_option(page, county_box, "东县")
    wait_metric(page, metric_key, lang, east)
    assert_clean(page)
    assert_url(page, lang, "region=110")

    page.reload()
    browser.wait_for_app(page)
    assert_clean(page)
    wait_metric(page, metric_key, lang, east)
    assert "东县" in page.locator("h1").first.inner_text()
    assert_url(page, lang, "region=110", "from=2026-01-01", "to=2026-03-31")


def outside_requests(tab) -> list[str]:
    """The URLs ``tab`` asks for outside the app from now on (an intranet has no internet)."""
    from urllib.parse import urlparse

    outside: list[str] = []
    tab.on("request", lambda r: outside.append(r.url) if urlparse(r.url).scheme in ("http", "https", "ws", "wss")
           and urlparse(r.url).hostname not in ("127.0.0.1", "localhost") else None)
    return outside


@pytest.mark.parametrize("lang", LANGS)
def test_every_view_renders_in_the_browser(app, page, lang):
    """Every view of every page, in each language; none of them loads anything from outside the app (scripts,
    fonts, charts: the screenshot is taken after the charts' first paint)."""
    outside = outside_requests(page)
    seen = []
    for path, views in VIEWS.items():
        for view in views:
            open_page(page, app, path, f"lang={lang}&view={view}")
            assert_clean(page)
            assert_fits(page)
            assert_url(page, lang, *([f"view={view}"] if view != views[0] else []))  # the first is the default
            shot(page, f"{path}_{view}_{lang}")
            seen.append(f"{path}:{view}")
    assert len(seen) == sum(len(v) for v in VIEWS.values())
    assert not outside, sorted(set(outside))


@pytest.mark.parametrize("size", ["laptop", "wall"])
def test_overview_fits_a_laptop_and_a_wall_display(app, chromium, leader_state, size):
    viewport = browser.LAPTOP if size == "laptop" else browser.WALL
    ctx = chromium.new_context(viewport=viewport, storage_state=leader_state)
    tab = ctx.new_page()
    try:
        open_page(tab, app, "overview", "wall=1" if size == "wall" else "")
        assert_clean(tab)
        assert_fits(tab)
        # ?wall=1: the sidebar starts folded away and the first-visit tip is not shown
        sidebar = tab.locator("[data-testid=stSidebar]")
        assert sidebar.get_attribute("data-collapsed") == ("true" if size == "wall" else "false")
        assert tab.locator(".st-key-guide_tip").count() == (0 if size == "wall" else 1)
        cards = tab.locator("[data-testid=stMetric]")
        assert cards.count() == 11   # the eight headline numbers and the 三率
        first, last = cards.nth(0).bounding_box(), cards.nth(3).bounding_box()
        assert abs(first["y"] - last["y"]) < 2  # four KPI cards side by side in a row
        assert last["x"] + last["width"] <= viewport["width"]
        if size == "laptop":
            assert first["y"] < viewport["height"] / 2  # the headline numbers are on the first screen
        shot(tab, f"overview_zh_{size}")
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", LANGS)
def test_help_page_links_to_every_page_and_opens_one(app, page, lang):
    open_page(page, app, "help", f"lang={lang}")
    assert_clean(page)
    assert page.locator("h1").first.inner_text().startswith(translate("guide.title", lang))
    links = page.locator("[data-testid=stMain] [data-testid=stPageLink]")
    assert links.count() >= 8 + 7  # every page, and each view of the supervision centre
    assert translate("guide.gloss.title", lang) in page.locator("[data-testid=stMain]").inner_text()
    assert_fits(page)
    shot(page, f"help_{lang}")
    links.filter(has_text=translate("nav.cases", lang)).first.click()
    browser.wait_for_app(page)
    assert "/cases" in wait_url(page, "/cases"), page.url
    wait_metric(page, "wb.kpi.found", lang, "9")


def test_no_request_leaves_the_app(app, chromium):
    """An intranet has no internet: the sign-in page, the pages without views and the help page load everything
    (scripts, fonts, the favicon, charts) from the app itself; the favicon is the app's own file, not a
    fonts.gstatic.com icon.  (Every view of every page is checked so in test_every_view_renders_in_the_browser.)"""
    from urllib.parse import urlparse

    ctx = chromium.new_context(viewport=browser.LAPTOP)
    tab = ctx.new_page()
    outside = outside_requests(tab)
    try:
        tab.goto(f"{app.url}/?{PERIOD}")
        browser.wait_for_app(tab)
        icon = tab.locator("link[rel~=icon]").first.get_attribute("href")
        assert icon and urlparse(icon).netloc in ("", urlparse(app.url).netloc), icon  # the app's /media/…
        browser.sign_in(tab, *LEADER)
        tab.wait_for_timeout(500)  # charts and images are fetched after the script ends
        visited = 0
        for path in [p[0] for p in PAGES if p[0] not in VIEWS] + ["help"]:
            open_page(tab, app, path)
            tab.wait_for_timeout(500)
            visited += 1
        assert visited >= 1
        assert not outside, sorted(set(outside))
    finally:
        ctx.close()


def test_the_first_visit_tip_stays_dismissed_after_a_reload(app, chromium, leader_state):
    ctx = chromium.new_context(viewport=browser.LAPTOP, storage_state=leader_state)
    tab = ctx.new_page()
    try:
        open_page(tab, app, "overview")
        tip = tab.locator(".st-key-guide_tip")
        assert tip.count() == 1
        tab.locator(".st-key-guide_tip_dismiss button").click()
        browser.wait_for_app(tab)
        assert tip.count() == 0
        tab.reload()
        browser.wait_for_app(tab)
        assert tab.locator("[data-testid=stMetric]").count() > 0 and tip.count() == 0  # a new session, no tip
        other = ctx.new_page()  # a second tab of the same browser
        open_page(other, app, "overview")
        assert other.locator("[data-testid=stMetric]").count() > 0 and other.locator(".st-key-guide_tip").count() == 0
    finally:
        ctx.close()
    fresh = chromium.new_context(viewport=browser.LAPTOP, storage_state=leader_state)  # another browser: shown
    try:
        tab = fresh.new_page()
        open_page(tab, app, "overview")
        assert tab.locator(".st-key-guide_tip").count() == 1
    finally:
        fresh.close()


@pytest.mark.parametrize("lang", LANGS)
def test_audit_log_shows_the_sign_in_and_its_filter(app, page, lang):
    open_page(page, app, "audit", f"lang={lang}")
    assert_clean(page)
    assert int(metric(page, "enum.audit.sign_in", lang).replace(",", "")) >= 1  # the leader's own sign-in
    shot(page, f"audit_{lang}")
    page.get_by_label(translate("au.f.who", lang)).fill("nobody-by-this-name")
    page.keyboard.press("Enter")
    browser.wait_for_app(page)
    page.get_by_text(translate("au.empty", lang)).wait_for(timeout=30_000)
    assert_url(page, lang, "who=nobody-by-this-name")
    page.reload()
    browser.wait_for_app(page)
    assert page.locator("h1").first.inner_text().startswith(translate("au.title", lang))
    assert page.get_by_label(translate("au.f.who", lang)).input_value() == "nobody-by-this-name"
    page.get_by_text(translate("au.empty", lang)).wait_for(timeout=30_000)


@pytest.mark.parametrize("lang", LANGS)
def test_workbench_select_a_case_issue_a_red_order_and_see_it_listed(app, page, lang):
    tr = translate
    open_page(page, app, "cases", f"lang={lang}&q=c06")
    assert_clean(page)
    wait_metric(page, "wb.kpi.found", lang, "1")
    # the orders on the matching case c06 (the card follows the filters); the other language's run adds one
    red_before, yellow_before = (int(x) for x in metric(page, "wb.kpi.orders", lang).split("/"))

    grid = page.locator("[data-testid=stDataFrame]").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection cell
    browser.wait_for_app(page)
    assert_url(page, lang, "case=c06", "q=c06")
    panel = page.locator(".st-key-case_panel")
    panel.locator("h3").first.filter(has_text="c06").wait_for(timeout=30_000)  # (waited for, as the URL)

    form = page.locator("[data-testid=stForm]").first
    form.scroll_into_view_if_needed()
    form.get_by_role("radio", name=tr("enum.grade.red", lang), exact=True).click()  # a segmented control
    form.get_by_label(tr("wb.order.note", lang)).fill(f"浏览器测试：请两日内办结 ({lang})")
    form.get_by_role("button", name=re.compile(re.escape(tr("wb.order.submit", lang)))).click()
    browser.wait_for_app(page)
    assert_clean(page)
    wait_metric(page, "wb.kpi.orders", lang, f"{red_before + 1} / {yellow_before}")
    shot(page, f"case_panel_{lang}")

    # the case opens over the list (a dialog); its close button takes it and ?case= away, the list stays
    panel.get_by_role("button", name=re.compile(re.escape(tr("wb.case.close", lang)))).click()
    browser.wait_for_app(page)
    panel.wait_for(state="detached", timeout=30_000)
    page.wait_for_function("() => !location.search.includes('case=')", timeout=30_000)
    page.get_by_role("tab", name=tr("wb.tab.orders", lang)).click()
    browser.wait_for_app(page)
    orders = page.locator("[data-testid=stTabPanel]:visible")
    red_card = orders.locator("[data-testid=stMetric]").filter(has_text=tr("wb.orders.red", lang))
    assert red_card.locator("[data-testid=stMetricValue]").inner_text().strip() == str(red_before + 1)
    grid = orders.locator("[data-testid=stDataFrame]").first
    grid.scroll_into_view_if_needed()
    # The grid draws on a canvas; its cells are also in the DOM, for screen readers, once it has drawn them.
    grid.locator("td", has_text="c06").first.wait_for(state="attached", timeout=15_000)
    shot(page, f"orders_{lang}")


def test_sign_in_refuses_a_wrong_password_keeps_the_session_on_reload_and_signs_out(app, chromium):
    ctx = chromium.new_context(viewport=browser.LAPTOP)
    tab = ctx.new_page()
    try:
        tab.goto(f"{app.url}/staffing?{PERIOD}")  # a link opened while signed out
        browser.wait_for_app(tab)
        assert tab.locator("[data-testid=stSidebarNav]").count() == 0  # no navigation before sign-in
        shot(tab, "signin_zh")
        browser.sign_in(tab, STAFF[0], "not-the-password")
        tab.get_by_text(translate("auth.err.bad_credentials", "zh")).wait_for(timeout=30_000)
        assert tab.locator("[data-testid=stMetric]").count() == 0

        browser.sign_in(tab, *STAFF)
        assert_clean(tab)
        assert "/staffing" in wait_url(tab, "/staffing")  # the link opens right after sign-in, with its filters
        wait_metric(tab, "stf.kpi.grids", "zh", "2")  # a 东县 account sees 东县 only
        assert "东县" in tab.locator("h1").first.inner_text()
        sidebar = tab.locator("[data-testid=stSidebar]")
        assert "王芳" in sidebar.inner_text()

        tab.reload()
        browser.wait_for_app(tab)
        wait_metric(tab, "stf.kpi.grids", "zh", "2")  # the session cookie keeps the user signed in

        sidebar.get_by_role("button", name=re.compile(translate("auth.sign_out", "zh"))).click()
        browser.wait_for_app(tab)
        tab.get_by_label(translate("auth.username", "zh")).wait_for(timeout=30_000)
        tab.reload()
        browser.wait_for_app(tab)
        assert tab.get_by_label(translate("auth.username", "zh")).count() == 1  # still signed out after a reload
        assert tab.locator("[data-testid=stMetric]").count() == 0
    finally:
        ctx.close()


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)
def test_every_page_shows_the_same_numbers_on_postgresql(chromium, tmp_path):
    """The production database behind a real browser: each page's main number for the city, and 东县's after
    the sidebar change, as on SQLite.  The SQLite server is stopped by then or untouched: each has its own port."""
    with serve("pg", tmp_path) as pg_app:
        ctx = chromium.new_context(viewport=browser.LAPTOP)
        tab = ctx.new_page()
        try:
            tab.goto(f"{pg_app.url}/?{PERIOD}")
            browser.wait_for_app(tab)
            browser.sign_in(tab, *LEADER)
            for path, _title, metric_key, city, east in PAGES:
                open_page(tab, pg_app, path)
                assert_clean(tab)
                wait_metric(tab, metric_key, "zh", city)
                open_page(tab, pg_app, path, "region=110")
                wait_metric(tab, metric_key, "zh", east)
        finally:
            ctx.close()
