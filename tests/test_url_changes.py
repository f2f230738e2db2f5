"""The URL a live session receives from outside — the browser's back / forward, an ``st.page_link`` or
``st.switch_page`` with ``query_params`` — is followed (validated as on a first visit), a widget click is not
taken for one, and one page's parameters never reach another page (ui/urlstate.py), on the hand-computable
fixture (tests/fixtures/metrics, now = 2026-03-20 12:00).

AppTest treats app.py as a script beside a ``pages/`` folder on every run, so a rerun would execute the page
file alone, without the frame.  A real server decides that once per process and, after the first session's
``st.navigation``, always runs app.py: :func:`warm_server` makes AppTest do the same, so every ``run()`` here
is what a browser's request gets (app.py's frame, then the page).  Setting ``at.query_params`` before a run
is the browser sending that URL."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from tests.conftest import ROOT, serve_fixture, sign_in
from ui import i18n

NOW = datetime(2026, 3, 20, 12, 0)
FOUND = "符合条件的案件"


@pytest.fixture(autouse=True)
def warm_server(monkeypatch):
    """AppTest runs app.py (and st.navigation picks the page) on every run, as a server that has already
    served a session does."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    class Warm(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test, "PagesManager", Warm)


@pytest.fixture
def url(tmp_path, monkeypatch) -> str:
    return serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def open_session(url: str, page: str, query: dict[str, str] | None = None, role: str = "leader",
                 scope: str | None = None) -> AppTest:
    """A new session whose first request is ``/<page>?<query>``, signed in as ``role`` of ``scope``."""
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), url, role, scope)
    at._page_hash = calc_hash(page)
    at.query_params.update(query or {})
    return ok(at.run())


def request(at: AppTest, query: dict[str, str], page: str | None = None) -> AppTest:
    """The browser asks for ``page`` (default: the same page) with exactly ``query`` as its URL."""
    if page is not None:
        at._page_hash = calc_hash(page)
    at.query_params.clear()
    at.query_params.update(query)
    return ok(at.run())


def title(at: AppTest) -> str:
    return at.title[0].value


def found(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == FOUND)


def toasts(at: AppTest) -> list[str]:
    return [x.value for x in at.toast]


def url_of(at: AppTest) -> dict[str, str]:
    return dict(at.query_params)


# --- outside changes are followed -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_region_and_page_filters_from_the_url_on_a_rerun(kind, tmp_path, monkeypatch):
    """Back / forward to another region and search: the page shows them, and the URL keeps them."""
    url = serve_fixture(kind, tmp_path, monkeypatch, "metrics", NOW)
    at = open_session(url, "cases", {"period": "all"})
    assert title(at).endswith("测试市") and found(at) == "10"
    request(at, {**url_of(at), "region": "110"})
    assert title(at).endswith("东县") and found(at) == "7"  # c01 c02 c03 c04 c07 c08 c10
    assert url_of(at)["region"] == "110" and not toasts(at)
    request(at, {**url_of(at), "q": "纠纷", "status": "closed"})
    assert at.text_input(key="wb_q").value == "纠纷" and at.multiselect(key="wb_status").value == ["closed"]
    assert found(at) == "2"  # c02 c10: the city's 3 closed "纠纷" cases less c05 of 西县
    assert (url_of(at)["q"], url_of(at)["status"]) == ("纠纷", "closed")
    request(at, {**url_of(at), "region": "100", "q": "纠纷", "status": "closed,handling"})  # back again
    assert title(at).endswith("测试市") and at.multiselect(key="wb_status").value == ["closed", "handling"]
    assert url_of(at)["region"] == "100" and url_of(at)["status"] == "closed,handling"


