"""Loader, validator, exporter and CLI on the tiny hand-written dataset.

Runs on SQLite (tmp_path) and, when GOV_TEST_PG_URL is set, on PostgreSQL
(the schema there is dropped and recreated for each test).
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from data_access.core import db, schema
from data_access.core.contract import FILES
from data_access.ingest.exporter import export_dataset
from data_access.ingest.loader import (DatabaseNotEmpty, DatasetInvalid, LoadResult, check_dataset,
                                load_dataset, parse_ts)

TINY = Path(__file__).parent / "fixtures" / "tiny"
PROJECT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("GOV_TEST_PG_URL", "").strip()

TINY_COUNTS = {"regions": 10, "grids": 6, "staff": 6, "volunteer_teams": 2, "volunteer_activities": 3,
               "departments": 3, "categories": 3, "cases": 12, "case_events": 51, "supervisions": 2, "case_extensions": 0,
               "asset_projects": 2, "asset_project_months": 3, "clean_units": 2, "clean_unit_reviews": 4}


# --- engines ------------------------------------------------------------------------------------

def _fresh_pg(url: str):
    engine = db.make_engine(url)
    schema.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()
    return db.make_engine(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_engine(request, tmp_path):
    """A factory of empty, migrated databases of one dialect."""
    made = []

    def make(name: str = "a"):
        if request.param == "sqlite":
            engine = db.make_engine(f"sqlite:///{tmp_path / (name + '.db')}")
        else:
            for e in made:          # PostgreSQL: one database, recreated
                e.dispose()
            engine = _fresh_pg(PG_URL)
        made.append(engine)
        return engine

    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL tests need GOV_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    yield make
    for e in made:
        e.dispose()


@pytest.fixture
def engine(new_engine):
    return new_engine()


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
               for t in [*schema.DATASET_TABLES, schema.case_extensions]}
        out["case_summary"] = conn.execute(select(func.count()).select_from(schema.case_summary)).scalar_one()
        out["data_meta"] = conn.execute(select(func.count()).select_from(schema.data_meta)).scalar_one()
    return out


def table_rows(engine, table) -> list[tuple]:
    # the row times (produced_at, changed_at) are the load's own, not the data's
    cols = [c for c in table.c if c.name != "id" and c.name not in schema.SYNC_STAMP_COLUMNS]
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(*cols)).all())


# --- editing copies of the tiny set -------------------------------------------------------------

def copy_tiny(tmp_path: Path, name: str = "broken") -> Path:
    d = tmp_path / name
    shutil.copytree(TINY, d)
    return d


def read_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def edit_cell(d: Path, file: str, key: str, column: str, value: str) -> int:
    """Set one cell of the row whose first column is ``key`` (or ``key`` = 'a,b' for the first two).

    Returns the physical line where that record starts."""
    keys = key.split(",")
    line = line_of(d / file, keys)
    rows = read_rows(d / file)
    header = rows[0]
    for r in rows[1:]:
        if r[:len(keys)] == keys:
            r[header.index(column)] = value
            break
    else:
        raise AssertionError(f"{key} not in {file}")
    write_rows(d / file, rows)
    return line


def line_of(path: Path, keys: list[str]) -> int:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        while True:
            start = reader.line_num + 1
            row = next(reader)
            if row[:len(keys)] == keys:
                return start


# --- a valid dataset ----------------------------------------------------------------------------

def test_tiny_loads_with_derived_columns(engine):
    result = load_dataset(TINY, engine)
    assert isinstance(result, LoadResult)
    assert result.counts == TINY_COUNTS
    assert result.warnings == []
    got = counts(engine)
    assert {k: got[k] for k in TINY_COUNTS} == TINY_COUNTS
    assert got["case_summary"] > 0
    c = schema.cases.c
    with engine.connect() as conn:
        rows = {r.case_no: r for r in conn.execute(select(schema.cases)).all()}
        meta = dict(conn.execute(select(schema.data_meta.c.key, schema.data_meta.c.value)).all())
    # LD…0006: UTC and +09:00 offsets converted to Shanghai time; city-level, closed late
    r = rows["LD20240305000006"]
    assert r.reported_at == datetime(2024, 3, 5, 9, 0) and r.accepted_at == datetime(2024, 3, 5, 9, 0)
    assert (r.province_code, r.city_code, r.county_code, r.township_code, r.village_code) == \
        (None, "431300", "431322", "431322100", "431322100001")
    assert r.top_grid_code == "431322100001001" and r.report_month == "2024-03"
    assert r.hours_to_close == pytest.approx(360.0) and r.closed_late is True
    # LD…0005: on a micro-grid (top grid = its parent grid), no offset = local time, 45 minutes
    r = rows["LD20240301000005"]
    assert r.grid_code == "431322100001001-01" and r.top_grid_code == "431322100001001"
    assert r.reported_at == datetime(2024, 3, 1, 9, 0)
    assert r.hours_to_close == pytest.approx(0.75) and r.closed_late is False and r.on_the_spot is True
    # LD…0002: closed 2 h after due; open case: no hours, no lateness
    assert rows["LD20240110000002"].closed_late is True and rows["LD20240110000002"].hours_to_close == 26.0
    r = rows["LD20240601000007"]
    assert r.hours_to_close is None and r.closed_late is None and r.status == "feedback"
    assert rows["LD20240620000010"].on_the_spot is False   # empty cell → the default
    assert meta["source"] == "tiny" and datetime.fromisoformat(meta["loaded_at"]).tzinfo is not None
    # the bulk load dropped and rebuilt the secondary indexes of cases
    names = {ix["name"] for ix in inspect(engine).get_indexes("cases")}
    assert {ix.name for ix in schema.cases.indexes} <= names
    # summary agrees with the cases
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(schema.case_summary.c.n))).scalar_one() == 12
        assert conn.execute(select(func.count()).where(c.status == "closed")).scalar_one() == 6


def test_awkward_text_is_stored_exactly(engine):
    load_dataset(TINY, engine)
    with engine.connect() as conn:
        desc = conn.execute(select(schema.cases.c.description)
                            .where(schema.cases.c.case_no == "LD20240210000004")).scalar_one()
        title = conn.execute(select(schema.cases.c.title)
                             .where(schema.cases.c.case_no == "LD20240201000003")).scalar_one()
        emoji = conn.execute(select(schema.cases.c.title)
                             .where(schema.cases.c.case_no == "LD20240301000005")).scalar_one()
        region = conn.execute(select(schema.regions.c.name)
                              .where(schema.regions.c.code == "431302001002")).scalar_one()
        code = conn.execute(select(schema.regions.c.code).where(schema.regions.c.level == "city")).scalar_one()
    assert desc == '第一行\n第二行, with comma\n"第三行"'
    assert title == 'He said "no", then left, again'
    assert emoji == "下水道堵塞🚰 微网格"
    assert region == '"长青"社区, 东区'      # regions.csv starts with a BOM
    assert code == "431300"


def test_check_dataset_changes_nothing(engine):
    before = counts(engine)
    result = check_dataset(TINY, engine)
    assert result.counts == TINY_COUNTS
    assert counts(engine) == before
    assert check_dataset(TINY).counts == TINY_COUNTS       # scratch database


def test_unknown_column_is_a_warning(engine, tmp_path):
    d = copy_tiny(tmp_path, "extra")
    rows = read_rows(d / "staff.csv")
    rows[0].append("wechat")
    for r in rows[1:]:
        r.append("wx")
    write_rows(d / "staff.csv", rows)
    result = load_dataset(d, engine)
    assert any("staff.csv:1 wechat: unknown column" in w for w in result.warnings)
    assert result.counts["staff"] == 6


def test_optional_files_and_optional_columns_may_be_absent(engine, tmp_path):
    d = copy_tiny(tmp_path, "lean")
    for f in ("supervisions.csv", "asset_projects.csv", "asset_project_months.csv", "clean_units.csv",
              "clean_unit_reviews.csv", "volunteer_activities.csv"):
        (d / f).unlink()
    rows = read_rows(d / "grids.csv")
    write_rows(d / "grids.csv", [r[:4] for r in rows])     # no households, population, lat, lon
    result = load_dataset(d, engine)
    assert result.counts["supervisions"] == 0 and result.counts["grids"] == 6


# --- broken datasets ----------------------------------------------------------------------------

def _unknown_reference(d):
    line = edit_cell(d, "cases.csv", "LD20240301000005", "grid_code", "X")
    assert line == 8       # the record before it spans lines 5–7 (embedded newlines)
    return "cases.csv:8 grid_code: unknown grid 'X'"


def _timestamps_out_of_order(d):
    line = edit_cell(d, "cases.csv", "LD20240305000006", "closed_at", "2024-03-17T09:00:00+08:00")
    return f"cases.csv:{line} closed_at: 2024-03-17 09:00:00 is earlier than feedback_at"


def _due_before_reported(d):
    line = edit_cell(d, "cases.csv", "LD20240110000002", "due_at", "2024-01-09T08:00:00+08:00")
    return f"cases.csv:{line} due_at:"


def _status_disagrees(d):
    line = edit_cell(d, "cases.csv", "LD20240610000008", "feedback_at", "2024-06-11T09:00:00+08:00")
    return f"cases.csv:{line} feedback_at: is set but status is 'handling'"


def _skipped_step(d):
    line = edit_cell(d, "cases.csv", "LD20240110000002", "dispatched_at", "")
    return f"cases.csv:{line} dispatched_at: is missing"


def _closed_without_level(d):
    line = edit_cell(d, "cases.csv", "LD20240201000003", "resolution_level", "")
    return f"cases.csv:{line} resolution_level: is required when status is 'closed'"


def _bad_enum(d):
    line = edit_cell(d, "cases.csv", "LD20240110000002", "source", "fax")
    return f"cases.csv:{line} source: unknown value 'fax'"


def _duplicate_key(d):
    rows = read_rows(d / "grids.csv")
    rows.append(list(rows[2]))
    write_rows(d / "grids.csv", rows)
    return "grids.csv:8 code: duplicate code '431302001001002' (first on line 3)"


def _duplicate_event(d):
    rows = read_rows(d / "case_events.csv")
    rows.append(list(rows[1]))
    write_rows(d / "case_events.csv", rows)
    n = sum(1 for _ in open(d / "case_events.csv", encoding="utf-8", newline=""))
    return f"case_events.csv:{n} seq: duplicate case_no / seq 'LD20240105000001 / 1' (first on line 2)"


def _bad_number(d):
    edit_cell(d, "categories.csv", "sewer", "time_limit_hours", "24h")
    return "categories.csv:4 time_limit_hours: not a number: '24h'"


def _out_of_range(d):
    line = edit_cell(d, "cases.csv", "LD20240105000001", "satisfaction", "6")
    return f"cases.csv:{line} satisfaction: 6 is above the maximum 5"


def _bad_timestamp(d):
    line = edit_cell(d, "supervisions.csv", "SV0001", "deadline", "2024-02-30T10:00:00+08:00")
    return f"supervisions.csv:{line} deadline: not a valid date/time"


def _deadline_before_issue(d):
    line = edit_cell(d, "supervisions.csv", "SV0002", "deadline", "2024-03-09T10:00:00+08:00")
    return f"supervisions.csv:{line} deadline:"


def _missing_file(d):
    (d / "cases.csv").unlink()
    return "cases.csv: required file is missing"


def _missing_column(d):
    rows = read_rows(d / "cases.csv")
    i = rows[0].index("title")
    write_rows(d / "cases.csv", [r[:i] + r[i + 1:] for r in rows])
    return "cases.csv:1 title: required column is missing"


def _event_seq_gap(d):
    line = edit_cell(d, "case_events.csv", "LD20240110000002,6", "seq", "7")
    return f"case_events.csv:{line} seq: 7 follows 5"


def _event_goes_back(d):
    line = edit_cell(d, "case_events.csv", "LD20240105000001,2", "at", "2024-01-05T08:30:00+08:00")
    return f"case_events.csv:{line} at: 2024-01-05 08:30:00 is earlier than event seq 1"


def _bad_utf8(d):
    data = (d / "staff.csv").read_bytes().split(b"\n")
    assert "刘芳".encode() in data[4]
    data[4] = data[4].replace("刘芳".encode(), "刘芳".encode("gbk"))   # a GBK name on line 5
    (d / "staff.csv").write_bytes(b"\n".join(data))
    return "staff.csv:5: not valid UTF-8"


def _region_parent_level(d):
    line = edit_cell(d, "regions.csv", "431302002001", "parent_code", "431302001001")
    return f"regions.csv:{line} parent_code: parent '431302001001' is a village, not a level above village"


def _grid_in_township(d):
    line = edit_cell(d, "grids.csv", "431302002001001", "village_code", "431302002")
    return f"grids.csv:{line} village_code: region '431302002' is a township, not a village"


def _micro_grid_of_micro_grid(d):
    rows = read_rows(d / "grids.csv")
    rows.append(["431322100001001-02", "x", "431322100001", "431322100001001-01", "", "", "", ""])
    write_rows(d / "grids.csv", rows)
    return "grids.csv:8 parent_grid_code: '431322100001001-01' is itself a micro-grid"


def _staff_without_place(d):
    line = edit_cell(d, "staff.csv", "S001", "region_code", "")
    return f"staff.csv:{line} grid_code: one of grid_code and region_code must be set"


def _bad_month(d):
    line = edit_cell(d, "asset_project_months.csv", "P001,2024-02", "month", "2024-13")
    return f"asset_project_months.csv:{line} month: not a month YYYY-MM"


def _wrong_field_count(d):
    with open(d / "departments.csv", "a", encoding="utf-8", newline="") as f:
        f.write("X,only two\r\n")
    return "departments.csv:5: expected 3 fields, found 2"


BROKEN = [_unknown_reference, _timestamps_out_of_order, _due_before_reported, _status_disagrees,
          _skipped_step, _closed_without_level, _bad_enum, _duplicate_key, _duplicate_event, _bad_number,
          _out_of_range, _bad_timestamp, _deadline_before_issue, _missing_file, _missing_column,
          _event_seq_gap, _event_goes_back, _bad_utf8, _region_parent_level, _grid_in_township,
          _micro_grid_of_micro_grid, _staff_without_place, _bad_month, _wrong_field_count]


@pytest.mark.parametrize("breaker", BROKEN, ids=[b.__name__.strip("_") for b in BROKEN])
def test_broken_dataset_is_refused_and_db_unchanged(new_engine, tmp_path, breaker):
    d = copy_tiny(tmp_path)
    expected = breaker(d)
    engine = new_engine()
    # into an empty database
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(d, engine)
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems
    assert set(counts(engine).values()) == {0}
    with pytest.raises(DatasetInvalid):
        check_dataset(d)
    # over existing data, with replace: still all or nothing
    load_dataset(TINY, engine)
    before = counts(engine)
    rows_before = table_rows(engine, schema.cases)
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(d, engine, replace=True)
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems
    assert counts(engine) == before
    assert table_rows(engine, schema.cases) == rows_before


def test_problems_are_capped_per_file(engine, tmp_path):
    d = copy_tiny(tmp_path)
    rows = read_rows(d / "categories.csv")
    rows += [[f"c{i}", "x", "x", "-1"] for i in range(300)]
    write_rows(d / "categories.csv", rows)
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(d, engine)
    mine = [p for p in err.value.problems if p.startswith("categories.csv")]
    assert 200 <= len(mine) <= 202 and "stopped checking" in mine[-1]


# --- round trip and replace ---------------------------------------------------------------------

def test_round_trip_is_lossless(new_engine, tmp_path):
    first = new_engine("first")
    load_dataset(TINY, first)
    out1 = tmp_path / "export1"
    assert export_dataset(first, out1) == TINY_COUNTS
    rows1 = {t.name: table_rows(first, t) for t in schema.DATASET_TABLES}
    derived1 = table_rows(first, schema.case_summary)
    second = new_engine("second")
    load_dataset(out1, second)
    out2 = tmp_path / "export2"
    export_dataset(second, out2)
    for spec in FILES:
        assert (out1 / spec.name).read_bytes() == (out2 / spec.name).read_bytes(), spec.name
        with open(out1 / spec.name, encoding="utf-8", newline="") as f:
            assert next(csv.reader(f)) == spec.column_names
    for t in schema.DATASET_TABLES:
        assert table_rows(second, t) == rows1[t.name], t.name
    assert table_rows(second, schema.case_summary) == derived1
    # the exported format itself
    cases = read_rows(out1 / "cases.csv")
    h = cases[0]
    row6 = next(r for r in cases if r[0] == "LD20240305000006")
    assert row6[h.index("reported_at")] == "2024-03-05T09:00:00+08:00"
    assert row6[h.index("on_the_spot")] == "false" and row6[h.index("satisfaction")] == "2"
    assert "top_grid_code" not in h
    months = read_rows(out1 / "asset_project_months.csv")
    assert months[1] == ["P001", "2024-01", "10.25", "620000"]


def test_replace_semantics(engine, tmp_path):
    load_dataset(TINY, engine)
    before = counts(engine)
    small = copy_tiny(tmp_path, "small")
    rows = read_rows(small / "clean_unit_reviews.csv")
    write_rows(small / "clean_unit_reviews.csv", rows[:2])
    with pytest.raises(DatabaseNotEmpty):
        load_dataset(small, engine)
    assert counts(engine) == before
    result = load_dataset(small, engine, replace=True)
    assert result.counts["clean_unit_reviews"] == 1
    after = counts(engine)
    assert after["clean_unit_reviews"] == 1 and after["cases"] == 12
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM data_meta WHERE key = 'source'")).scalar_one() == "small"


# --- units ----------------------------------------------------------------------------------------

def test_parse_ts():
    assert parse_ts("2024-03-05T09:00:00+08:00") == "2024-03-05 09:00:00"
    assert parse_ts("2024-03-05T09:00:00") == "2024-03-05 09:00:00"
    assert parse_ts("2024-03-05T01:00:00Z") == "2024-03-05 09:00:00"
    assert parse_ts("2024-03-05T23:30:00-05:00") == "2024-03-06 12:30:00"
    for bad in ("2024-03-05", "2024-3-5T09:00:00", "2024-03-05T09:00:00.5", "2024-02-30T00:00:00", "x"):
        with pytest.raises(ValueError):
            parse_ts(bad)


def test_contract_matches_schema():
    for spec in FILES:
        table = schema.metadata.tables[spec.table]
        for col in spec.columns:
            c = table.c[col.name]
            if col.required:
                assert not c.nullable, (spec.name, col.name)
            elif not c.nullable:
                assert col.default is not None or c.server_default is not None, (spec.name, col.name)


# --- CLI ------------------------------------------------------------------------------------------

def _cli(*args, db_url: str):
    return subprocess.run([sys.executable, "-m", "data_access", "--db", db_url, *args],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)


def test_cli_check_load_export(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    d = copy_tiny(tmp_path)
    _bad_enum(d)
    _unknown_reference(d)
    r = _cli("check", str(d), db_url=url)
    assert r.returncode == 1
    assert "cases.csv:8 grid_code: unknown grid 'X'" in r.stdout
    assert "cases.csv:3 source: unknown value 'fax'" in r.stdout
    assert "Traceback" not in r.stderr
    r = _cli("load", str(d), db_url=url)
    assert r.returncode == 1 and "cases.csv:8 grid_code:" in r.stdout
    r = _cli("load", str(TINY), db_url=url)
    assert r.returncode == 0, r.stderr
    assert "cases" in r.stdout and "loaded" in r.stdout
    r = _cli("load", str(TINY), db_url=url)
    assert r.returncode == 2 and "--replace" in r.stderr
    r = _cli("load", str(TINY), "--replace", db_url=url)
    assert r.returncode == 0, r.stderr
    r = _cli("export", str(tmp_path / "out"), db_url=url)
    assert r.returncode == 0 and (tmp_path / "out" / "cases.csv").is_file()
    r = _cli("check", str(tmp_path / "out"), db_url=url)
    assert r.returncode == 0, r.stdout


def test_cli_lists_at_most_50_problems(tmp_path):
    d = copy_tiny(tmp_path)
    rows = read_rows(d / "categories.csv")
    rows += [[f"c{i}", "x", "x", "0"] for i in range(80)]
    write_rows(d / "categories.csv", rows)
    r = _cli("check", str(d), db_url=f"sqlite:///{tmp_path / 'cli.db'}")
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 51 and lines[-1] == "… and 30 more"
