"""The repeat-case view's counts of stored groups and its cases reported again after closing start from the few
rows they are about (the groups, looked up case by case; the re-reported cases through the partial index
ix_cases_rereported_closed), never from a county's cases: at 1.07 M cases SQLite took the county's index for
both, ~250 ms each of a county's view (248 → 1 ms and 251 → 2 ms after).  Checked on the ranking fixture (county
110) under exact, sampled and no statistics, and on SQLite under the 1.07 M dataset's own statistics; the same
checks run at full scale in ``python -m bench plans`` (bench/plans.duplicate_checks).  The groups' counts went
wrong on this fixture too before the fix (SQLite scanned the cases and probed the groups); the re-reported
cases' county index was taken only on the 1.07 M file itself (the fixture plans the partial index either way), so
that regression is the benchmark's to catch."""
from __future__ import annotations

from datetime import datetime

import pytest

from sqlalchemy import select, update

from bench import plans
from data_access.core.schema import cases
from data_access.ingest.loader import load_dataset
from tests.conftest import FIXTURES, fresh_engine
from tests.test_ranking_plan import FULL_STATS

NOW = datetime(2026, 3, 20, 12, 0)


def checks(engine):
    return plans.duplicate_checks(engine, county="110", now=NOW)


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def url(request, tmp_path_factory):
    e = fresh_engine(request.param, tmp_path_factory.mktemp("duplicates_plan"))
    load_dataset(FIXTURES / "ranking", e)
    with e.begin() as conn:   # a few closed cases reported again, as every real place has
        conn.execute(update(cases).where(cases.c.case_no.in_(
            select(cases.c.case_no).where(cases.c.status == "closed").order_by(cases.c.case_no).limit(3)
            .scalar_subquery())).values(rereported=True))
    out = e.url.render_as_string(hide_password=False)
    e.dispose()
    return out


def test_each_question_starts_from_its_few_rows_under_every_kind_of_statistics(url):
    rows = plans.run(url, checks=checks, stats=("exact", "sampled", "none"), pg_settings=("enable_seqscan = off",))
    assert len(rows) == 9
    assert [(r["check"], r["stats"], r["plan"]) for r in rows if not r["ok"]] == []


@pytest.mark.parametrize("new_index_stats", [(), (("cases", "ix_cases_rereported_closed", "5408 1"),)],
                         ids=["as migrated (no row for the new index)", "analysed"])
def test_under_the_full_datasets_statistics_too(url, new_index_stats):
    """The 1.07 M dataset's statistics, as migration 0026 leaves them (no row for its index: the case where SQLite
    took the county's index) and after an ANALYZE."""
    if not url.startswith("sqlite"):
        pytest.skip("sqlite_stat1 is SQLite's")
    rows = plans.run(url, checks=checks, stats=((*FULL_STATS, *new_index_stats),))
    seen = {r["check"]: r["plan"] for r in rows}
    assert "ix_cases_rereported_closed (closed_at>? AND closed_at<?)" in seen[
        "repeat cases, reported again after closing: a county"]
    assert [(r["check"], r["plan"]) for r in rows if not r["ok"]] == []
