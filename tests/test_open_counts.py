"""Open and open overdue cases (issue 24): counting.open_overdue_counts (open = cases − closed of the roll-ups,
overdue = open − those not yet due, read from ``now`` on) gives exactly what counting every open case gives
(counting.open_overdue_counts_from_cases, the definition), on both databases — with ``now`` on either side of a
due time and exactly on it, after the app's writes and after a sync.

The fixture (tests/fixtures/metrics/README.md) has three open cases: c06 (G3-01, 西县, due 03-02 08:00), c08 (G2,
东县, due 03-11 09:00) and c07 (G1, 东县, reported 03-19 12:00, due 03-22 12:00).
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from data_access.core import counting
from data_access.core.filters import CaseFilter
from data_access.ingest.sync import sync_batch
from data_access.queries import overview
from data_access.writes import workflow
from tests.conftest import fresh_engine, metrics_db
from tests.test_sync import base_dataset, batch_1, batch_2

NOW = datetime(2026, 3, 20, 12, 0)
Q1 = CaseFilter(date_from=date(2026, 1, 1), date_to=date(2026, 3, 31))
FILTERS = [
    CaseFilter(), Q1, CaseFilter(region_code="110"), Q1.with_(region_code="120"),
    CaseFilter(date_from=date(2026, 3, 5), date_to=date(2026, 3, 19)),   # edge days only (no whole month)
    CaseFilter(date_from=date(2026, 2, 1), date_to=date(2026, 3, 10)),   # a whole month and edge days
    Q1.with_(categories=("A",)), Q1.with_(statuses=("reported", "closed")), Q1.with_(text="噪音"),
    Q1.with_(overdue="open"), Q1.with_(supervised_only=True), Q1.with_(region_code="G1"),
    CaseFilter(scope_code="110", region_code="110"),
]
GROUPS = [(), ("child",), ("category",), ("month", "status"), ("resolution_level",)]
# either side of c07's due time (03-22 12:00), exactly on it, and before c06's and c08's
NOWS = [NOW, datetime(2026, 3, 22, 11, 59, 59), datetime(2026, 3, 22, 12, 0), datetime(2026, 3, 22, 12, 0, 1),
        datetime(2026, 3, 2, 8, 0)]


def _rows(df) -> list[tuple]:
    return sorted(tuple(str(v) for v in row) for row in df.itertuples(index=False))


def _same_everywhere(engine, nows=NOWS) -> int:
    """Checks both ways of counting agree on every filter × grouping × now; returns how many checks had an
    overdue case (so a test sees that they were not all zeros)."""
    with_overdue = 0
    for now in nows:
        for f in FILTERS:
            for g in GROUPS:
                new = counting.open_overdue_counts(engine, f, g, now)
                old = counting.open_overdue_counts_from_cases(engine, f, g, now)
                assert list(new.columns) == list(old.columns), (f, g, now)
                assert _rows(new) == _rows(old), (f, g, now)
                with_overdue += int(len(old) > 0 and old["open_overdue"].sum() > 0)
    return with_overdue


def test_open_and_overdue_equal_the_count_of_every_open_case(loaded_engine):
    e = loaded_engine
    assert _same_everywhere(e) > 40
    # the hand-computed numbers (README): Q1, the city, now 03-20 12:00: 3 open, 2 overdue (c06, c08)
    oo = counting.open_overdue_counts(e, Q1, (), NOW)
    assert (int(oo["open"].iloc[0]), int(oo["open_overdue"].iloc[0])) == (3, 2)
    # c07 due 03-22 12:00: not overdue on its due time, overdue a second after
    at = {t: tuple(counting.open_overdue_counts(e, Q1, (), t).iloc[0]) for t in NOWS[1:4]}
    assert at == {NOWS[1]: (3, 2), NOWS[2]: (3, 2), NOWS[3]: (3, 3)}
    # by county: 东县 (110) c07 + c08, 西县 (120) c06
    by = counting.open_overdue_counts(e, Q1.with_(region_code="100"), ("child",), NOW)
    assert _rows(by) == [("110", "2", "1"), ("120", "1", "1")]
    # nothing open in January
    jan = counting.open_overdue_counts(e, CaseFilter(date_from=date(2026, 1, 1), date_to=date(2026, 1, 31)), (), NOW)
    assert tuple(jan.iloc[0]) == (0, 0)


def test_the_overview_shows_the_same_open_numbers(loaded_engine):
    e = loaded_engine
    kpis, prev = overview.case_kpis_with_previous(e, Q1, NOW)
    assert (kpis.open, kpis.open_overdue) == (3, 2)
    assert (prev.open, prev.open_overdue) == (0, 0)   # Q4 2025: c10 only, closed
    ranking = overview.child_region_ranking(e, Q1.with_(region_code="100"), NOW).set_index("code")
    assert ranking.loc["110", ["open", "open_overdue"]].tolist() == [2, 1]
    assert ranking.loc["120", ["open", "open_overdue"]].tolist() == [1, 1]


def test_writes_keep_the_counts_equal_to_every_open_case(loaded_engine):
    e = loaded_engine
    workflow.report_case(e, workflow.NewCase("n1", "G1", "A", "walk_in", "来访反映噪音", datetime(2026, 3, 20, 9, 0)))
    workflow.accept_case(e, "c07", datetime(2026, 3, 20, 10, 0))
    assert _same_everywhere(e, [NOW, datetime(2026, 3, 21, 9, 0), datetime(2026, 3, 21, 9, 0, 1)]) > 0
    n1 = counting.open_overdue_counts(e, Q1, (), datetime(2026, 3, 21, 9, 0, 1))   # n1 (A: 24 h) is now due
    assert tuple(n1.iloc[0]) == (4, 3)
    workflow.dispatch_case(e, "c08", "D1", datetime(2026, 3, 20, 10, 30))
    workflow.handle_case(e, "c08", datetime(2026, 3, 20, 11, 0))
    workflow.feedback_case(e, "c08", datetime(2026, 3, 20, 11, 15))
    workflow.close_case(e, "c08", datetime(2026, 3, 20, 11, 30), "village")
    assert _same_everywhere(e, [NOW]) > 0
    assert tuple(counting.open_overdue_counts(e, Q1, (), NOW).iloc[0]) == (3, 1)   # c06; n1 and c07 not yet due


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_a_sync_keeps_the_counts_equal_to_every_open_case(kind, tmp_path):
    from data_access.ingest.loader import load_dataset

    e = fresh_engine(kind, tmp_path)
    try:
        load_dataset(base_dataset(tmp_path / "base"), e)
        _same_everywhere(e, NOWS[:3])
        sync_batch(batch_1(tmp_path / "b1"), e)
        assert _same_everywhere(e, NOWS[:3]) > 0
        sync_batch(batch_2(tmp_path / "b2"), e)
        assert _same_everywhere(e, NOWS[:4]) > 0
        assert tuple(counting.open_overdue_counts(e, Q1, (), NOW).iloc[0]) == (3, 2)   # the metrics fixture's
    finally:
        e.dispose()


def test_the_cases_not_yet_due_are_sought_by_due_time_on_sqlite(tmp_path):
    """The read costs the open cases ahead of ``now``: SQLite seeks ix_cases_open_by_due from ``now`` for the
    city, a county and the whole tree (its guess for a range once made it walk every open case of the period or
    every case of a county index; and a Boolean-typed likelihood() rendered as ``… = 1``, which seeks nothing)."""
    from data_access.core.filters import resolve

    e = metrics_db("sqlite", tmp_path)
    try:
        for f in (Q1.with_(region_code="100"), CaseFilter(region_code="100"), CaseFilter(),
                  Q1.with_(region_code="110")):
            for g in ((), ("child",)):
                compiled = counting.not_yet_due_select(resolve(e, f), g, NOW).compile(e)
                params = compiled.construct_params()
                args = tuple(str(params[k]) if isinstance(params[k], datetime) else params[k]
                             for k in compiled.positiontup)
                with e.connect() as conn:
                    plan = " | ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), args))
                assert "ix_cases_open_by_due (due_at>?)" in plan, (f, g, plan)
    finally:
        e.dispose()
