"""The outcome rates (三率: response, resolution, satisfaction; core/metrics.py) on the tiny fixture, by hand, on
SQLite and PostgreSQL, with the selected region against its siblings.

tests/fixtures/tiny (README) with one change made here: LD20240620000010 (neighbour, 72 h allowed, so a 受理 limit
of 10 % = 7.2 h = 7 h 12 min) is accepted at 16:13, 7 h 13 min after its report: late.  The 受理 limits and times:

| case | allowed | 受理 limit | accepted after | within |
|---|---|---|---|---|
| 001 | 72 h | 7.2 h | — (closed on the spot, never accepted) | left out |
| 002 | 24 h | 2.4 h | 0.5 h | yes |
| 003 | 120 h | 12 h | 1 h | yes |
| 004 | 72 h | 7.2 h | 1 h | yes |
| 005 | 24 h | 2.4 h | — (on the spot) | left out |
| 006 | 120 h | 12 h | 0 h (``+09:00`` = 09:00 local) | yes |
| 007 | 72 h | 7.2 h | 1 h | yes |
| 008 | 24 h | 2.4 h | 0.5 h | yes |
| 009 | 120 h | 12 h | 1 h | yes |
| 010 | 72 h | 7.2 h | 7 h 13 min | **no** |
| 011 | 24 h | 2.4 h (06-28 20:00 → 22:24) | not accepted (open) | **no** once 22:24 has passed |
| 012 | 72 h | 7.2 h (06-30 10:00 → 17:12) | not accepted (open) | **no** once 17:12 has passed |

- response (as of NOW, 07-10, both 011 and 012 past their 受理 limit: failures in the denominator): 7 of 8 + 2 =
  7 of 10 (70 %); 娄星区 (001–004, 007–010) 6 of 7; 新化县 (005, 006, 011, 012) 1 of 1 + 2 = 1 of 3.  Earlier
  clocks: at 06-28 21:00 neither limit has passed (7 of 8); at 06-30 12:00 only 011's (7 of 9).
- resolution: closed 001–006; 006 rated 2 (unsatisfied), no case reopened → 5 of 12 (41.7 %) beside the closure
  rate 6 of 12; 娄星区 001–004 → 4 of 8; 新化县 005 → 1 of 4.
- satisfaction: rated 001 5, 002 3, 003 4, 005 5, 006 2 → 4–5: 3 of 5 (60 %); 娄星区 2 of 3; 新化县 1 of 2.
- siblings: 娄星区 against 新化县 (its only sibling) and back; 乐坪街道 (001, 002, 003, 007, 008, 009) against 花山街道
  (004, 010: response 1 of 2, resolution 1 of 2, no rating → no satisfaction rate); the city 娄底市 is the only
  root: no siblings.
"""
from __future__ import annotations

import shutil
from datetime import date, datetime

import pandas as pd
import pytest

from data_access.core import counting
from data_access.core.filters import CaseFilter
from data_access.core.metrics import resolution_rate, response_rate, satisfaction_rate
from data_access.queries import overview
from tests.conftest import FIXTURES, fresh_engine

NOW = datetime(2024, 7, 10, 12, 0)
ALL = CaseFilter(region_code="431300", date_from=date(2024, 1, 1), date_to=date(2024, 6, 30))
SOURCES = ("patrol", "hotline", "walk_in", "online", "meeting", "petition", "other")   # every one: no roll-up
LATE_ACCEPT = ("2024-06-20T11:00:00+08:00", "2024-06-20T16:13:00+08:00")


def tiny_late_accept(tmp_path):
    """The tiny fixture with case 010 accepted late (its cases.csv row and its accept event)."""
    d = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "tiny", d)
    for name in ("cases.csv", "case_events.csv"):
        p = d / name
        lines = p.read_text(encoding="utf-8").split("\n")
        p.write_text("\n".join(ln.replace(*LATE_ACCEPT) if ln.startswith("LD20240620000010,") else ln
                               for ln in lines), encoding="utf-8")
    return d


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def engine(request, tmp_path_factory):
    from data_access.ingest.loader import load_dataset

    tmp = tmp_path_factory.mktemp("rates")
    eng = fresh_engine(request.param, tmp)
    load_dataset(tiny_late_accept(tmp), eng)
    yield eng
    eng.dispose()


def test_the_definitions_divide_as_written():
    assert response_rate(7, 8) == 0.875 and response_rate(7, 8, 2) == 0.7
    assert resolution_rate(5, 12) == pytest.approx(5 / 12)
    assert satisfaction_rate(3, 5) == 0.6
    assert response_rate(0, 0) is None and satisfaction_rate(0, 0) is None


