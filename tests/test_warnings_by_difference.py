"""The early warnings read their daily counts from ``case_day_counts`` (core/rollups.py), which the sync keeps by
difference: after a sync the roll-up is exactly its rebuild, and the warnings stored by a refresh on it are exactly
those stored by a refresh on the rebuilt roll-up.  Both backends.

The fixture: the sync tests' base (tests/fixtures/metrics: grids G1 in village 1111 and G2 in 1112, township 111,
county 110; G3 in 1211, 121, 120; categories A and B; cases of January to March 2026), then

- batch ``h`` (history): from 2026-04-06 to 2026-06-14 (70 days), 3 cases a day of each of A and B in each of G1,
  G2 and G3, closed the same day (1,260 cases);
- batch ``s`` (the day): 2026-06-15 (a Monday, a working day): 14 cases of A in G1 and the usual 3 of A and B
  everywhere else; c01 (a base case of 5 January) and two history cases of 2026-06-14 (G2, B) deleted; one
  history case of 2026-06-13 moved from G3 A to G1 B.

As of 2026-06-15, G1's A is 14 against the trimmed mean of the last eight Mondays, 3; village 1111 is G1 alone,
township 111 (villages 1111 and 1112) and county 110 (township 111 alone) 17 against 6.  One surge warning, at the
county: a place with one child is reported as itself, and the village's 14 is within chance of its expectation
scaled by the county's rise (3 × 17/6 = 8.5: P(X ≥ 14) > 5 %), so the county's warning explains it."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from data_access.core import schema
from data_access.core import warnings as W
from data_access.core.rollups import rebuild_all_summaries
from data_access.ingest.loader import load_dataset
from data_access.ingest.sync import sync_batch
from tests.conftest import fresh_engine
from tests.test_sync import _fixture, base_dataset, write_batch

FIRST = date(2026, 4, 6)
DAY = date(2026, 6, 15)   # a Monday
GRIDS = ("G1", "G2", "G3")


def _case(header: list[str], no: str, grid: str, category: str, at: datetime) -> list[str]:
    v = dict(case_no=no, grid_code=grid, category=category, source="patrol", title="t", status="closed",
             reported_at=at.isoformat(), closed_at=(at + timedelta(hours=1)).isoformat(),
             due_at=(at + timedelta(days=1)).isoformat(), resolution_level="grid", on_the_spot="true")
    return [v.get(c, "") for c in header]


def _day_rows(header, d: date, surge: int = 0) -> list[list[str]]:
    rows = []
    for g in GRIDS:
        for c in "AB":
            k = surge if (g, c) == ("G1", "A") and surge else 3
            rows += [_case(header, f"h{d:%m%d}{g}{c}{i:02d}", g, c,
                           datetime(d.year, d.month, d.day, 8 + i // 12, 5 * (i % 12))) for i in range(k)]
    return rows


def _stored(engine) -> list[tuple]:
    t = schema.warnings
    cols = [c for c in t.c if c.name not in ("id", "computed_at")]
    with engine.connect() as conn:
        return sorted((tuple(r) for r in conn.execute(select(*cols))), key=repr)


def _day_counts(engine) -> list[tuple]:
    with engine.connect() as conn:
        return sorted((tuple(r) for r in conn.execute(select(schema.case_day_counts))), key=repr)


def _check_against_rebuild(engine) -> list[tuple]:
    """The roll-up kept by difference equals its rebuild, and so do the warnings a refresh stores on either."""
    W.refresh(engine)
    by_difference, kept = _stored(engine), _day_counts(engine)
    with engine.begin() as conn:
        rebuild_all_summaries(conn)
        conn.execute(delete(schema.warnings))
    assert _day_counts(engine) == kept
    W.refresh(engine)
    assert _stored(engine) == by_difference
    return by_difference


@pytest.fixture(params=["sqlite", "pg"])
def engine(request, tmp_path, monkeypatch):
    monkeypatch.setenv("GOV_WARNINGS_AUTO", "0")   # refreshed by the test itself
    eng = fresh_engine(request.param, tmp_path)
    load_dataset(base_dataset(tmp_path / "base"), eng)
    yield eng
    eng.dispose()


def test_a_refresh_after_a_sync_is_the_refresh_of_a_rebuild(engine, tmp_path: Path):
    h, _ = _fixture("cases.csv")
    history = [r for i in range(70) for r in _day_rows(h, FIRST + timedelta(days=i))]
    assert len(history) == 1260
    sync_batch(write_batch(tmp_path / "h", "h", "2026-06-15T01:00:00+08:00", {"cases.csv": (h, history)}), engine)
    assert _check_against_rebuild(engine) == []   # 3 a day everywhere: nothing unusual

    moved = _case(h, "h0613G3A00", "G1", "B", datetime(2026, 6, 13, 8, 0))
    s = sync_batch(write_batch(tmp_path / "s", "s", "2026-06-16T01:00:00+08:00", {
        "cases.csv": (h, [*_day_rows(h, DAY, surge=14), moved])},
        deletions=[("cases", "c01"), ("cases", "h0614G2B00"), ("cases", "h0614G2B01")]), engine)
    assert s.cases_touched > 0
    with engine.connect() as conn:
        c = schema.case_day_counts.c
        rows = dict(((d, g, cat), n) for d, g, cat, n in conn.execute(
            select(c.day, c.top_grid_code, c.category, c.n).where(c.day.in_(["2026-01-05", "2026-06-13",
                                                                            "2026-06-14", "2026-06-15"]))))
    # the deletions and the move, by difference: c01 was G1's only case of A on 5 January
    assert ("2026-01-05", "G1", "A") not in rows
    assert rows[("2026-06-14", "G2", "B")] == 1
    assert (rows[("2026-06-13", "G3", "A")], rows[("2026-06-13", "G1", "B")]) == (2, 4)
    assert rows[("2026-06-15", "G1", "A")] == 14

    stored = _check_against_rebuild(engine)
    surges = [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in stored if r[0] == "surge"]
    # kind, region, level, category, first day, last day, observed, expected
    assert surges == [("surge", "110", "county", "A", DAY, DAY, 17.0, 6.0)]


def test_migration_0025_makes_the_table_and_the_index_of_the_schema_and_fills_it(engine, tmp_path: Path):
    """0025 on a database that has cases (the base): the table and its indexes as the schema has them, and the rows
    a rebuild gives (down to 0024, the cases kept; up again, the roll-up built by the migration's own statement)."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from data_access.core.db import alembic_config
    from data_access.core.schema import metadata

    built = _day_counts(engine)
    # the base's cases counted here by (day, top grid, category), in Python
    c = schema.cases.c
    with engine.connect() as conn:
        mine = Counter((f"{at:%Y-%m-%d}", g, cat) for at, g, cat in conn.execute(
            select(c.reported_at, c.top_grid_code, c.category)))
    assert {(r[1], r[5], r[6]): r[7] for r in built} == dict(mine) and sum(mine.values()) == 8
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0024")
    command.upgrade(cfg, "head")
    assert _day_counts(engine) == built
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if "case_day_counts" in repr(d) or "ix_cases_closed_at" in repr(d)] == []
