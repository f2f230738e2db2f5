"""core/keyset.py: a list of keys bound as one parameter, or (above KEY_TABLE_MIN, SQLite) put in a temporary table
and joined — the same rows either way, on SQLite and PostgreSQL; on PostgreSQL always one array parameter."""
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
        pg = loaded_engine.dialect.name == "postgresql"
        assert (first.table is not None) == (threshold == 2 and not pg)
        assert len(first) == 4   # duplicates dropped
        got = conn.execute(select(c.case_no).where(first.where(c.case_no)).order_by(c.case_no)).scalars().all()
        assert got == ["c01", "c03", "c07"]
        # the text form (case_rules.check_event_sequences)
        cond, params = first.sql("case_no")
        from sqlalchemy import text

        stmt = text(f"SELECT case_no FROM cases WHERE {cond} ORDER BY case_no").bindparams(*params)
        assert conn.execute(stmt).scalars().all() == ["c01", "c03", "c07"]
        # the same name filled again in the same transaction: the new keys only
        second = KeySet(conn, ["c02", "c10", "c09"], "t")
        got = conn.execute(select(c.case_no).where(second.where(c.case_no)).order_by(c.case_no)).scalars().all()
        assert got == ["c02", "c09", "c10"]
    # a later transaction starts empty (PostgreSQL empties the table at commit; each fill empties it first)
    with loaded_engine.begin() as conn:
        third = KeySet(conn, ["c05", "c06", "c04"], "t")
        got = conn.execute(select(c.case_no).where(third.where(c.case_no)).order_by(c.case_no)).scalars().all()
        assert got == ["c04", "c05", "c06"]


def test_on_postgresql_a_large_key_set_is_one_array_probed_in_the_index(loaded_engine, monkeypatch):
    """A temporary table has no statistics: PostgreSQL planned the sync's UPDATE of a 10,000-case batch's due times
    as a sequential scan of every case hashed against it (1.56 s at 1.07 M cases, 0.43 s with the array).  On
    PostgreSQL a large set is the array ``= ANY(:keys)``; SQLite keeps the table (its json_each is parsed again by
    every statement)."""
    from sqlalchemy import text

    monkeypatch.setattr(keyset, "KEY_TABLE_MIN", 2)
    c = cases.c
    with loaded_engine.begin() as conn:
        ks = KeySet(conn, ["c03", "c01", "c07"], "big")
        compiled = str(select(c.case_no).where(ks.where(c.case_no)).compile(dialect=conn.dialect))
        cond, params = ks.sql("case_no")
        if conn.dialect.name == "postgresql":
            assert ks.table is None and "= ANY" in compiled and "tmp_keys" not in compiled
            assert cond == "case_no = ANY(:keyset_values)" and len(params) == 1
        else:
            assert ks.table is not None and "tmp_keys_big" in compiled and "tmp_keys_big" in cond and params == []
        assert conn.execute(text(f"SELECT count(*) FROM cases WHERE {cond}").bindparams(*params)).scalar() == 3
