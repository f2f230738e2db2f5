"""Input that slipped through the loader (issue 21, items 5–8): calendar edges, full-width digits,
control characters, integers beyond the column's type, over-long text.  Each defect is reproduced on a
copy of the tiny dataset and loaded on SQLite and (GOV_TEST_PG_URL) PostgreSQL: a refusal names its
file, line and column and nothing is written; an accepted value is stored normalised."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from data_access.core import schema
from data_access.ingest.loader import DatasetInvalid, load_dataset
from tests.test_loader import TINY, counts, copy_tiny, edit_cell, new_engine  # noqa: F401 - new_engine: fixture

FULL = str.maketrans("0123456789-:T+", "０１２３４５６７８９－：Ｔ＋")


def _refused(engine, d, expected: str, also: str = "") -> None:
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(d, engine)
    hits = [p for p in err.value.problems if p.startswith(expected)]
    assert hits, err.value.problems
    assert also in hits[0], hits
    assert set(counts(engine).values()) == {0}


# --- 5. the calendar's edges --------------------------------------------------------------------

def _year_9999(d):
    line = edit_cell(d, "supervisions.csv", "SV0001", "deadline", "9999-12-31T23:59:59-12:00")
    return f"supervisions.csv:{line} deadline: ", "1900–2200"


def _year_1(d):
    line = edit_cell(d, "case_events.csv", "LD20240105000001,1", "at", "0001-01-01T00:00:00+14:00")
    return f"case_events.csv:{line} at: ", "1900–2200"


def _year_1_in_cases(d):
    line = edit_cell(d, "cases.csv", "LD20240105000001", "due_at", "0001-01-01T00:00:00+08:00")
    return f"cases.csv:{line} due_at: ", "1900–2200"


def _date_3000(d):
    line = edit_cell(d, "staff.csv", "S001", "since", "3000-01-01")
    return f"staff.csv:{line} since: ", "1900–2200"


# --- 6. digits that are not ASCII and cannot be normalised to it --------------------------------

def _arabic_indic_int(d):
    line = edit_cell(d, "grids.csv", "431302001001001", "households", "١٢")
    return f"grids.csv:{line} households: not an integer", ""


def _arabic_indic_ts(d):
    line = edit_cell(d, "case_events.csv", "LD20240105000001,1", "at", "٢٠٢٤-01-05T09:00:00+08:00")
    return f"case_events.csv:{line} at: not a timestamp", ""


# --- 7. control characters, integers beyond the column's type ------------------------------------

def _nul_in_title(d):
    line = edit_cell(d, "cases.csv", "LD20240105000001", "title", "排水\x00沟")
    return f"cases.csv:{line} title: ", "U+0000"


def _escape_in_note(d):
    line = edit_cell(d, "case_events.csv", "LD20240105000001,2", "note", "当场\x1b[31m调解")
    return f"case_events.csv:{line} note: ", "U+001B"


def _int_above_2_63(d):
    line = edit_cell(d, "grids.csv", "431302001001001", "population", str(2 ** 63 + 5))
    return f"grids.csv:{line} population: ", "above the maximum 2147483647"


def _int_above_2_31(d):
    line = edit_cell(d, "case_events.csv", "LD20240105000001,2", "seq", str(2 ** 31))
    return f"case_events.csv:{line} seq: ", "above the maximum 2147483647"


EDGES = [_year_9999, _year_1, _year_1_in_cases, _date_3000, _arabic_indic_int, _arabic_indic_ts,
         _nul_in_title, _escape_in_note, _int_above_2_63, _int_above_2_31]


@pytest.mark.parametrize("breaker", EDGES, ids=[b.__name__.strip("_") for b in EDGES])
def test_edge_input_is_refused_with_its_place(new_engine, tmp_path, breaker):
    d = copy_tiny(tmp_path)
    expected, also = breaker(d)
    _refused(new_engine(), d, expected, also)


def test_full_width_digits_are_normalised_on_both_databases(new_engine, tmp_path):
    """Decision (docs/DATA_CONTRACT.md): a typed cell is NFKC-normalised before it is parsed, so the
    full-width digits an input method types load as the ASCII value, the same on both databases."""
    d = copy_tiny(tmp_path)
    edit_cell(d, "case_events.csv", "LD20240105000001,1", "at", "2024-01-05T09:00:00+08:00".translate(FULL))
    edit_cell(d, "cases.csv", "LD20240105000001", "reported_at", "2024-01-05T09:00:00".translate(FULL))
    edit_cell(d, "supervisions.csv", "SV0001", "issued_at", "2024-02-13T15:00:00+08:00".translate(FULL))
    edit_cell(d, "grids.csv", "431302001001001", "households", "１２")
    edit_cell(d, "categories.csv", "neighbour", "time_limit_hours", "７２.５")
    edit_cell(d, "staff.csv", "S001", "since", "2020-03-01".translate(FULL))
    engine = new_engine()
    load_dataset(d, engine)
    with engine.connect() as conn:
        def one(col, where):
            return conn.execute(select(col).where(where)).scalar_one()
        ev = schema.case_events.c
        assert str(one(ev.at, (ev.case_no == "LD20240105000001") & (ev.seq == 1)))[:19] == "2024-01-05 09:00:00"
        assert str(one(schema.cases.c.reported_at,
                       schema.cases.c.case_no == "LD20240105000001"))[:19] == "2024-01-05 09:00:00"
        sv = schema.supervisions.c
        assert str(one(sv.issued_at, sv.supervision_id == "SV0001"))[:19] == "2024-02-13 15:00:00"
        assert one(schema.grids.c.households, schema.grids.c.code == "431302001001001") == 12
        assert one(schema.categories.c.time_limit_hours, schema.categories.c.code == "neighbour") == 72.5
        assert str(one(schema.staff.c.since, schema.staff.c.staff_id == "S001")) == "2020-03-01"


# --- 8. text longer than the contract allows --------------------------------------------------------

def _long_title(d):
    line = edit_cell(d, "cases.csv", "LD20240105000001", "title", "长" * 201)
    return f"cases.csv:{line} title: too long, 201 chars, max 200", ""


def _ten_megabyte_title(d):
    line = edit_cell(d, "cases.csv", "LD20240105000001", "title", "x" * 10_000_000)
    return f"cases.csv:{line} title: too long, 10000000 chars, max 200", ""


def _long_event_note(d):
    line = edit_cell(d, "case_events.csv", "LD20240105000001,2", "note", "调" * 2001)
    return f"case_events.csv:{line} note: too long, 2001 chars, max 2000", ""


def _long_name(d):
    line = edit_cell(d, "staff.csv", "S001", "name", "王" * 101)
    return f"staff.csv:{line} name: too long, 101 chars, max 100", ""


def _long_description(d):
    line = edit_cell(d, "cases.csv", "LD20240105000001", "description", "述" * 5001)
    return f"cases.csv:{line} description: too long, 5001 chars, max 5000", ""


LONG = [_long_title, _ten_megabyte_title, _long_event_note, _long_name, _long_description]


@pytest.mark.parametrize("breaker", LONG, ids=[b.__name__.strip("_") for b in LONG])
def test_text_longer_than_the_contract_is_refused(new_engine, tmp_path, breaker):
    d = copy_tiny(tmp_path)
    expected, also = breaker(d)
    _refused(new_engine(), d, expected, also)


def test_text_at_the_limit_loads(new_engine, tmp_path):
    d = copy_tiny(tmp_path)
    edit_cell(d, "cases.csv", "LD20240105000001", "title", "长" * 200)
    engine = new_engine()
    load_dataset(d, engine)
    with engine.connect() as conn:
        title = conn.execute(select(schema.cases.c.title)
                             .where(schema.cases.c.case_no == "LD20240105000001")).scalar_one()
    assert title == "长" * 200


def test_every_text_column_of_the_contract_has_a_limit():
    from data_access.core.contract import FILES, max_len
    for spec in FILES:
        for col in spec.columns:
            if col.kind == "str":
                assert col.max_len is not None and col.max_len >= 20, (spec.name, col.name)
    assert (max_len("cases", "title"), max_len("cases", "description"), max_len("case_events", "note"),
            max_len("supervisions", "note"), max_len("staff", "name")) == (200, 5000, 2000, 2000, 100)


def test_the_derived_columns_are_written_where_no_update_has_to_touch_an_index(new_engine, monkeypatch):
    """The event counts and due times are written before the indexes of cases are built, the re-report flags
    (found through ix_cases_same_matter) before the search indexes: on PostgreSQL each UPDATE of a case writes an
    entry into every index of the table, and after all of them the two UPDATEs took 14.9 and 12.4 s of a 1.07 M
    load (PERFORMANCE.md, "The derived columns before the indexes").  The counts are those of the events."""
    from sqlalchemy import inspect

    from data_access.ingest import loader

    indexes: dict[str, set[str]] = {}

    def spy(name, real):
        def call(conn, *args, **kw):
            indexes[name] = {i["name"] for i in inspect(conn).get_indexes("cases")}
            return real(conn, *args, **kw)
        return call

    for name in ("derive_event_counts", "apply_rules", "derive_rereported", "resume_text_index"):
        monkeypatch.setattr(loader, name, spy(name, getattr(loader, name)))
    engine = new_engine()
    load_dataset(TINY, engine)
    every = {i.name for i in schema.cases.indexes}
    assert indexes["derive_event_counts"] == indexes["apply_rules"] == set()
    assert indexes["derive_rereported"] == every            # ix_cases_same_matter among them
    assert "ix_cases_search_grams" not in indexes["resume_text_index"] and "ix_cases_title_trgm" not in \
        indexes["resume_text_index"]
    c = schema.cases.c
    with engine.connect() as conn:   # tiny's one return (LD20240201000003), no reassignment or reopening
        counted = conn.execute(select(c.case_no, c.n_returns, c.n_reassigns, c.n_reopens)
                               .where((c.n_returns + c.n_reassigns + c.n_reopens) > 0)).all()
    assert [tuple(r) for r in counted] == [("LD20240201000003", 1, 0, 0)]
