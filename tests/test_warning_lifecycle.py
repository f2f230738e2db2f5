"""A stored warning's life across as-of days (data_access/core/warnings.store), both backends.

Hand-made warnings of one series (a surge of village 1111, category A; the test is about storing them, not
finding them — tests/test_warnings.py covers that):

- day 1 (as of 06-11) finds it from 06-10; day 2 (06-12) from 06-11 (the over-dispersion re-estimated: the
  first day the test crosses the line moved); day 3 (06-13) from 06-09.  One row all along, the state staff
  set kept, first day the earliest seen (06-09), last day 06-13.
- a recurrence after a day without it (06-15 after a last day of 06-13) is a new warning.
- expiry (EXPIRE_DAYS = 14): an open warning last seen on 06-01 is still open as of 06-15 (14 days), expired as
  of 06-16; a handled one is left alone; a 'new' one of the evaluated days that is no longer found is removed
  (retracted), not expired.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import insert, select, update

from data_access.core import warnings as W
from data_access.core.access import User
from data_access.core.schema import regions
from data_access.core.schema import warnings as warnings_table
from tests.conftest import fresh_engine

NOW = datetime(2025, 6, 20, 8, 0)


def surge(first: date, last: date, observed: float = 12.0, code: str = "1111", category: str = "A") -> W.Warning:
    return W.Warning("surge", code, "village", category, first, last, observed, 3.0, 0.0, 8.0, 1e-5, 1e-3,
                     W.severity(observed, 3.0, 1e-3))


@pytest.fixture(params=["sqlite", "pg"])
def eng(request, tmp_path):
    e = fresh_engine(request.param, tmp_path)
    with e.begin() as conn:
        conn.execute(insert(regions), [dict(code="100", name="市", level="city", parent_code=None),
                                       dict(code="1111", name="村", level="village", parent_code="100")])
    yield e
    e.dispose()


def rows(eng) -> list[tuple]:
    t = warnings_table
    with eng.connect() as conn:
        return [tuple(r) for r in conn.execute(select(t.c.id, t.c.category, t.c.first_day, t.c.last_day,
                                                      t.c.observed, t.c.state).order_by(t.c.id))]


def test_a_continuing_warning_keeps_its_row_state_and_earliest_first_day(eng):
    r = W.store(eng, [surge(date(2025, 6, 10), date(2025, 6, 11))], date(2025, 6, 11), NOW)
    assert (r.inserted, r.updated) == (1, 0)
    (wid, *_), = rows(eng)
    with eng.begin() as conn:
        conn.execute(update(warnings_table).values(state="acknowledged"))
    r = W.store(eng, [surge(date(2025, 6, 11), date(2025, 6, 12), 9.0)], date(2025, 6, 12), NOW)
    assert (r.inserted, r.updated, r.retracted) == (0, 1, 0)
    assert rows(eng) == [(wid, "A", date(2025, 6, 10), date(2025, 6, 12), 9.0, "acknowledged")]
    W.store(eng, [surge(date(2025, 6, 9), date(2025, 6, 13), 20.0)], date(2025, 6, 13), NOW)
    assert rows(eng) == [(wid, "A", date(2025, 6, 9), date(2025, 6, 13), 20.0, "acknowledged")]
    # the next day adjacent (06-14 after 06-13) continues it too
    W.store(eng, [surge(date(2025, 6, 14), date(2025, 6, 14), 5.0)], date(2025, 6, 14), NOW)
    assert rows(eng) == [(wid, "A", date(2025, 6, 9), date(2025, 6, 14), 5.0, "acknowledged")]


def test_a_recurrence_after_a_gap_or_another_series_is_a_new_warning(eng):
    W.store(eng, [surge(date(2025, 6, 10), date(2025, 6, 13))], date(2025, 6, 13), NOW)
    r = W.store(eng, [surge(date(2025, 6, 15), date(2025, 6, 15)), surge(date(2025, 6, 12), date(2025, 6, 15),
                                                                         category="B")], date(2025, 6, 15), NOW)
    assert (r.inserted, r.updated) == (2, 0)
    got = [(c, f, l, s) for _i, c, f, l, _o, s in rows(eng)]
    # the first one (last seen 06-13, inside the days evaluated, not found again) is retracted: it was 'new'
    assert got == [("A", date(2025, 6, 15), date(2025, 6, 15), "new"),
                   ("B", date(2025, 6, 12), date(2025, 6, 15), "new")]


def test_open_warnings_not_seen_for_expire_days_expire(eng):
    assert W.EXPIRE_DAYS == 14
    W.store(eng, [surge(date(2025, 5, 30), date(2025, 6, 1)), surge(date(2025, 5, 30), date(2025, 6, 1), category="B"),
                  surge(date(2025, 5, 30), date(2025, 6, 1), category="C")], date(2025, 6, 1), NOW)
    with eng.begin() as conn:
        conn.execute(update(warnings_table).where(warnings_table.c.category == "B").values(state="acknowledged"))
        conn.execute(update(warnings_table).where(warnings_table.c.category == "C").values(state="handled"))
    r = W.store(eng, [], date(2025, 6, 15), NOW)      # 14 days after the last day: still current
    assert (r.expired, r.retracted) == (0, 0)
    assert [s for *_x, s in rows(eng)] == ["new", "acknowledged", "handled"]
    r = W.store(eng, [], date(2025, 6, 16), NOW)      # 15 days: the open ones expire, the handled one stays
    assert (r.expired, r.retracted) == (2, 0)
    assert [s for *_x, s in rows(eng)] == ["expired", "expired", "handled"]
    with eng.connect() as conn:
        assert set(conn.execute(select(warnings_table.c.state_at).where(warnings_table.c.state == "expired"))
                   .scalars()) == {NOW}
    # a recurrence later is a new warning, the expired one is kept as it was
    r = W.store(eng, [surge(date(2025, 6, 20), date(2025, 6, 20))], date(2025, 6, 20), NOW)
    assert r.inserted == 1 and [s for *_x, s in rows(eng)] == ["expired", "expired", "handled", "new"]


def test_an_expired_warning_may_be_closed_by_staff_but_not_set_expired(eng):
    from data_access.writes.warnings import set_state
    from data_access.writes.workflow import WriteRefused

    W.store(eng, [surge(date(2025, 5, 30), date(2025, 6, 1)), surge(date(2025, 6, 14), date(2025, 6, 16), code="1111",
                                                                    category="B")], date(2025, 6, 16), NOW)
    W.store(eng, [surge(date(2025, 6, 14), date(2025, 6, 16), category="B")], date(2025, 6, 16), NOW)
    (a, *_), (b, *_) = rows(eng)
    staff = User("东", "staff", None, "s")
    with pytest.raises(WriteRefused) as exc:
        set_state(eng, staff, b, "expired")
    assert exc.value.reason == "warning_state_unknown"
    set_state(eng, staff, a, "false_alarm", "过期后核实：施工临时聚集")
    assert [s for *_x, s in rows(eng)] == ["false_alarm", "new"]


def test_the_page_counts_expired_warnings_apart_from_open_ones(eng):
    from data_access.core.filters import Scope
    from data_access.queries import warnings as Q

    W.store(eng, [surge(date(2025, 5, 30), date(2025, 6, 1)), surge(date(2025, 6, 15), date(2025, 6, 16),
                                                                    category="B")], date(2025, 6, 16), NOW)
    assert Q.state_counts(eng, Scope()) == {"new": 1, "acknowledged": 0, "handled": 0, "false_alarm": 0,
                                           "expired": 1}
    assert list(Q.warnings_of(eng, Scope())["category"]) == ["B"]
    assert Q.new_count(eng, Scope()) == 1