def test_migration_0023_makes_the_columns_and_the_index_of_the_schema(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    from data_access.core.schema import metadata

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if "case_summary" in repr(d) or "ix_cases_reported_cover" in repr(d)] == []
    cover = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("cases")}["ix_cases_reported_cover"]
    assert cover[-3:] == ["accept_hours", "allowed_hours", "n_reopens"]


def test_the_three_rates_of_the_whole_city(engine):
    k = counting.case_kpis(engine, ALL, NOW)
    assert (k.cases, k.closed, k.accepted, k.accepted_in_time, k.resolved, k.rated, k.satisfied) == \
        (12, 6, 8, 7, 5, 5, 3)
    assert k.unaccepted_late == 2                    # 011, 012: open, never accepted, past their 受理 limits
    assert k.response_rate == pytest.approx(7 / 10)
    assert k.resolution_rate == pytest.approx(5 / 12)
    assert k.closure_rate == pytest.approx(6 / 12)   # shown beside it: 006 closed but rated 2
    assert k.satisfaction_rate == pytest.approx(3 / 5)


def test_the_raw_path_and_the_roll_up_give_the_same_rates(engine):
    # 2024-01-05 .. 2024-06-20: whole months from the roll-up, the edge days (01-05.., ..06-20) from cases
    f = ALL.with_(date_from=date(2024, 1, 5), date_to=date(2024, 6, 20))
    k = counting.case_kpis(engine, f, NOW)
    raw = counting.case_kpis(engine, f.with_(sources=SOURCES), NOW)
    assert raw == k
    assert (k.cases, k.accepted, k.accepted_in_time, k.resolved) == (10, 8, 7, 5)   # 011, 012 after 06-20
    assert k.unaccepted_late == 0


@pytest.mark.parametrize(("now", "late", "rate"), [
    (datetime(2024, 6, 28, 21, 0), 0, 7 / 8),     # 011's limit (22:24) not yet passed, 012 not yet reported
    (datetime(2024, 6, 28, 22, 24), 0, 7 / 8),    # exactly at 011's limit: still within it
    (datetime(2024, 6, 28, 22, 25), 1, 7 / 9),    # 011 past its limit: a failure before anyone accepts it
    (datetime(2024, 6, 30, 12, 0), 1, 7 / 9),     # 012 reported 10:00, within its limit until 17:12
    (datetime(2024, 6, 30, 17, 13), 2, 7 / 10),   # both past
])
def test_an_open_case_not_accepted_past_its_limit_is_a_failure_as_of_now(engine, now, late, rate):
    """The response rate's denominator takes in the open, unaccepted cases whose 受理 limit has passed at ``now``:
    the same count in the headline numbers, the roll-up path and the raw path (edge days), the siblings
    comparison and the child table's counts."""
    k = counting.case_kpis(engine, ALL, now)
    assert (k.accepted, k.accepted_in_time, k.unaccepted_late) == (8, 7, late)
    assert k.response_rate == pytest.approx(rate)
    raw = counting.case_kpis(engine, ALL.with_(sources=SOURCES), now)   # counted from cases, not the roll-up
    assert (raw.accepted, raw.unaccepted_late) == (8, late) and raw.response_rate == pytest.approx(rate)
    # 新化县 (011, 012 and the accepted 006) against 娄星区: 1 of 1 + late
    c = overview.outcome_rates_vs_siblings(engine, ALL.with_(region_code="431302"), now)
    assert c.siblings_mean["response_rate"] == pytest.approx(1 / (1 + late))
    by_child = counting.case_counts(engine, ALL, ("child",), now)
    assert dict(zip(by_child["child"], by_child["n_unaccepted_late"])) == {"431302": 0, "431322": late}
    assert dict(zip(by_child["child"], by_child["open_unaccepted"])) == {"431302": 0, "431322": 2}


def test_the_ranking_and_the_bulletin_count_the_unaccepted_past_their_limit(engine):
    """June 2024, the townships of 新化县: 011 and 012 (G5's township) open and unaccepted, past their limits at NOW:
    response 0 of 0 + 2 = 0 %, a component of Wilson(0, 2) = 0 when weighed alone; before 011's limit (06-28 21:00)
    no denominator, no rate.  The bulletin of 新化县 for June: 0 of 2 as well."""
    from data_access.core.filters import Scope
    from data_access.queries.supervision.ranking import ScoreWeights, bulletin_data, monthly_ranking

    scope = Scope(None, "431322")
    now_rows = monthly_ranking(engine, scope, "2024-06", "township", None, ScoreWeights(0, 0, 0, 0, 1, 0, 0), 1, NOW)
    rate = {r["code"]: (r["response_rate"], r["score"]) for r in now_rows.to_dict("records") if r["cases"] > 0}
    assert list(rate.values()) == [(0.0, 0.0)]
    early = monthly_ranking(engine, scope, "2024-06", "township", None, ScoreWeights(0, 0, 0, 0, 1, 0, 0), 1,
                            datetime(2024, 6, 28, 21, 0))
    assert all(pd.isna(v) for v in early.loc[early["cases"] > 0, "response_rate"])
    b = bulletin_data(engine, scope, "2024-06", "township", None, min_cases=1, now=NOW)
    assert (b.kpis.accepted, b.kpis.unaccepted_late, b.kpis.response_rate) == (0, 2, 0.0)