def test_period_from_the_url_on_a_rerun(url):
    at = open_session(url, "cases", {"period": "all"})
    assert found(at) == "10"
    request(at, {**url_of(at), "period": "last30"})  # 02-19 … 03-20: c06 c07 c08 c09
    assert at.selectbox(key="period").value == "last30" and found(at) == "4"
    assert url_of(at)["period"] == "last30"
    request(at, {**url_of(at), "period": "custom", "from": "2026-01-01", "to": "2026-01-31"})  # c01 c02 c03
    assert at.selectbox(key="period").value == "custom" and found(at) == "3"
    request(at, {**url_of(at), "from": "2026-02-01", "to": "2026-02-28"})  # the dates alone: c04 c05
    assert found(at) == "2"
    assert (url_of(at)["from"], url_of(at)["to"]) == ("2026-02-01", "2026-02-28")


def test_language_from_the_url_on_a_rerun(url):
    at = open_session(url, "cases")
    assert title(at).startswith(i18n.translate("wb.title", "zh"))
    request(at, {**url_of(at), "lang": "en"})
    assert title(at).startswith(i18n.translate("wb.title", "en")) and at.segmented_control(key="lang").value == "en"
    assert url_of(at)["lang"] == "en"


def test_a_switch_page_with_query_params_wins(url):
    """st.switch_page(…, query_params=…) (here the frame's deep-link hand-over, ui/guard.py) in a live
    session: its parameters are applied, not the session's."""
    at = open_session(url, "cases", {"period": "all", "q": "漏水"})
    at.session_state["_deep_link"] = ("cases", {"period": "all", "region": "1112", "q": "纠纷"})
    request(at, {}, page="overview")
    assert title(at).endswith("乙社区") and at.text_input(key="wb_q").value == "纠纷"
    assert url_of(at) == {"period": "all", "region": "1112", "q": "纠纷"}


def test_the_team_cards_cases_link_opens_that_area(url):
    """The volunteers' team card links to the workbench with ?region=<its place>: that village, not the
    region the session had."""
    at = open_session(url, "volunteers", {"period": "all", "team": "T2"})
    assert title(at).endswith("测试市")
    link = next(x for x in at.page_link if x.proto.label == i18n.translate("vol.card.all_cases", "zh"))
    query = dict(parse_qsl(link.proto.query_string))
    assert query == {"region": "1112"}
    request(at, query, page="cases")  # what the browser asks for when the link is clicked
    assert title(at).startswith(i18n.translate("wb.title", "zh")) and title(at).endswith("乙社区")
    assert found(at) == "3" and url_of(at)["region"] == "1112"  # c03 c04 c08; the period stays "all"
    assert url_of(at)["period"] == "all"


# --- what must not change ---------------------------------------------------------------------------------------

def test_widget_changes_still_work_and_go_into_the_url(url):
    at = open_session(url, "cases", {"period": "all"})
    request(at, {**url_of(at), "region": "110"})  # an outside change first: the next clicks are still clicks
    at.selectbox(key="region_pick_110").set_value("111")
    ok(at.run())
    assert title(at).endswith("东镇") and url_of(at)["region"] == "111"
    at.text_input(key="wb_q").input("纠纷")
    ok(at.run())
    at.multiselect(key="wb_status").select("closed")
    ok(at.run())
    assert (url_of(at)["q"], url_of(at)["status"]) == ("纠纷", "closed") and found(at) == "2"  # c02 c10
    at.selectbox(key="period").set_value("last30")
    ok(at.run())
    assert url_of(at)["period"] == "last30" and at.selectbox(key="period").value == "last30"
    up = next(b for b in at.button if b.label == i18n.translate("frame.region.up", "zh"))
    up.click()
    ok(at.run())
    assert title(at).endswith("东县") and url_of(at)["region"] == "110"
    assert at.text_input(key="wb_q").value == "纠纷"  # the page's filters stay through a frame click
    assert url_of(at)["q"] == "纠纷"


