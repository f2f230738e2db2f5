"""core/bulk.py: rows inserted by one statement (PostgreSQL: one JSON parameter) read back exactly as an
executemany writes them, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, insert, select

from data_access.core import bulk
from data_access.core.schema import case_events, volunteer_activities


def _events(start_seq: int) -> list[dict]:
    return [
        {"case_no": "c01", "seq": start_seq, "at": datetime(2026, 3, 1, 8, 0, 5), "action": "note",
         "actor": "王五", "org_code": None, "note": '引号 " 反斜杠 \\ 换行\n', "changed_at": datetime(2026, 3, 2, 9, 1)},
        {"case_no": "c01", "seq": start_seq + 1, "at": datetime(2026, 3, 1, 8, 0, 6, 250000), "action": "note",
         "actor": None, "org_code": "G1", "note": "", "changed_at": None},
    ]


def _read(conn, table, where) -> list[tuple]:
    return [tuple(r) for r in conn.execute(select(table).where(where).order_by(*table.primary_key.columns))]


def test_rows_read_back_as_an_executemany_writes_them(loaded_engine, monkeypatch):
    e = case_events.c
    with loaded_engine.begin() as conn:
        conn.execute(insert(case_events), _events(9001))   # the driver's way
        by_driver = _read(conn, case_events, e.seq.between(9001, 9002))
        monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 1)   # two statements on PostgreSQL
        bulk.insert_rows(conn, case_events, _events(9101))
        by_bulk = _read(conn, case_events, e.seq.between(9101, 9102))
        assert [r[:1] + r[2:] for r in by_bulk] == [r[:1] + r[2:] for r in by_driver]
        # floats, booleans-as-numbers and dates of another table
        a = volunteer_activities.c
        team = conn.execute(select(a.team_code).limit(1)).scalar_one()
        row = {"team_code": team, "date": datetime(2026, 3, 3).date(), "kind": "清扫", "participants": 7,
               "hours": 0.1 + 0.2, "note": None}
        conn.execute(delete(volunteer_activities).where(a.team_code == team, a.kind == "清扫"))
        bulk.insert_rows(conn, volunteer_activities, [row])
        got = conn.execute(select(a.date, a.participants, a.hours, a.note)
                           .where(a.team_code == team, a.kind == "清扫")).one()
        assert tuple(got) == (row["date"], 7, 0.30000000000000004, None)


def test_an_aware_timestamp_is_refused(loaded_engine):
    rows = _events(9201)
    rows[0]["at"] = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    with loaded_engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("SQLite binds through its driver (executemany)")
        with pytest.raises(ValueError, match="aware timestamp"):
            bulk.insert_rows(conn, case_events, rows)
        conn.rollback()
