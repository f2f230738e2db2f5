"""Every headline number (st.metric) on every page and view carries a help text (ⓘ) in the page's language, and
the help texts state the definitions data_access computes (the denominator of a rate, the date that puts a case
in the period, whether the period applies at all, the limits and thresholds of metrics.py).

Opened as a city-wide leader on the hand-computable fixture (tests/fixtures/metrics, now = 2026-03-20 12:00),
SQLite only, in Chinese and in English: every page and view of bench/visits.py plus the workbench's orders tab
(the fixture has some of everything, so every metric row is shown).  About 15 s."""
from __future__ import annotations

import inspect
import re
from datetime import datetime

import pytest

from data_access.queries.supervision import process
from data_access.core.metrics import BOUNCE_RETURNS, FAST_CLOSE_HOURS, STEP_SHARES
from tests.conftest import ROOT, serve_fixture, sign_in
from ui.i18n import translate

NOW = datetime(2026, 3, 20, 12, 0)
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# (page, query, session state) — every page and view, as bench/visits.py lists them, on the fixture's codes
VISITS: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("overview", {}, {}),
    ("overview", {"region": "110"}, {}),
    ("cases", {}, {}),
    ("cases", {"overdue": "open", "sort": "overdue_desc"}, {}),
    ("cases", {"case": "c08"}, {}),
    ("cases", {}, {"wb_tab": "wb.tab.orders"}),
    *[("supervision", {"view": v}, {})
      for v in ("backlog", "steps", "departments", "bounces", "orders", "integrity", "duplicates", "callbacks",
                "ranking")],
    ("warnings", {}, {}),
    ("rules", {}, {}),
    *[("staffing", {"view": v}, {}) for v in ("regions", "structure", "workload", "find")],
    ("staffing", {"region": "G3"}, {}),
    *[("volunteers", {"view": v}, {}) for v in ("overview", "activities", "teams")],
    ("volunteers", {"team": "T1"}, {}),
    *[("assets", {"view": v}, {}) for v in ("portfolio", "money", "visitors", "projects")],
    ("assets", {"project": "DX-P1"}, {}),
    *[("clean_units", {"view": v}, {}) for v in ("ranking", "units", "months")],
    ("clean_units", {"unit": "DX-Q1"}, {}),
    ("audit", {}, {}),
]


def _visit_id(v) -> str:
    page, query, state = v
    return "-".join([page, *(f"{k}={x}" for k, x in query.items()), *state])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        yield serve_fixture("sqlite", tmp_path_factory.mktemp("kpi_help"), mp, "metrics", NOW)


def _open(url: str, page: str, query: dict, state: dict, lang: str):
    """As conftest.open_app_page (one run straight onto the page in ``lang``), with session state set first
    (the workbench's tab is chosen by its label)."""
    from streamlit.testing.v1 import AppTest

    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), url, "leader", None)
    for k, v in query.items():
        at.query_params[k] = v
    at.session_state["lang"] = lang
    for k, v in state.items():
        at.session_state[k] = translate(v, lang)
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, (page, query, at.exception)
    assert not at.error, (page, query, [e.value for e in at.error])
    return at


@pytest.fixture(scope="module")
def rendered(served):
    """Every visit in both languages, rendered once: {(visit id, lang): [(label, value, help), …]}."""
    out = {}
    for v in VISITS:
        for lang in ("zh", "en"):
            at = _open(served, *v, lang)
            out[(_visit_id(v), lang)] = [(m.label, m.value, m.help) for m in at.metric]
    return out


def metrics_of(rendered, page_id: str, lang: str) -> dict[str, tuple[str, str]]:
    return {label: (value, help_) for label, value, help_ in rendered[(page_id, lang)]}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("visit", VISITS, ids=_visit_id)
def test_every_metric_has_a_help_in_the_page_language(rendered, visit, lang):
    shown = rendered[(_visit_id(visit), lang)]
    missing = [label for label, _v, h in shown if not (h or "").strip()]
    assert missing == [], f"metrics without a help: {missing}"
    if lang == "zh":
        assert [label for label, _v, h in shown if not CJK.search(h)] == []
    else:
        assert [(label, h) for label, _v, h in shown if CJK.search(h)] == []


def test_the_views_show_metrics_at_all(rendered):
    """The check above is only worth something where metrics are shown: with the fixture every view shows its
    metric rows except the three that have none (departments, supervision orders, ranking: tables only)."""
    empty = {vid for (vid, _lang), shown in rendered.items() if not shown}
    assert empty == {"supervision-view=departments", "supervision-view=orders", "supervision-view=ranking"}


