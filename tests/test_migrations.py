"""The schema migrates an existing database instead of needing a rebuild: going back to revision 0002 (before
the county-level summary) and forward again restores the summary from the data already there."""
from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select

from data_access.core.db import alembic_config
from data_access.core.schema import case_summary_county
from tests.conftest import FIXTURES


def _county_rows(engine):
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(case_summary_county)).all())


def test_downgrade_and_upgrade_keep_the_data(empty_engine):
    from data_access.ingest.loader import load_dataset

    load_dataset(FIXTURES / "metrics", empty_engine)
    before = _county_rows(empty_engine)
    assert before, "the fixture fills the county summary"
    cfg = alembic_config(empty_engine)
    command.downgrade(cfg, "0002")
    assert not inspect(empty_engine).has_table("case_summary_county")
    command.upgrade(cfg, "head")
    assert _county_rows(empty_engine) == before
    assert "ix_cases_reported_cover" in {i["name"] for i in inspect(empty_engine).get_indexes("cases")}
