"""The DuckDB way of the usual-ways comparison (bench/alt_duckdb.py, bench/alt_duckdb_app.py; issue 24) on a
hand-made SQLite file of six cases: the copy into DuckDB keeps every row and type, and the Overview's answers
are the hand-computed ones — the same the pandas page (bench/alt_pandas_app.py) shows on the same file."""
from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")
from bench import alt_duckdb  # noqa: E402

BENCH = Path(__file__).resolve().parent.parent / "bench"
NOW = datetime(2026, 10, 8, 12, 0)  # the last 12 months: 2025-10-01 .. 2026-10-08 (end of day)
COLUMNS = ("case_no VARCHAR(64) NOT NULL PRIMARY KEY, grid_code VARCHAR(48), category VARCHAR(48), title TEXT, "
           "status VARCHAR(16), reported_at DATETIME, due_at DATETIME, closed_at DATETIME, "
           "on_the_spot BOOLEAN DEFAULT 0 NOT NULL, satisfaction INTEGER, city_code VARCHAR(32), "
           "county_code VARCHAR(32), township_code VARCHAR(32), village_code VARCHAR(32), "
           "top_grid_code VARCHAR(48), report_month VARCHAR(7), hours_to_close FLOAT")
CASES = [
    # case, title, status, reported, due, closed, on the spot, county, hours to close
    ("A", "道路破损", "closed", "2026-09-01 10:00:00.000000", "2026-09-05 10:00:00.000000",
     "2026-09-01 20:00:00.000000", 1, "431302", 10.0),
    ("B", "路灯不亮", "closed", "2026-09-15 08:00:00.000000", "2026-09-20 08:00:00.000000",
     "2026-09-16 14:00:00.000000", 0, "431302", 30.0),
    ("C", "邻里纠纷", "handling", "2026-10-01 09:00:00.000000", "2026-10-05 09:00:00.000000", None, 0,
     "431381", None),  # open and overdue at NOW
    ("D", "噪音纠纷", "accepted", "2026-10-08 09:00:00.000000", "2026-10-10 09:00:00.000000", None, 0,
     "431381", None),  # open, not due yet
    ("E", "纠纷调解", "closed", "2025-09-30 23:00:00.000000", "2025-10-02 23:00:00.000000",
     "2025-10-01 01:00:00.000000", 0, "431302", 2.0),  # before the period
    ("F", "纠纷", "accepted", "2026-10-09 00:00:00.000000", "2026-10-12 00:00:00.000000", None, 0,
     "431302", None),  # after the end of today
]


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "gov.db"
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE cases ({COLUMNS})")
    con.execute("CREATE TABLE regions (code VARCHAR(32) PRIMARY KEY, name TEXT, level VARCHAR(16), "
                "parent_code VARCHAR(32))")
    con.executemany("INSERT INTO regions VALUES (?, ?, ?, ?)", [
        ("431300", "娄底市", "city", None), ("431302", "娄星区", "county", "431300"),
        ("431381", "冷水江市", "county", "431300")])
    con.executemany(
        "INSERT INTO cases VALUES (?, 'G1', 'road', ?, ?, ?, ?, ?, ?, 4, '431300', ?, ? || '001', NULL, 'G1', "
        "substr(?, 1, 7), ?)",
        [(c, t, s, r, d, cl, spot, county, county, r, h) for c, t, s, r, d, cl, spot, county, h in CASES])
    con.commit()
    con.close()
    return path


def test_the_copy_keeps_every_row_and_the_declared_types(sqlite_file):
    con, load = alt_duckdb.load_sqlite(sqlite_file)
    # no sqlite extension in the wheel and no network to fetch it: the sqlite3 → Arrow copy
    assert load["way"] == "sqlite3" and load["rows"] == {"cases": 6, "regions": 3}
    assert load["seconds"] > 0 and load["cpu_seconds"] > 0
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'cases'").fetchall())
    assert (types["reported_at"], types["on_the_spot"], types["satisfaction"], types["hours_to_close"],
            types["title"]) == ("TIMESTAMP", "BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR")
    assert con.execute("SELECT case_no, reported_at, on_the_spot, closed_at FROM cases WHERE case_no IN ('A', 'C') "
                       "ORDER BY 1").fetchall() == [
        ("A", datetime(2026, 9, 1, 10), True, datetime(2026, 9, 1, 20)), ("C", datetime(2026, 10, 1, 9), False, None)]