def test_every_page_with_a_metric_is_visited():
    """A page's metrics are in its file or in the modules of its views (ui/<page>/, e.g. ui/supervision/)."""
    with_metrics = {path.stem for path in (ROOT / "pages").glob("*.py")
                    if any(".metric(" in p.read_text(encoding="utf-8")
                           for p in [path, *(ROOT / "ui" / path.stem).glob("*.py")])}
    assert with_metrics <= {page for page, _q, _s in VISITS}
    assert "supervision" in with_metrics


def test_rates_name_their_denominator_and_the_period_date(rendered):
    zh = metrics_of(rendered, "overview", "zh")
    en = metrics_of(rendered, "overview", "en")
    closure = zh["办结率"][1]
    assert "÷" in closure and "上报" in closure and "案件数" in closure.split("÷")[1]
    assert "÷ cases reported" in en["Closure rate"][1]
    on_time = zh["按时办结率"][1]
    assert "÷ 已办结" in on_time and "不晚于" in on_time
    assert "÷ closed" in en["On-time rate"][1]
    assert "÷ 已办结" in zh["就地化解率"][1]
    # open and open overdue on the Overview: cases reported in the period, their state now
    assert "所选时间内上报" in zh["在办"][1] and "当前" in zh["在办"][1]
    assert "已过办理时限" in zh["在办超期"][1]
    assert zh["在办"][1] != zh["在办超期"][1]


def test_the_backlog_says_the_period_does_not_apply(rendered):
    zh = metrics_of(rendered, "supervision-view=backlog", "zh")
    en = metrics_of(rendered, "supervision-view=backlog", "en")
    assert "不论上报时间" in zh["在办案件"][1] and "不论上报时间" in zh["在办超期"][1]
    assert "whatever their report date" in en["Open cases"][1]
    assert "÷ 在办案件" in zh["超期占比"][1]
    # the oldest open case is counted whatever the selected region's level (it used to read the child table)
    assert zh["最久积压"][0] == "19 天"


def test_step_helps_quote_each_step_share(rendered):
    zh = metrics_of(rendered, "supervision-view=steps", "zh")
    en = metrics_of(rendered, "supervision-view=steps", "en")
    for step, label_zh, label_en in (("accept", "受理", "Accept"), ("handle", "处置", "Handle")):
        share = f"{STEP_SHARES[step]:.0%}"
        assert share in zh[label_zh][1] and share in en[label_en][1]


def test_integrity_helps_quote_the_thresholds(rendered):
    zh = metrics_of(rendered, "supervision-view=integrity", "zh")
    assert f"{FAST_CLOSE_HOURS:g} 小时" in zh["异常速办"][1]
    assert "（办结数 − 存疑办结数）÷ 案件数" in zh["核实办结率"][1]
    assert "÷" in zh["官方办结率"][1]


def test_workbench_kpis_follow_its_filters(rendered):
    zh = metrics_of(rendered, "cases", "zh")
    assert "筛选" in zh["符合条件的案件"][1]
    orders = metrics_of(rendered, "cases-wb_tab", "zh")
    assert {"红牌督办", "黄牌督办", "普通督办", "已逾期"} <= set(orders)
    assert "不随时间范围" in orders["红牌督办"][1]


def test_staffing_helps(rendered):
    zh = metrics_of(rendered, "staffing-view=workload", "zh")
    assert "÷ 在岗网格员数 ÷ 期内月数" in zh["工作量中位数"][1]
    # grids without a worker are a count of grids, not the coverage ratio
    assert "÷" not in zh["无在岗网格员"][1]
    gaps = metrics_of(rendered, "staffing-view=structure", "zh")
    assert "在岗" in gaps["网格无网格员"][1]


def test_bounce_help_quotes_the_threshold_the_count_uses(rendered):
    assert inspect.signature(process.bounced_case_count).parameters["min_returns"].default == BOUNCE_RETURNS
    zh = metrics_of(rendered, "supervision-view=bounces", "zh")
    en = metrics_of(rendered, "supervision-view=bounces", "en")
    assert f"回退 {BOUNCE_RETURNS} 次及以上" in zh["反复退回案件"][1]
    assert f"returned {BOUNCE_RETURNS} or more times" in en["Cases returned twice or more"][1]


def test_metric_values_go_through_fmt():
    """A count in a metric is written by ui/fmt (万 in Chinese), never with an ad-hoc thousands separator."""
    ad_hoc = [(path.name, n, line.strip())
              for path in [*sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").rglob("*.py"))]
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if ".metric(" in line and re.search(r"\{[^{}]*:,[^{}]*\}", line)]
    assert ad_hoc == []
