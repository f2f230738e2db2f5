"""A load's memory settings (issue 24: the 1.07 M load's index builds and roll-ups spilled their sorts to disk):
in force for the load's own transaction only.  SQLite: the page cache and temporary b-trees of the loader's
connection, put back after (the pool hands that connection to the next page); PostgreSQL: SET LOCAL, gone with
the transaction.  On SQLite and (GOV_TEST_PG_URL) PostgreSQL, loaded and refused."""
from __future__ import annotations

import pytest

from data_access.core import db
from data_access.ingest import loader
from data_access.ingest.loader import DatasetInvalid, load_dataset
from tests.test_loader import TINY, copy_tiny, edit_cell, new_engine  # noqa: F401 - new_engine: fixture


def _settings(conn) -> tuple:
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        return raw.execute("PRAGMA cache_size").fetchone()[0], raw.execute("PRAGMA temp_store").fetchone()[0]
    return tuple(conn.exec_driver_sql(f"SHOW {name}").scalar()
                 for name in ("maintenance_work_mem", "work_mem", "statement_timeout"))


def _expected_during(dialect: str) -> tuple:
    if dialect == "sqlite":
        return -db.LOAD_CACHE_MB * 1024, 2                 # temp_store 2 = MEMORY
    mb = lambda n: f"{n // 1024}GB" if n % 1024 == 0 else f"{n}MB"  # noqa: E731 - as SHOW prints it
    return mb(db.LOAD_MAINTENANCE_MB), mb(db.LOAD_WORK_MB), "0"


@pytest.fixture
def seen(monkeypatch):
    """The load's settings as the roll-ups are rebuilt (the last sort of the load)."""
    got: list[tuple] = []
    rebuild = loader.rebuild_all_summaries

    def spy(conn, **kw):
        got.append(_settings(conn))
        return rebuild(conn, **kw)

    monkeypatch.setattr(loader, "rebuild_all_summaries", spy)
    return got


def test_the_load_has_its_memory_and_the_connection_gets_its_settings_back(new_engine, seen):
    engine = new_engine()
    with engine.connect() as conn:
        before = _settings(conn)
    assert before != _expected_during(engine.dialect.name)
    load_dataset(TINY, engine)
    assert seen == [_expected_during(engine.dialect.name)]
    with engine.connect() as conn:        # the pool's connection the load used (SQLite: the only one)
        assert _settings(conn) == before


def test_a_refused_load_gives_the_settings_back_too(new_engine, tmp_path):
    engine = new_engine()
    d = copy_tiny(tmp_path)
    edit_cell(d, "cases.csv", "LD20240105000001", "due_at", "not a time")
    with engine.connect() as conn:
        before = _settings(conn)
    with pytest.raises(DatasetInvalid):
        load_dataset(d, engine)
    with engine.connect() as conn:
        assert _settings(conn) == before


@pytest.mark.parametrize("value, expected, said", [("", 1024, False), ("2048", 2048, False), ("abc", 1024, True),
                                                   ("0", 1024, True), ("-5", 1024, True), ("1.5", 1024, True)])
def test_a_bad_memory_setting_is_named_and_the_default_used(monkeypatch, capsys, value, expected, said):
    monkeypatch.setenv("GOV_LOAD_CACHE_MB", value)
    assert db._megabytes("GOV_LOAD_CACHE_MB", 1024) == expected
    err = capsys.readouterr().err
    assert (f"GOV_LOAD_CACHE_MB={value!r}: not a whole number of megabytes" in err) == said
