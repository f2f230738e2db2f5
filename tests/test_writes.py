"""Write paths keep the summaries exact: after a write, the incrementally refreshed summary tables equal a
rebuild from scratch (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from data_access.queries import overview
from data_access.core import counting
from data_access.core.filters import CaseFilter
from data_access.core.schema import case_summary, case_summary_county
from data_access.core.rollups import rebuild_case_summary
from data_access.writes.workflow import NewCase, WriteRefused, report_case

NOW = datetime(2026, 3, 20, 12, 0)


def _rows(engine, table):
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(table)).all())


@pytest.fixture
def engine(loaded_engine):
    return loaded_engine


def test_report_case_updates_counts_and_summaries_exactly(engine):
    before = counting.case_kpis(engine, CaseFilter(region_code="100", date_from=date(2026, 3, 1),
                                                   date_to=date(2026, 3, 31)), NOW)
    report_case(engine, NewCase(case_no="n1", grid_code="G3-01", category="B", source="hotline", title="新案件",
                                reported_at=datetime(2026, 3, 20, 10, 0)))
    after = counting.case_kpis(engine, CaseFilter(region_code="100", date_from=date(2026, 3, 1),
                                                  date_to=date(2026, 3, 31)), NOW)
    assert (after.cases, after.open, after.open_overdue) == (before.cases + 1, before.open + 1, before.open_overdue)
    west = counting.case_kpis(engine, CaseFilter(region_code="G3"), NOW)
    assert west.cases == 4  # c05, c06, c09 and the new one on the micro-grid
    incremental = (_rows(engine, case_summary), _rows(engine, case_summary_county))
    with engine.begin() as conn:
        rebuild_case_summary(conn)
    assert incremental == (_rows(engine, case_summary), _rows(engine, case_summary_county))


@pytest.mark.parametrize("change, message", [
    ({"grid_code": "nope"}, "grid_code"),
    ({"category": "Z"}, "category"),
    ({"source": "fax"}, "source"),
    ({"title": "  "}, "title"),
    ({"case_no": "c01"}, "already exists"),
    ({"title": "长" * 201}, "title: 201 characters, at most 200"),
    ({"title": "x" * 10_000_000}, "title: 10000000 characters, at most 200"),
    ({"description": "述" * 5001}, "description: 5001 characters, at most 5000"),
    ({"reporter_name": "王" * 101}, "reporter_name: 101 characters, at most 100"),
])
def test_bad_writes_are_refused_and_write_nothing(engine, change, message):
    base = dict(case_no="n2", grid_code="G1", category="A", source="patrol", title="t",
                reported_at=datetime(2026, 3, 20, 10, 0))
    summary_before = _rows(engine, case_summary)
    with pytest.raises(WriteRefused, match=message):
        report_case(engine, NewCase(**{**base, **change}))
    assert counting.case_kpis(engine, CaseFilter(region_code="100"), NOW).cases == 10
    assert _rows(engine, case_summary) == summary_before