def test_a_county_against_its_sibling(engine):
    c = overview.outcome_rates_vs_siblings(engine, ALL.with_(region_code="431302"), NOW)
    assert c.level == "county" and c.siblings == ("431322",)
    assert c.own == pytest.approx({"response_rate": 6 / 7, "resolution_rate": 4 / 8, "satisfaction_rate": 2 / 3})
    assert c.siblings_mean == pytest.approx({"response_rate": 1 / 3, "resolution_rate": 1 / 4,
                                             "satisfaction_rate": 1 / 2})
    back = overview.outcome_rates_vs_siblings(engine, ALL.with_(region_code="431322"), NOW)
    assert back.siblings == ("431302",)
    assert back.siblings_mean == pytest.approx(c.own)


def test_a_township_against_a_sibling_without_ratings(engine):
    c = overview.outcome_rates_vs_siblings(engine, ALL.with_(region_code="431302001"), NOW)
    assert c.siblings == ("431302002",)
    assert c.own == pytest.approx({"response_rate": 5 / 5, "resolution_rate": 3 / 6, "satisfaction_rate": 2 / 3})
    assert c.siblings_mean["response_rate"] == pytest.approx(1 / 2)    # 010 late, 004 in time
    assert c.siblings_mean["resolution_rate"] == pytest.approx(1 / 2)
    assert c.siblings_mean["satisfaction_rate"] is None and c.siblings_with["satisfaction_rate"] == 0


def test_the_mean_weighs_each_sibling_the_same(engine):
    # 石井社区 (G1, G2: 001 002 007 008) against 长青 (G3: 003 009) and no one else: one sibling, its own rate
    c = overview.outcome_rates_vs_siblings(engine, ALL.with_(region_code="431302001002"), NOW)
    assert c.siblings == ("431302001001",)
    assert c.siblings_mean["resolution_rate"] == pytest.approx(2 / 4)
    # the city: the only root, no siblings; a county's staff: none inside their jurisdiction
    city = overview.outcome_rates_vs_siblings(engine, ALL, NOW)
    assert city.siblings == () and city.siblings_mean["response_rate"] is None
    assert city.own["resolution_rate"] == pytest.approx(5 / 12)
    staff = overview.outcome_rates_vs_siblings(engine, ALL.with_(scope_code="431302", region_code="431302"), NOW)
    assert staff.siblings == () and staff.own["response_rate"] == pytest.approx(6 / 7)


def test_the_ranking_weighs_the_rates_when_asked(engine):
    """June 2024, the townships of 娄星区: 乐坪街道 007 008 009 (accepted in time, 3 of 3, all open), 花山街道 010
    (accepted late, 0 of 1).  Default weights: closure 0 of 3 / 0 of 1 (Wilson lower bound 0), backlog 3 of 3 / 1 of
    1 overdue at the month's end (component 1 − 3/6 = 1 − 1/2 = 0.5): a tie.  Weighing only the response rate:
    Wilson lower bound of 3/3 = 0.4385 against 0 of 1 = 0."""
    from data_access.core.filters import Scope
    from data_access.queries.supervision.ranking import ScoreWeights, monthly_ranking, wilson_interval

    scope = Scope(None, "431302")
    default = monthly_ranking(engine, scope, "2024-06", "township", None, ScoreWeights(), 1, NOW)
    assert dict(zip(default["name"], default["rank"])) == {"乐坪街道": 1, "花山街道": 1}
    by_rate = monthly_ranking(engine, scope, "2024-06", "township", None, ScoreWeights(0, 0, 0, 0, 1, 0, 0), 1, NOW)
    rows = {r["name"]: r for r in by_rate.to_dict("records")}
    assert (rows["乐坪街道"]["rank"], rows["花山街道"]["rank"]) == (1, 2)
    assert rows["乐坪街道"]["response_rate"] == 1.0 and rows["花山街道"]["response_rate"] == 0.0
    assert rows["乐坪街道"]["score"] == pytest.approx(wilson_interval(3, 3)[0]) == pytest.approx(0.4385, abs=1e-4)
    assert rows["花山街道"]["score"] == 0.0
    assert rows["乐坪街道"]["resolution_rate"] == 0.0 and pd.isna(rows["乐坪街道"]["satisfaction_rate"])
    # a weight on a rate nobody has (no rating in June): no score, not ranked
    none = monthly_ranking(engine, scope, "2024-06", "township", None, ScoreWeights(0, 0, 0, 0, 0, 0, 1), 1, NOW)
    assert set(none["reason"]) == {"no_score"}


