"""The early-warning engine (data_access/core/warnings.py) on a hand-computable fixture, both backends.

The fixture (``build``): city 100 › county 110 › townships 111 (villages 1111, 1112, 1113), 112 (village 1121),
113 (village 1131), one top grid per village (G + village code).  From 2025-03-01 to AS_OF (Monday 2025-06-16)
every village reports 3 cases a day of each of categories A, B and C, all closed the same day, except:

- a surge: village 1111, category A, 12 cases on AS_OF (expected 3: the trimmed mean of the last eight
  Mondays; Poisson, P(X ≥ 12 | 3) = 7.1e-5);
- a seasonal rise of the same size: village 1112, category B, 12 cases on every working Monday (the Labour-day
  holiday Monday 2025-05-05 has 3, like any rest day); expected on AS_OF: 12, so not a warning — a naive rule
  (today > 2 × the mean of the last four weeks, 4.3) would flag it;
- a township-wide rise: category C, 12 cases on AS_OF in each of 1111, 1112 and 1113: one warning for township
  111 (36 against 9), none for its villages (each 12 against 3 × 36/9 = 12) nor for the county (whose rise it is);
- a silence: village 1131 reports nothing from AS_OF − 4 (5 empty days against 9 a day: expected 45);
- a new category: D, 2 cases on each of AS_OF − 1 and AS_OF in village 1113, never seen before;
- a rising backlog: category E, one case a day in village 1121 from AS_OF − 41, never closed (due after 3 days):
  open at the end of the six last weeks 7, 14, 21, 28, 35, 42 (overdue 4, 11, … 39).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from data_access.core import warnings as W
from data_access.core.access import User
from data_access.core.rollups import rebuild_all_summaries
from data_access.core.schema import audit_log, categories, cases, grids, regions
from data_access.core.schema import warnings as warnings_table
from tests.conftest import fresh_engine

AS_OF = date(2025, 6, 16)  # a Monday
START = date(2025, 3, 1)
VILLAGES = {"1111": "111", "1112": "111", "1113": "111", "1121": "112", "1131": "113"}


def _case(n: int, village: str, category: str, at: datetime, closed: bool = True) -> dict:
    return dict(case_no=f"k{n:06d}", grid_code=f"G{village}", category=category, source="patrol", title="t",
                status="closed" if closed else "accepted", reported_at=at,
                closed_at=at + timedelta(hours=2) if closed else None,
                accepted_at=None if closed else at + timedelta(minutes=30),
                due_at=at + timedelta(days=3), report_month=at.strftime("%Y-%m"), city_code="100",
                county_code="110", township_code=VILLAGES[village], village_code=village,
                top_grid_code=f"G{village}")


def daily(village: str, category: str, d: date) -> int:
    """The fixture's count of a village, category and day (the docstring's list)."""
    if village == "1131" and d >= AS_OF - timedelta(days=4):
        return 0
    if category == "A" and village == "1111" and d == AS_OF:
        return 12
    if category == "B" and village == "1112" and d.weekday() == 0 and d != date(2025, 5, 5):
        return 12
    if category == "C" and VILLAGES[village] == "111" and d == AS_OF:
        return 12
    if category in "ABC":
        return 3
    if category == "D":
        return 2 if village == "1113" and d >= AS_OF - timedelta(days=1) else 0
    if category == "E":
        return 1 if village == "1121" and d >= AS_OF - timedelta(days=41) else 0
    return 0


def build(engine, until: date = AS_OF, start: date = START) -> None:
    with engine.begin() as conn:
        conn.execute(insert(regions), [
            dict(code="100", name="测试市", level="city", parent_code=None),
            dict(code="110", name="东县", level="county", parent_code="100"),
            *[dict(code=t, name=f"镇{t}", level="township", parent_code="110") for t in ("111", "112", "113")],
            *[dict(code=v, name=f"村{v}", level="village", parent_code=t) for v, t in VILLAGES.items()]])
        conn.execute(insert(grids), [dict(code=f"G{v}", name=f"网格{v}", village_code=v) for v in VILLAGES])
        conn.execute(insert(categories), [dict(code=c, name_zh=c, name_en=c, time_limit_hours=72) for c in "ABCDE"])
        rows, n, d = [], 0, start
        while d <= until:
            for v in VILLAGES:
                for c in "ABCDE":
                    for i in range(daily(v, c, d)):
                        n += 1
                        rows.append(_case(n, v, c, datetime(d.year, d.month, d.day, 8) + timedelta(minutes=7 * i),
                                          closed=c != "E"))
            d += timedelta(days=1)
        conn.execute(insert(cases), rows)
        rebuild_all_summaries(conn)  # as the loader does: the warnings read their counts from case_day_counts


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def engine(request, tmp_path_factory):
    eng = fresh_engine(request.param, tmp_path_factory.mktemp("warn"))
    build(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def found(engine):
    return W.compute(engine, AS_OF)


def _keyed(found):
    return {(w.kind, w.region_code, w.category): w for w in found}


def test_the_surge_is_flagged_on_its_day_at_its_village(found):
    w = _keyed(found)[("surge", "1111", "A")]
    assert (w.level, w.first_day, w.last_day) == ("village", AS_OF, AS_OF)
    assert (w.observed, w.expected) == (12, 3)
    # P(X ≥ 12 | Poisson 3) = 7.1e-5, the smallest of the three windows (the day: 12 against 3; two days: 15
    # against 6, 8.6e-4; three days: 18 against 9, 8.9e-3), times 3 for trying three windows (Bonferroni)
    assert w.p_value == pytest.approx(3 * 7.1e-5, rel=0.05)
    assert w.q_value <= W.SURGE_FDR
    assert (w.lower, w.upper) == (0, 7)  # Poisson(3)'s 95 % range
    # neither its grid (the same place) nor its township (whose rise it is) is reported
    assert not [x for x in found if x.kind == "surge" and x.category == "A" and x.region_code != "1111"]


def test_the_day_before_has_no_surge(engine):
    assert not [w for w in W.compute(engine, AS_OF - timedelta(days=1)) if w.kind == "surge"]


def test_a_seasonal_rise_of_the_same_size_is_not_flagged(found, engine):
    assert not [w for w in found if w.kind == "surge" and w.category == "B"]
    s = W.series(engine, "1112", "village", "B", AS_OF, days_shown=7)
    assert s.iloc[-1][["observed", "expected"]].tolist() == [12, 12]
    assert s.iloc[-2][["observed", "expected"]].tolist() == [3, 3]  # a Sunday against the rest days
    # the naive rule would have: twice the mean of the last four weeks (28 days: 4 Mondays of 12, 24 days of 3)
    assert 12 > 2 * (4 * 12 + 24 * 3) / 28


def test_a_township_wide_rise_is_one_warning(found):
    c = [w for w in found if w.kind == "surge" and w.category == "C"]
    assert [(w.region_code, w.level, w.observed, w.expected) for w in c] == [("111", "township", 36, 9)]


def test_a_silent_place_is_reported_once_at_the_top_of_its_chain(found):
    s = [w for w in found if w.kind == "silent"]
    assert [(w.region_code, w.level, w.first_day, w.observed, w.expected) for w in s] == [
        ("113", "township", AS_OF - timedelta(days=4), 0, 45)]


def test_a_new_category_is_reported_at_its_village(found):
    n = [w for w in found if w.kind == "new_category"]
    assert [(w.region_code, w.level, w.category, w.first_day, w.observed) for w in n] == [
        ("1113", "village", "D", AS_OF - timedelta(days=1), 4)]


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_a_new_category_is_judged_on_the_whole_year_before_the_window(kind, tmp_path):
    """The window's own weeks settle most pairs; the older history is read for the others alone.  Village 1111
    reported 30 cases of A 200 days before AS_OF (its size: only there) and one of D 150 days before, outside the
    70 days read for the surges; then 2 cases of B and 2 of D in the last week: B is new (30 + 1 ≥ 20 cases
    before), D is not (at the village, its township and the county).  Village 1112 (township 111) and 1121
    (township 112) report A daily; 1112 had one case of C 30 days before and 2 on AS_OF: C is not new."""
    eng = fresh_engine(kind, tmp_path)
    at = lambda days_before, hour=8: datetime.combine(AS_OF - timedelta(days=days_before),  # noqa: E731
                                                      datetime.min.time()) + timedelta(hours=hour)
    spec = ([("1111", "A", at(200, 8) + timedelta(minutes=i)) for i in range(30)]
            + [("1111", "D", at(150)), ("1111", "B", at(2)), ("1111", "B", at(2, 9)), ("1111", "D", at(1)),
               ("1111", "D", at(1, 9)), ("1112", "C", at(30)), ("1112", "C", at(0)), ("1112", "C", at(0, 9))]
            + [(v, "A", at(d, 7)) for v in ("1112", "1121") for d in range(201)])
    with eng.begin() as conn:
        conn.execute(insert(regions), [
            dict(code="100", name="测试市", level="city", parent_code=None),
            dict(code="110", name="东县", level="county", parent_code="100"),
            *[dict(code=t, name=f"镇{t}", level="township", parent_code="110") for t in ("111", "112")],
            *[dict(code=v, name=f"村{v}", level="village", parent_code=VILLAGES[v]) for v in ("1111", "1112", "1121")]])
        conn.execute(insert(grids), [dict(code=f"G{v}", name=f"网格{v}", village_code=v) for v in ("1111", "1112", "1121")])
        conn.execute(insert(categories), [dict(code=c, name_zh=c, name_en=c, time_limit_hours=72) for c in "ABCD"])
        conn.execute(insert(cases), [_case(n, v, c, t) for n, (v, c, t) in enumerate(spec)])
        rebuild_all_summaries(conn)
    found = W.compute(eng, AS_OF)
    assert [(w.kind, w.region_code, w.level, w.category, w.first_day, w.observed) for w in found] == [
        ("new_category", "1111", "village", "B", AS_OF - timedelta(days=2), 2)]
    eng.dispose()


def test_a_steadily_rising_backlog_is_flagged(found):
    k = _keyed(found)
    b, o = k[("backlog", "112", "")], k[("overdue", "112", "")]
    assert (b.level, b.observed, b.expected) == ("township", 42, 7)
    assert (o.observed, o.expected) == (39, 4)
    assert b.p_value == pytest.approx(1 / 720)  # Kendall's tau on six rising weeks, exact
    assert ("backlog", "110", "") not in k  # the county's rise is the township's


def test_nothing_else_is_flagged(found):
    assert sorted((w.kind, w.region_code, w.category) for w in found) == [
        ("backlog", "112", ""), ("new_category", "1113", "D"), ("overdue", "112", ""), ("silent", "113", ""),
        ("surge", "111", "C"), ("surge", "1111", "A")]
    assert [w.severity for w in found] == sorted((w.severity for w in found), reverse=True)


def test_empty_and_short_histories_give_no_warning(tmp_path):
    eng = fresh_engine("sqlite", tmp_path)
    assert W.compute(eng) == []
    assert W.refresh(eng).found == 0
    build(eng, until=START + timedelta(days=20))  # three weeks of data, a spike on none of them
    assert W.compute(eng) == []
    assert W.compute(eng, START - timedelta(days=3)) == []  # before the data
    s = W.series(eng, "1111", "village", "A", START + timedelta(days=20), days_shown=5)
    assert list(s["observed"]) == [3] * 5


def test_refresh_stores_keeps_states_and_retracts(tmp_path):
    eng = fresh_engine("sqlite", tmp_path)
    build(eng)
    r = W.refresh(eng, AS_OF)
    assert (r.found, r.inserted, r.updated, r.retracted) == (6, 6, 0, 0)
    with eng.begin() as conn:
        conn.execute(warnings_table.update().where(warnings_table.c.kind == "silent")
                     .values(state="acknowledged"))
    r = W.refresh(eng, AS_OF)
    assert (r.inserted, r.updated, r.retracted) == (0, 6, 0)
    with eng.connect() as conn:
        states = dict(conn.execute(select(warnings_table.c.kind, warnings_table.c.state)
                                   .where(warnings_table.c.category.in_(["", "A"]))).all())
    assert states["silent"] == "acknowledged" and states["surge"] == "new"
    # the surge's cases corrected away: the 'new' surge is retracted, the acknowledged silence stays
    with eng.begin() as conn:
        conn.execute(cases.delete().where(cases.c.category == "A", cases.c.village_code == "1111",
                                          cases.c.reported_at >= datetime(2025, 6, 16)))
        conn.execute(insert(cases), [_case(900000 + i, "1111", "A", datetime(2025, 6, 16, 9, i)) for i in range(3)])
        rebuild_all_summaries(conn)
    r = W.refresh(eng, AS_OF)
    assert r.retracted == 1
    with eng.connect() as conn:
        kinds = sorted(conn.execute(select(warnings_table.c.kind, warnings_table.c.region_code)).all())
    assert ("surge", "1111") not in kinds and ("silent", "113") in kinds


# --- stored warnings: the page's questions, the state that staff set, the command line, the hook ---------------

@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    eng = fresh_engine("sqlite", tmp_path_factory.mktemp("stored"))
    build(eng)
    W.refresh(eng, AS_OF)
    yield eng
    eng.dispose()


def _id(eng, kind, code):
    with eng.connect() as conn:
        return conn.execute(select(warnings_table.c.id).where(warnings_table.c.kind == kind,
                                                              warnings_table.c.region_code == code)).scalar_one()


def _audit_rows(eng):
    with eng.connect() as conn:
        return conn.execute(select(audit_log.c.username, audit_log.c.target, audit_log.c.detail)
                            .where(audit_log.c.event == "write").order_by(audit_log.c.id)).all()


def test_the_page_reads_a_places_warnings_most_severe_first(stored):
    from data_access.core.filters import Scope
    from data_access.queries import warnings as Q

    city = Q.warnings_of(stored, Scope())
    assert len(city) == 6 and list(city["severity"]) == sorted(city["severity"], reverse=True)
    assert sorted(Q.warnings_of(stored, Scope(region_code="111"))["region_code"]) == ["111", "1111", "1113"]
    assert list(Q.warnings_of(stored, Scope(scope_code="112"))["region_code"]) == ["112", "112"]
    assert Q.new_count(stored, Scope(region_code="113")) == 1
    s = Q.warning_series(stored, Scope(), _id(stored, "surge", "1111"))
    assert (len(s), s.iloc[-1]["observed"], s.iloc[-1]["expected"]) == (42, 12, 3)
    assert Q.warning_series(stored, Scope(scope_code="112"), _id(stored, "surge", "1111")).empty  # not theirs
    assert Q.warning_series(stored, Scope(), _id(stored, "backlog", "112")).empty  # not a daily count
    assert Q.as_of_day(stored) == AS_OF


def test_warning_states_are_scoped_checked_and_audited(stored):
    from data_access.writes.warnings import set_state
    from data_access.writes.workflow import WriteRefused

    wid = _id(stored, "surge", "1111")
    before = len(_audit_rows(stored))
    for user, state, note, reason in [
        (User("看", "viewer", None, "v"), "acknowledged", "", "role"),
        (User("西", "leader", "112", "l112"), "acknowledged", "", "warning_not_in_scope"),
        (User("东", "staff", "111", "s111"), "closed", "", "warning_state_unknown"),
        (User("东", "staff", "111", "s111"), "false_alarm", "  ", "note_required"),
    ]:
        with pytest.raises(WriteRefused) as exc:
            set_state(stored, user, wid, state, note)
        assert exc.value.reason == reason
    assert len(_audit_rows(stored)) == before  # nothing written
    staff = User("东", "staff", "111", "s111")
    set_state(stored, staff, wid, "acknowledged", "")
    set_state(stored, staff, wid, "handled", "排查：一处管网破裂，已修复", now=datetime(2025, 6, 17, 9, 0))
    with pytest.raises(WriteRefused) as exc:
        set_state(stored, staff, wid, "acknowledged")
    assert exc.value.reason == "warning_state_step"
    with stored.connect() as conn:
        row = conn.execute(select(warnings_table).where(warnings_table.c.id == wid)).mappings().one()
    assert (row["state"], row["state_note"], row["state_by"], row["state_at"]) == (
        "handled", "排查：一处管网破裂，已修复", "东", datetime(2025, 6, 17, 9, 0))
    rows = _audit_rows(stored)[before:]
    assert [(r.username, r.target) for r in rows] == [("s111", "1111"), ("s111", "1111")]
    assert '"from": "acknowledged"' in rows[1].detail and '"to": "handled"' in rows[1].detail
    # a recomputation keeps the state
    W.refresh(stored, AS_OF)
    from data_access.core.filters import Scope
    from data_access.queries import warnings as Q
    assert wid not in set(Q.warnings_of(stored, Scope())["id"])  # handled: no longer open
    assert wid in set(Q.warnings_of(stored, Scope(), ())["id"])


def test_command_line(stored, capsys):
    from data_access.cli import main as cli

    url = stored.url.render_as_string(hide_password=False)
    assert cli(["--db", url, "warnings", "--as-of", AS_OF.isoformat(), "--format", "csv", "--region", "111"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "kind,level,region_code,region_name,category,first_day,last_day,observed,expected,q_value,severity"
    assert sorted(line.split(",")[0] + ":" + line.split(",")[2] for line in lines[1:]) == [
        "new_category:1113", "surge:111", "surge:1111"]
    assert any(line.startswith("surge,village,1111,村1111,A,2025-06-16,2025-06-16,12,3,") for line in lines)
    assert cli(["--db", url, "warnings", "--as-of", "2025-06-15"]) == 0
    assert "surge" not in capsys.readouterr().out
    assert cli(["--db", url, "warnings", "--as-of", "2001-01-01"]) == 0
    assert capsys.readouterr().out == "no warnings\n"
    for bad, message in [(["--as-of", "16/06/2025"], "--as-of: '16/06/2025' is not a date"),
                         (["--region", "999"], "--region: no region or grid '999'")]:
        assert cli(["--db", url, "warnings", *bad]) == 1
        assert message in capsys.readouterr().err


def test_a_load_recomputes_the_warnings(tmp_path, monkeypatch):
    """The loader's hook (on unless GOV_WARNINGS_AUTO=0): the metrics fixture's three months give no warning,
    but the computation ran (as of its last report day)."""
    from data_access.ingest.loader import load_dataset
    from data_access.queries import warnings as Q
    from tests.conftest import FIXTURES

    monkeypatch.setenv("GOV_WARNINGS_AUTO", "0")
    eng = fresh_engine("sqlite", tmp_path)
    load_dataset(FIXTURES / "metrics", eng)
    assert W.auto_refresh() is False
    monkeypatch.setenv("GOV_WARNINGS_AUTO", "1")
    calls = []
    monkeypatch.setattr(W, "refresh", lambda e, as_of=None: calls.append(e) or W.RefreshResult(None, 0, 0, 0, 0, 0))
    load_dataset(FIXTURES / "metrics", eng, replace=True)
    assert calls == [eng]
    monkeypatch.setattr(W, "refresh", lambda e, as_of=None: 1 / 0)
    load_dataset(FIXTURES / "metrics", eng, replace=True)  # a failing computation never undoes the load
    assert Q.as_of_day(eng) is None


def test_a_sync_that_touches_cases_recomputes_the_warnings(tmp_path, monkeypatch):
    """sync_batch's hook: after a batch with cases (tests/test_sync.py's b1), not after one applied before."""
    from data_access.ingest.loader import load_dataset
    from data_access.ingest.sync import sync_batch
    from tests.test_sync import base_dataset, batch_1

    eng = fresh_engine("sqlite", tmp_path)
    load_dataset(base_dataset(tmp_path / "base"), eng)
    monkeypatch.setenv("GOV_WARNINGS_AUTO", "1")
    calls = []
    monkeypatch.setattr(W, "refresh", lambda e, as_of=None: calls.append(e) or W.RefreshResult(None, 0, 0, 0, 0, 0))
    b1 = batch_1(tmp_path / "b1")
    assert sync_batch(b1, eng).cases_touched > 0
    assert calls == [eng]
    assert sync_batch(b1, eng).already_applied
    assert calls == [eng]  # nothing changed: not again


# --- the surge test's window and family (issue 22's detection targets): on frames, no database ----------------

def test_the_window_test_adds_up_a_sustained_rise_and_pays_for_trying_three():
    # counts 2, 5, 5 against 2 a day (Poisson): the day alone P(X ≥ 5 | 2) = 0.0527; two days P(X ≥ 10 | 4)
    # = 0.00813; three days P(X ≥ 12 | 6) = 0.0201: the two days are the best window, × 3 = 0.0244
    p, w = W.window_p(np.array([[2.0, 5, 5], [2, 2, 2]]), np.array([[2.0, 2, 2], [2, 2, 2]]), 0.0)
    assert p[0] == pytest.approx(3 * 0.008132, rel=1e-3) and w[0] == 2
    assert p[1] == 1.0  # P(X ≥ 2 | 2) = 0.59 on the day; × 3 capped at 1
    # over-dispersion widens it: the same counts are less surprising under a negative binomial
    assert W.window_p(np.array([[2.0, 5, 5]]), np.array([[2.0, 2, 2]]), 0.5)[0][0] > p[0]


def _frame_of(counts: dict[tuple[str, str], list[int]], last: date) -> pd.DataFrame:
    """One row per case (n = 1; the roll-up's rows hold several): ``counts[(grid, category)]`` the daily counts up to ``last``; a grid G<v> lies in
    village v, township v[:3], county 110."""
    rows = []
    for (grid, category), per_day in counts.items():
        v = grid[1:]
        for i, n in enumerate(per_day):
            d = pd.Timestamp(last - timedelta(days=len(per_day) - 1 - i))
            rows += [(d, category, "110", v[:3], v, grid, 1)] * n
    return pd.DataFrame(rows, columns=["day", "category", "county", "township", "village", "grid", "n"])


def _surges_of(df: pd.DataFrame, last: date) -> list:
    days = pd.date_range(pd.Timestamp(last - timedelta(days=W.HISTORY_WEEKS * 7 + W.SILENT_MAX_DAYS - 1)),
                         pd.Timestamp(last))
    first = df["day"].min().date()
    c = W._Counts.of_frame(df, days)
    return W._surges(c, list(range(len(days) - W.WINDOW_DAYS, len(days))), first, W._parents(c))


def test_a_sustained_rise_no_single_day_of_which_is_beyond_chance_is_flagged_on_its_second_day():
    # a place with 4 cases a day for 80 days, then 9 on each of days D1 and D2 (one grid: every level the same
    # series, so the four tests have one p-value and q = p).  As of D1: 9 against 4, P = 0.0214, × 3 = 0.064:
    # nothing.  As of D2: the two days 18 against 8, P(X ≥ 18 | 8) = 0.00159, × 3 = 0.0048 ≤ 5 %: a surge
    # since D1, reported once (a place with one child is that place: the county).
    d2 = date(2025, 6, 17)
    counts = [4] * 80 + [9, 9]
    assert _surges_of(_frame_of({("G1111", "A"): counts[:-1]}, d2 - timedelta(days=1)), d2 - timedelta(days=1)) == []
    found = _surges_of(_frame_of({("G1111", "A"): counts}, d2), d2)
    assert [(w.region_code, w.level, w.first_day, w.last_day, w.observed, w.expected) for w in found] == [
        ("110", "county", d2 - timedelta(days=1), d2, 18, 8)]
    assert found[0].p_value == pytest.approx(3 * 0.001594, rel=1e-3)


def test_a_series_expecting_too_little_is_tested_in_a_family_of_its_own():
    # grid G1111 reports 4 cases of A a day.  Grid G1112 has 3 cases of B on the Monday a week before the
    # Monday tested, none on any other day: in the reference (the six working Mondays of the last eight weeks;
    # 2 June and 5 May are holidays: [3,0,0,0,0,0]) enough cases (3), but its trimmed mean is 0, floored to
    # 0.2, and 0.2 × 3 days = 0.6 < 1.5 expected in the window: not a regular series; and no case in the eight
    # weeks before the days evaluated: not tested at all.  Grid G1113 has one case of C 20 days before and 6
    # on the Monday tested: sparse, tested among the sparse series only: 6 against 0.2 (P = 7.5e-8, × 3
    # windows), beyond chance
    last = date(2025, 6, 16)  # a Monday
    n = 84
    b, c = [0] * n, [0] * n
    b[n - 1 - 7] = 3
    b[-1] = 6
    c[n - 1 - 20] = 1
    c[-1] = 6
    df = _frame_of({("G1111", "A"): [4] * n, ("G1112", "B"): b, ("G1113", "C"): c}, last)
    days = pd.date_range(pd.Timestamp(last - timedelta(days=W.HISTORY_WEEKS * 7 + W.SILENT_MAX_DAYS - 1)),
                         pd.Timestamp(last))
    eval_cols = list(range(len(days) - W.WINDOW_DAYS, len(days)))
    for level in ("grid", "village"):  # a category per place: the series are the grids'
        t = W._test_level(W._Counts.of_frame(df, days), level, eval_cols, df["day"].min().date())
        assert dict(zip(t.categories, t.family[:, -1].tolist())) == {"A": 0, "B": -1, "C": 1}, level
        assert t.exp_d[list(t.categories).index("B"), -1] == pytest.approx(W.EXPECTED_FLOOR)
        assert np.isnan(t.p[list(t.categories).index("B"), -1])
        assert t.p[list(t.categories).index("C"), -1] == pytest.approx(3 * 7.49e-8, rel=1e-2)
    found = _surges_of(df, last)
    assert not [w for w in found if w.category in "AB"]  # B's 6 cases (7.5e-8 had it been tested) are not
    assert [(w.category, w.first_day, w.observed, w.expected) for w in found] == [("C", last, 6, 0.2)]


def test_a_sync_recomputes_at_most_every_few_minutes(tmp_path, monkeypatch):
    """The live follower syncs every few seconds: the warnings are recomputed after a batch only when the stored
    ones are older than GOV_WARNINGS_SYNC_MINUTES (default 10; 0: every batch)."""
    from data_access.ingest.loader import load_dataset
    from data_access.ingest.sync import sync_batch
    from tests.test_sync import base_dataset, batch_1

    eng = fresh_engine("sqlite", tmp_path)
    load_dataset(base_dataset(tmp_path / "base"), eng)
    monkeypatch.setenv("GOV_WARNINGS_AUTO", "1")
    W.refresh(eng)                       # computed just now: recorded in data_meta
    real, calls = W.refresh, []
    monkeypatch.setattr(W, "refresh", lambda e, as_of=None: calls.append(e) or real(e, as_of))
    b1 = batch_1(tmp_path / "b1")
    assert sync_batch(b1, eng).cases_touched > 0
    assert calls == []                   # within 10 minutes of the last computation: not again
    assert W.refresh_if_due(eng) is None
    monkeypatch.setenv("GOV_WARNINGS_SYNC_MINUTES", "0")
    assert W.refresh_if_due(eng) is not None and calls == [eng]
    monkeypatch.setenv("GOV_WARNINGS_SYNC_MINUTES", "oops")
    assert W.sync_minutes() == W.DEFAULT_SYNC_MINUTES
