"""The ranking's overdue backlog reads its two branches through the indexes meant for them whatever the planner's
statistics (issue 24): the cases still open now through the open-case partial index ix_cases_open_by_due (a range
on the due time, covering), the cases closed late through ix_cases_late_closed (a range on the closing time); and
the month's cases closed after the cut-off through the parent region's (code, report time) index.  At
1.07 M cases a full ANALYZE once made SQLite read the still-open cases of a county by a skip-scan of
ix_cases_township_reported (2.5 s instead of 31 ms).  Checked on the ranking fixture under exact (full ANALYZE),
sampled and no statistics, and on SQLite under the statistics of the 1.07 M dataset itself (its sqlite_stat1
rows after a full ANALYZE, below); PostgreSQL plans with ``enable_seqscan = off``, as the fixture is too small
to need an index.  The same checks run at full scale: ``python -m bench plans`` (bench/plans.py)."""
from __future__ import annotations

from datetime import datetime

import pytest

from sqlalchemy import select

from bench import plans
from data_access.core.schema import cases
from data_access.ingest.loader import load_dataset
from data_access.queries.supervision import ranking
from tests.conftest import FIXTURES, fresh_engine

NOW = datetime(2026, 3, 20, 12, 0)

# sqlite_stat1 of the cases table of bench/full.db (1,071,000 cases) after ``PRAGMA analysis_limit=0; ANALYZE``:
# exact statistics at full scale, planned with on the fixture.
FULL_STATS = (
    ("cases", "ix_cases_changed", "1071000 1071000"),
    ("cases", "ix_cases_county_cat_reported", "1071000 214200 15300 1"),
    ("cases", "ix_cases_county_reported", "1071000 214200 1 1 1"),
    ("cases", "ix_cases_department", "1071000 19473 1"),
    ("cases", "ix_cases_due", "1071000 2"),
    ("cases", "ix_cases_grid", "1071000 85"),
    ("cases", "ix_cases_late", "1071000 3"),
    ("cases", "ix_cases_late_closed", "68614 1 1 1 1 1 1 1 1 1"),
    ("cases", "ix_cases_open", "4362 1 1 1 1 1 1 1"),
    ("cases", "ix_cases_open_by_due", "4362 2 1 1 1 1 1 1 1 1"),
    ("cases", "ix_cases_reported", "1071000 1"),
    ("cases", "ix_cases_reported_cover", "1071000 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"),
    ("cases", "ix_cases_returns", "24733 12367"),
    ("cases", "ix_cases_same_matter", "1071000 2 2 2 1 1"),
    ("cases", "ix_cases_top_grid_reported", "1071000 111 1"),
    ("cases", "ix_cases_township_reported", "1071000 12034 1"),
    ("cases", "ix_cases_unrated_closed", "159555 1"),
    ("cases", "ix_cases_village_reported", "1071000 509 1"),
    ("cases", "sqlite_autoindex_cases_1", "1071000 1"),
)


def checks(engine):
    return plans.ranking_checks(engine, county="110", month="2026-02", now=NOW)


HISTORY = 3000  # closed cases added to 甲镇 (东县), each a copy of a01 (closed on time in February)


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def url(request, tmp_path_factory):
    """The ranking fixture with a closed history: 3,000 cases of 甲镇 closed on time, as a real county's years of
    closed cases beside its few open ones.  They change no backlog; they make every path through a region's
    index cost what the region's history holds, on PostgreSQL too, where the plan follows the cost."""
    e = fresh_engine(request.param, tmp_path_factory.mktemp("ranking_plan"))
    load_dataset(FIXTURES / "ranking", e)
    with e.begin() as conn:
        a01 = conn.execute(select(cases).where(cases.c.case_no == "a01")).mappings().one()
        conn.execute(cases.insert(), [{**a01, "case_no": f"h{i:05d}"} for i in range(HISTORY)])
    out = e.url.render_as_string(hide_password=False)
    e.dispose()
    return out


def test_the_fixture_has_the_units_the_checks_name(url):
    from data_access.core.db import get_engine

    assert [c.name for c in checks(get_engine(url))] == [
        f"{q}: {units}" for units in ("townships of 东县", "villages of 甲镇", "counties of 测试市")
        for q in ("ranking backlog, still open", "ranking backlog, closed late",
                  "ranking month, closed after the cut-off")]


