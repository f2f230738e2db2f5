"""The test suite's own PostgreSQL snapshots (tests/conftest.py: each worker loads a fixture once and puts its rows
back for the next test): rows go back into their columns by name, whatever the physical order of the columns.

Two CI runs failed on one worker only: the workflow writes' roll-ups differed from a rebuild by values shifted one
column to the right from ``accept_seconds`` on, and the plan checks read other rows than their fixture's.  A test
on that worker had re-made a table through a migration, which adds a column at the end of the row where a
fresh schema has it in the middle; the schema's fingerprint (names, types, indexes) was the same, and COPY without
a column list wrote the snapshot's rows in their old order."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from data_access.core.rollups import rebuild_all_summaries
from data_access.core.schema import process_summary
from tests.conftest import PG_SKIP_REASON, PG_URL, metrics_db


def _rows(conn):
    return sorted(tuple(r) for r in conn.execute(select(process_summary)).all())


def _move_to_the_end(conn, table: str, column: str, sql_type: str) -> None:
    """Re-make ``column`` as a migration does (a new column at the end, filled, the old one dropped): the same
    names, types and constraints, another physical order."""
    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN moved {sql_type}"))
    conn.execute(text(f"UPDATE {table} SET moved = {column}"))
    conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    conn.execute(text(f"ALTER TABLE {table} RENAME COLUMN moved TO {column}"))
    conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL"))


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)
def test_a_snapshot_goes_back_into_its_columns_by_name(tmp_path):
    first = metrics_db("pg", tmp_path)            # the worker's snapshot of the fixture (taken or put back)
    with first.connect() as conn:
        expected = _rows(conn)
    assert expected and any(r[16] for r in expected)   # accept_seconds (column 17) holds numbers
    with first.begin() as conn:
        _move_to_the_end(conn, "process_summary", "accept_seconds", "BIGINT")
        order = conn.execute(text("SELECT attname FROM pg_attribute WHERE attrelid = 'process_summary'::regclass "
                                  "AND attnum > 0 AND NOT attisdropped ORDER BY attnum DESC LIMIT 1")).scalar()
        assert order == "accept_seconds"
    first.dispose()
    again = metrics_db("pg", tmp_path)            # put back from the snapshot into the re-made table
    try:
        with again.connect() as conn:
            trans = conn.begin()
            assert conn.execute(text("SELECT current_database()")).scalar() in PG_URL
            assert _rows(conn) == expected
            rebuild_all_summaries(conn)
            assert _rows(conn) == expected
            trans.rollback()
    finally:
        again.dispose()