def test_unchanged_url_keeps_the_session(url):
    """A rerun with exactly the URL the app wrote (every widget click) leaves the session's choices alone,
    even when the session changed the region without a click on the URL (a ranking row, ui/lists.py)."""
    at = open_session(url, "cases", {"period": "all", "region": "110"})
    at.session_state["region_code"] = "111"  # what state.set_region does before st.rerun
    request(at, url_of(at))
    assert title(at).endswith("东镇") and url_of(at)["region"] == "111"


def test_invalid_or_foreign_values_are_still_refused(url):
    """A value in a later URL is validated as on a first visit: a region outside the jurisdiction or unknown,
    a status that does not exist, is dropped with the notice."""
    at = open_session(url, "cases", {"period": "all"}, role="staff", scope="110")
    assert title(at).endswith("东县")
    request(at, {**url_of(at), "region": "120"})  # 西县: real, not this user's
    assert title(at).endswith("东县") and url_of(at)["region"] == "110"
    assert i18n.translate("frame.region.outside", "zh") in toasts(at)
    request(at, {**url_of(at), "region": "1211"})  # 丙村, under 西县
    assert title(at).endswith("东县") and i18n.translate("frame.region.outside", "zh") in toasts(at)
    request(at, {**url_of(at), "region": "<script>"})
    assert title(at).endswith("东县") and i18n.translate("frame.bad_param", "zh", name="region") in toasts(at)
    request(at, {**url_of(at), "status": "closed,nonsense", "period": "yesterday"})
    assert at.multiselect(key="wb_status").value == ["closed"]
    assert i18n.translate("frame.bad_param", "zh", name="status") in toasts(at)
    assert i18n.translate("frame.bad_param", "zh", name="period") in toasts(at)
    assert url_of(at)["status"] == "closed" and url_of(at).get("period") is None  # the default: left out
    request(at, {**url_of(at), "region": "1111"})  # 甲村, inside: honoured
    assert title(at).endswith("甲村") and not toasts(at)


# --- no leaks between pages -------------------------------------------------------------------------------------

def test_the_workbench_search_stays_on_the_workbench(url):
    at = open_session(url, "cases", {"period": "all", "q": "漏水"})
    assert at.text_input(key="wb_q").value == "漏水"
    at.switch_page("pages/staffing.py")
    request(at, {})  # the navigation sends no query string
    assert "q" not in url_of(at)
    at.segmented_control(key="stf_view").set_value("find")
    ok(at.run())
    assert at.text_input(key="stf_q").value == "" and "q" not in url_of(at)
    at.switch_page("pages/cases.py")
    request(at, {})  # and back: the workbench's search is still there
    assert at.text_input(key="wb_q").value == "漏水" and url_of(at)["q"] == "漏水"


def test_the_supervision_view_stays_on_supervision(url):
    at = open_session(url, "supervision", {"period": "all", "view": "steps"})
    assert at.segmented_control(key="sc_view").value == "steps"
    request(at, {**url_of(at), "view": "find"}, page="staffing")  # a link to the staffing page's find view
    assert at.segmented_control(key="stf_view").value == "find" and url_of(at)["view"] == "find"
    assert at.text_input(key="stf_q").value == ""
    at.switch_page("pages/supervision.py")
    request(at, {})
    assert at.segmented_control(key="sc_view").value == "steps" and url_of(at)["view"] == "steps"
    at.switch_page("pages/staffing.py")
    request(at, {})
    assert at.segmented_control(key="stf_view").value == "find"


def test_a_first_visit_through_the_navigation_takes_no_other_pages_values(url):
    """Supervision's ``view`` and the workbench's ``q`` are not the staffing page's, on its first visit."""
    at = open_session(url, "supervision", {"period": "all", "view": "orders"})
    at.switch_page("pages/cases.py")
    request(at, {"q": "漏水"})
    at.switch_page("pages/staffing.py")
    request(at, {})
    assert at.segmented_control(key="stf_view").value == "regions"
    assert "view" not in url_of(at) and "q" not in url_of(at)