def test_the_bulletin_shows_the_rates(engine):
    """The bulletin of 娄星区's townships, March 2024 (no case) against June: the summary's rows (ui/bulletin.py)."""
    from data_access.core.filters import Scope
    from data_access.queries.supervision.ranking import bulletin_data
    from ui.bulletin import _summary_rows, bulletin_html

    b = bulletin_data(engine, Scope(None, "431302"), "2024-02", "township", None, min_cases=1, now=NOW)
    # February: 003 (乐坪, rated 4, accepted in 1 h of 12) and 004 (花山, unrated, 1 h of 7.2), both closed;
    # January: 001 (on the spot, rated 5) and 002 (rated 3, 0.5 h of 2.4)
    assert (b.kpis.response_rate, b.kpis.resolution_rate, b.kpis.satisfaction_rate) == (1.0, 1.0, 1.0)
    assert (b.prev_kpis.response_rate, b.prev_kpis.resolution_rate, b.prev_kpis.satisfaction_rate) == (1.0, 1.0, 0.5)
    rows = {label: (cur, prev) for label, cur, prev, _kind in _summary_rows(b, "zh")}
    assert rows["满意率"] == (1.0, 0.5) and rows["解决率"] == (1.0, 1.0) and rows["响应率"] == (1.0, 1.0)
    assert {label for label, *_ in _summary_rows(b, "en")} >= {"Response rate", "Resolution rate", "Satisfaction rate"}
    page = bulletin_html(b, "zh")
    assert "满意率" in page and "50.0%" in page


def test_a_reopened_case_is_not_resolved_until_and_after_it_closes_again(engine):
    # (last in the file: it changes the module's database)
    from data_access.writes.workflow import close_case, feedback_case, reopen_case

    k0 = counting.case_kpis(engine, ALL, NOW)
    reopen_case(engine, "LD20240110000002", datetime(2024, 7, 1, 9), note="未解决")
    k1 = counting.case_kpis(engine, ALL, NOW)
    assert (k1.closed, k1.resolved, k1.rated) == (k0.closed - 1, k0.resolved - 1, k0.rated - 1)
    feedback_case(engine, "LD20240110000002", datetime(2024, 7, 2, 9))
    close_case(engine, "LD20240110000002", datetime(2024, 7, 2, 10), "village", satisfaction=5)
    k2 = counting.case_kpis(engine, ALL, NOW)
    # closed again and rated 5, but it was reopened: closed, rated and satisfied, not resolved
    assert (k2.closed, k2.resolved, k2.rated, k2.satisfied) == (k0.closed, k0.resolved - 1, k0.rated, k0.satisfied + 1)


# --- the Overview (AppTest) ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_the_overview_shows_the_three_rates_against_the_siblings(kind, tmp_path, monkeypatch):
    """The tiny fixture as it is (010 accepted in time): 娄星区 response 7 of 7, resolution 4 of 8, satisfaction
    2 of 3; its sibling 新化县 1 of 1 + 2 open unaccepted past their limits = 1 of 3, 1 of 4, 1 of 2.  The city
    alone (8 of 8 + 2 = 80 %): no siblings.  Chinese, then English."""
    from tests.conftest import open_app_page, serve_fixture

    url = serve_fixture(kind, tmp_path, monkeypatch, "tiny", NOW)
    at = open_app_page(url, "overview", {"period": "all", "region": "431302"})
    metric = {m.label: m.value for m in at.metric}
    assert (metric["响应率"], metric["解决率"], metric["满意率"], metric["办结率"]) == \
        ("100.0%", "50.0%", "66.7%", "50.0%")
    captions = [c.value for c in at.caption]
    assert [c for c in captions if c.startswith("同级平均")] == ["同级平均 33.3%", "同级平均 25.0%", "同级平均 50.0%"]
    assert any("与 1 个同级区域的平均值比较" in c for c in captions)
    city = open_app_page(url, "overview", {"period": "all"}, lang="en")
    metric = {m.label: m.value for m in city.metric}
    assert (metric["Response rate"], metric["Resolution rate"], metric["Satisfaction rate"]) == \
        ("80.0%", "41.7%", "60.0%")
    captions = [c.value for c in city.caption]
    assert not [c for c in captions if c.startswith("Sibling average")]
    assert any(c.startswith("No siblings") for c in captions)