def test_each_branch_reads_its_index_under_every_kind_of_statistics(url):
    rows = plans.run(url, checks=checks, stats=("exact", "sampled", "none"), pg_settings=("enable_seqscan = off",))
    assert len(rows) == 27
    bad = [(r["check"], r["stats"], r["plan"]) for r in rows if not r["ok"]]
    assert bad == []


def test_under_the_full_datasets_statistics_sqlite_reads_the_open_cases_by_due_time(url):
    if not url.startswith("sqlite"):
        pytest.skip("sqlite_stat1 is SQLite's")
    rows = plans.run(url, checks=checks, stats=(FULL_STATS,))
    plans_seen = {r["check"]: r["plan"] for r in rows}
    assert "COVERING INDEX ix_cases_open_by_due (due_at<?)" in plans_seen[
        "ranking backlog, still open: townships of 东县"]
    assert [(r["check"], r["plan"]) for r in rows if not r["ok"]] == []


def test_the_backlog_is_the_same_through_the_new_path(url):
    """The still-open branch counts with the open-case form of the condition (no closed_at: the contract); the
    numbers are the fixture README's (tests/test_ranking.py checks them in the ranking)."""
    from data_access.core.db import get_engine
    from data_access.core.filters import Scope, open_condition, open_overdue_at_condition
    from data_access.core.schema import cases
    from sqlalchemy import func, select

    e = get_engine(url)
    r = ranking._resolve_parent(e, Scope(), "township", "110")
    ats = [ranking._as_of("2026-02", NOW), ranking._as_of("2026-01", NOW)]
    with e.connect() as conn:
        got = ranking._backlog_counts(conn, r, "township", ats).set_index("code")
        # the oracle: every case of the county tested with the full definition, no index tricks
        for i, at in enumerate(ats):
            want = dict(conn.execute(select(cases.c.township_code, func.count()).where(
                cases.c.county_code == "110", open_overdue_at_condition(at)).group_by(cases.c.township_code)).all())
            assert {k: int(v) for k, v in got[f"b{i}"].items() if v} == want
        assert conn.execute(select(func.count()).where(open_condition(), cases.c.closed_at.is_not(None))).scalar() == 0


def test_the_suite_report_puts_a_regressed_plan_first_and_loud(tmp_path):
    """bench/report.py: the plans part's result with one plan off its index is listed above the table, in bold,
    and ``plan_regressions`` (which makes the suite exit 1) names it."""
    import json

    from bench import report

    rows = [{"check": "ranking backlog, still open: townships of 娄星区", "stats": "exact", "ok": False,
             "plan": "SEARCH cases USING INDEX ix_cases_township_reported (ANY(township_code) AND reported_at<?)",
             "ms": [2500.0, 1500.0]},
            {"check": "ranking backlog, closed late: townships of 娄星区", "stats": "exact", "ok": True,
             "plan": "SEARCH cases USING INDEX ix_cases_late_closed (closed_at>?)", "ms": [0.7, 0.7]}]
    (tmp_path / "plans-full-sqlite.json").write_text(json.dumps(rows, ensure_ascii=False))
    assert report.plan_regressions(tmp_path) == [
        "full SQLite · ranking backlog, still open: townships of 娄星区 · exact statistics: SEARCH cases USING INDEX "
        "ix_cases_township_reported (ANY(township_code) AND reported_at<?)"]
    section = report.plans_section(tmp_path)
    assert section[2] == "**1 plan(s) left their intended index:**"
    assert "| full | SQLite | ranking backlog, still open: townships of 娄星区 | exact | **REGRESSED** | 2500.0 | 1500.0 |" \
        in section
    assert "| full | SQLite | ranking backlog, closed late: townships of 娄星区 | exact | ok | 0.7 | 0.7 |" in section


def test_the_backlog_by_child_region_reads_the_open_cases_not_the_citys_every_case(url):
    """The supervision centre's backlog by county at the city (issue 24): grouped by the bare county column,
    SQLite walked ix_cases_county_cat_reported over every case of the city to spare the sort of the open ones
    (2.6 s of CPU at skewed-full); grouped by ``no_index(county_code)`` it reads an open-case partial index."""
    checks = lambda e: plans.backlog_checks(e, county="110", now=NOW)  # noqa: E731
    stats = ("exact", "sampled", "none") + ((FULL_STATS,) if url.startswith("sqlite") else ())
    rows = plans.run(url, checks=checks, stats=stats, pg_settings=("enable_seqscan = off",))
    assert len(rows) == len(stats)
    assert [(r["stats"], r["plan"]) for r in rows if not r["ok"]] == []
