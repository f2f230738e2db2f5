"""core/keyset.py: a list of keys bound as one parameter, or (above KEY_TABLE_MIN) put in a temporary table and
joined — the same rows either way, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from data_access.core import keyset
from data_access.core.keyset import KeySet
from data_access.core.schema import cases


@pytest.mark.parametrize("threshold", [1000, 2], ids=["one parameter", "temporary table"])
def test_a_key_set_selects_its_cases_and_a_second_fill_replaces_the_first(loaded_engine, monkeypatch, threshold):
    monkeypatch.setattr(keyset, "KEY_TABLE_MIN", threshold)
    c = cases.c
    with loaded_engine.begin() as conn:
        first = KeySet(conn, ["c03", "c01", "c07", "c01", "nope"], "t")
        assert (first.table is not None) == (threshold == 2)
        assert len(first) == 4   # duplicates dropped
        got = conn.execute(select(c.case_no).where(first.where(c.case_no)).order_by(c.case_no)).scalars().all()
        assert got == ["c01", "c03", "c07"]
        # the text form (case_rules.check_event_sequences)
        cond, params = first.sql("case_no")
        from sqlalchemy import bindparam, text

        stmt = text(f"SELECT case_no FROM cases WHERE {cond} ORDER BY case_no")
        if params:
            stmt = stmt.bindparams(*[bindparam(k, expanding=True) for k in params])
        assert conn.execute(stmt, params).scalars().all() == ["c01", "c03", "c07"]
        # the same name filled again in the same transaction: the new keys only
        second = KeySet(conn, ["c02", "c10", "c09"], "t")
        got = conn.execute(select(c.case_no).where(second.where(c.case_no)).order_by(c.case_no)).scalars().all()
        assert got == ["c02", "c09", "c10"]
    # a later transaction starts empty (PostgreSQL empties the table at commit; each fill empties it first)
    with loaded_engine.begin() as conn:
        third = KeySet(conn, ["c05", "c06", "c04"], "t")
        got = conn.execute(select(c.case_no).where(third.where(c.case_no)).order_by(c.case_no)).scalars().all()
        assert got == ["c04", "c05", "c06"]