def test_chunks_smaller_than_the_table_give_the_same_copy(sqlite_file, monkeypatch):
    monkeypatch.setattr(alt_duckdb, "CHUNK", 4)  # 6 cases: a chunk of 4, then one of 2
    con, load = alt_duckdb.load_sqlite(sqlite_file)
    assert load["rows"]["cases"] == 6
    assert con.execute("SELECT string_agg(case_no, '' ORDER BY case_no) FROM cases").fetchone()[0] == "ABCDEF"


def test_the_overview_answers_by_hand(sqlite_file):
    con, _ = alt_duckdb.load_sqlite(sqlite_file)
    city = alt_duckdb.overview(con, "431300", "city", NOW)
    # A, B, C, D in the period (E before it, F after today); 2 of 4 closed; C open and overdue; median(10, 30)
    assert (city["cases"], city["closure_rate"], city["open_overdue"], city["median_hours"]) == (4, 0.5, 1, 20.0)
    assert city["by_month"] == [("2026-09", "closed", 2), ("2026-10", "accepted", 1), ("2026-10", "handling", 1)]
    assert city["by_child"] == [("431302", "娄星区", 2, 2, 1.0), ("431381", "冷水江市", 2, 0, 0.0)]
    assert [r[0] for r in city["newest"]] == ["D", "C", "B", "A"]
    county = alt_duckdb.overview(con, "431302", "county", NOW)
    assert (county["cases"], county["open_overdue"], county["median_hours"]) == (2, 0, 20.0)
    assert county["by_child"] == [("431302001", None, 2, 2, 1.0)]  # a township not in the regions table
    search = alt_duckdb.overview(con, "431300", "city", NOW, q="纠纷")
    assert (search["cases"], search["closure_rate"], search["open_overdue"]) == (2, 0.0, 1)
    assert alt_duckdb.overview(con, "431300", "city", NOW, page=2)["newest"] == []


def test_the_extension_way_is_refused_clearly_when_not_installed(sqlite_file):
    probe = duckdb.connect()
    probe.execute("SET autoinstall_known_extensions = false")
    try:
        probe.execute("LOAD sqlite")
        pytest.skip("DuckDB's sqlite extension is installed on this machine")
    except duckdb.Error:
        pass
    with pytest.raises(RuntimeError, match="sqlite extension is not installed"):
        alt_duckdb.load_sqlite(sqlite_file, method="extension")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(RuntimeError, match="no SQLite file .*nowhere.db"):
        alt_duckdb.load_sqlite(tmp_path / "nowhere.db")


@pytest.mark.parametrize("app", ["alt_duckdb_app.py", "alt_pandas_app.py"])
def test_the_duckdb_page_shows_what_the_pandas_page_shows(sqlite_file, monkeypatch, app):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GOV_DB_URL", f"sqlite:///{sqlite_file}")
    monkeypatch.setenv("GOV_NOW", NOW.isoformat())
    at = AppTest.from_file(str(BENCH / app), default_timeout=60)
    shown = []
    for params in ({}, {"region": "431302"}, {"q": "纠纷"}):
        at.query_params.clear()
        at.query_params.update(params)
        at.run()
        assert not at.exception
        shown.append({m.label: m.value for m in at.metric})
    assert shown == [
        {"案件数": "4", "办结率": "50.0%", "在办超期": "1", "办结用时中位数": "20.0 小时"},
        {"案件数": "2", "办结率": "100.0%", "在办超期": "0", "办结用时中位数": "20.0 小时"},
        {"案件数": "2", "办结率": "0.0%", "在办超期": "1", "办结用时中位数": "—"}]
    if app == "alt_duckdb_app.py":
        assert at.session_state["duckdb_load"]["rows"] == {"cases": 6, "regions": 3}
