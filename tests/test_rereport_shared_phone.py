"""Re-reports when one phone is on many cases (issue 24): a hotline's frequent caller, an office's shared number.

The fixture is the tiny dataset plus cases of one phone, ``P``, every flag computable by hand (below); it is
loaded through the loader (the load's set-based pass), then the flags are derived again the way a batch and a
write do (``derive_rereported`` for given cases), and both must give exactly these flags.  On SQLite the plan
of the load's pass must seek the same-matter index (phone, grid, category, reported_at): probing by the phone
alone read every case of the phone for each case (18 minutes at 1.07 M cases with 10,000 shared phones)."""
from __future__ import annotations

import csv
import shutil
from datetime import datetime, timedelta

import pytest
from conftest import FIXTURES, fresh_engine
from sqlalchemy import event, select, update

from data_access.core.derive import derive_rereported
from data_access.core.schema import cases
from data_access.ingest.loader import load_dataset

P = "13911112222"
G1, G2 = "431302001001001", "431302001001002"
HEADER = ["case_no", "grid_code", "category", "source", "title", "reporter_name", "reporter_phone", "status",
          "reported_at", "closed_at", "due_at", "resolution_level", "on_the_spot"]


def _case(no, grid, cat, source, reported, closed=None):
    """A case settled on the spot (reported → closed) or still reported (closed None)."""
    ts = lambda d: d.strftime("%Y-%m-%dT%H:%M:%S+08:00")  # noqa: E731
    return [no, grid, cat, source, "同一号码反映", "欧阳𠮷", P, "closed" if closed else "reported", ts(reported),
            ts(closed) if closed else "", ts(reported + timedelta(days=60)), "grid" if closed else "",
            "true" if closed else "false"]


def _rows():
    d = datetime
    rows = [
        # s01 closed 03-01 10:00; s02 (hotline) 4 days later re-reports it
        _case("S01", G1, "property", "hotline", d(2025, 3, 1, 8), d(2025, 3, 1, 10)),
        # s02 closed 03-05 12:00; s04 (hotline) exactly 30 days (720 h) later re-reports it
        _case("S02", G1, "property", "hotline", d(2025, 3, 5, 9), d(2025, 3, 5, 12)),
        # s03: a patrol report re-reports nothing, but is re-reported itself by s04, 15 days after it closed
        _case("S03", G1, "property", "patrol", d(2025, 3, 20, 8), d(2025, 3, 20, 10)),
        _case("S04", G1, "property", "hotline", d(2025, 4, 4, 12)),                      # open
        # s05 closed 06-01 12:00; s06 comes 30 days and 1 second later: too late
        _case("S05", G1, "property", "hotline", d(2025, 6, 1, 8), d(2025, 6, 1, 12)),
        _case("S06", G1, "property", "hotline", d(2025, 7, 1, 12, 0, 1), d(2025, 7, 1, 13)),
        # s07 → s08: another category; s08 → s09: another grid
        _case("S07", G1, "property", "hotline", d(2025, 8, 1, 8), d(2025, 8, 1, 9)),
        _case("S08", G1, "neighbour", "hotline", d(2025, 8, 2, 8), d(2025, 8, 2, 10)),
        _case("S09", G2, "neighbour", "hotline", d(2025, 8, 3, 8), d(2025, 8, 3, 10)),
        # s10 → s11 reported at the very second s10 closed: not after it
        _case("S10", G1, "property", "hotline", d(2025, 9, 1, 8), d(2025, 9, 1, 9)),
        _case("S11", G1, "property", "hotline", d(2025, 9, 1, 9)),                       # open
        # s12 is open: nothing re-reports an open case
        _case("S12", G1, "property", "hotline", d(2025, 10, 5, 8)),                      # 34 days after s10
        _case("S13", G1, "property", "hotline", d(2025, 10, 6, 8)),
    ]
    # 40 rounds in G1 / sewer: a hotline report B_k on day 35k (closed after an hour), a patrol report P_k on day
    # 35k + 15 (closed after an hour).  B_k's next non-patrol report is B_{k+1}, 35 days later: too late; P_k's
    # is B_{k+1}, 20 days after P_k closed: P_0 … P_38 are re-reported, P_39 has no B_40.
    t0 = d(2021, 1, 1, 8)
    for k in range(40):
        b, p = t0 + timedelta(days=35 * k), t0 + timedelta(days=35 * k + 15)
        rows.append(_case(f"B{k:02d}", G1, "sewer", "hotline", b, b + timedelta(hours=1)))
        rows.append(_case(f"P{k:02d}", G1, "sewer", "patrol", p, p + timedelta(hours=1)))
    return rows


EXPECTED = {"S01", "S02", "S03"} | {f"P{k:02d}" for k in range(39)}


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def eng(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rereport")
    data = tmp / "data"
    shutil.copytree(FIXTURES / "tiny", data)
    with open(data / "cases.csv", encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    with open(data / "cases.csv", "a", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        for r in _rows():
            row = dict.fromkeys(header, "") | dict(zip(HEADER, r))
            w.writerow([row[h] for h in header])
    e = fresh_engine(request.param, tmp)
    load_dataset(data, e)
    yield e
    e.dispose()


def _flagged(conn) -> set[str]:
    return set(conn.execute(select(cases.c.case_no).where(cases.c.rereported.is_(True))).scalars())


def test_the_load_flags_exactly_the_re_reported_cases(eng):
    with eng.connect() as conn:
        assert _flagged(conn) == EXPECTED   # the tiny dataset's own cases re-report nothing
        n = conn.execute(select(cases.c.case_no).where(cases.c.reporter_phone == P)).all()
        assert len(n) == 93


def test_the_pass_over_given_cases_agrees_with_the_load(eng):
    """A batch or a write derives the flags of the cases it touched: the same flags, from any start."""
    with eng.begin() as conn:
        every = list(conn.execute(select(cases.c.case_no)).scalars())
        conn.execute(update(cases).values(rereported=True))      # all wrong: each must be set again
        derive_rereported(conn, cases.c.case_no.in_(every))
        assert _flagged(conn) == EXPECTED
        conn.execute(update(cases).where(cases.c.case_no.in_(["S01", "P07"])).values(rereported=False))
        derive_rereported(conn, cases.c.case_no.in_(["S01", "P07", "B07", "S05"]))
        assert _flagged(conn) == EXPECTED
        derive_rereported(conn)                                    # the load's pass over every case
        assert _flagged(conn) == EXPECTED
        conn.rollback()


def test_the_load_pass_seeks_the_same_matter_index(eng):
    """SQLite's plan of the load's pass: each closed case seeks its matter's later reports in the composite
    index, never a scan of the phone's cases (the plan the issue measured: 18 minutes at 1.07 M cases)."""
    if eng.dialect.name != "sqlite":
        pytest.skip("SQLite's EXPLAIN QUERY PLAN")
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            statements.append((statement, parameters))

    with eng.begin() as conn:
        event.listen(conn, "before_cursor_execute", capture)
        derive_rereported(conn)
        event.remove(conn, "before_cursor_execute", capture)
        plans = [" | ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + s, p).all())
                 for s, p in statements]
        conn.rollback()
    setting = [p for p in plans if "EXISTS" in p.upper() or "CORRELATED" in p.upper()]
    assert setting, plans
    assert all("ix_cases_same_matter (reporter_phone=? AND grid_code=? AND category=? AND reported_at>? AND "
               "reported_at<?)" in p for p in setting), plans


def test_the_migrated_schema_has_the_same_matter_index_in_place_of_the_phones(eng):
    """Migration 0015: the composite index, and no index on the phone alone left to be kept up by every write."""
    from sqlalchemy import inspect

    indexes = {i["name"]: i["column_names"] for i in inspect(eng).get_indexes("cases")}
    assert indexes["ix_cases_same_matter"] == ["reporter_phone", "grid_code", "category", "reported_at", "source"]
    assert "ix_cases_reporter_phone" not in indexes


def test_a_pass_writes_only_the_cases_whose_flag_changes(eng):
    """A flag is written only when it changes: the pass cleared every flag of its cases and set the re-reported
    ones again, two new versions of each flagged row on PostgreSQL (an entry in every index of cases each time;
    ~350 rows, two thirds of a second, in a 10,000-case batch at 1.07 M cases).  Issue 19."""
    written: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            written.append(cursor.rowcount)

    with eng.begin() as conn:
        event.listen(conn, "after_cursor_execute", count)
        derive_rereported(conn)                       # as loaded: nothing to change
        assert sum(written) == 0, written
        conn.execute(update(cases).where(cases.c.case_no.in_(["S01", "S05"])).values(rereported=False))
        conn.execute(update(cases).where(cases.c.case_no == "S06").values(rereported=True))
        written.clear()
        derive_rereported(conn, cases.c.case_no.in_(["S01", "S02", "S05", "S06", "P07"]))
        assert sorted(written) == [1, 1], written     # S06 cleared, S01 set; S02, P07, S05 untouched
        assert _flagged(conn) == EXPECTED
        event.remove(conn, "after_cursor_execute", count)
        conn.rollback()
