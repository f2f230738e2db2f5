"""Property tests of the loader's cell converters (data_access/ingest/converting.py) and CSV reading (reading.py),
and of the exporter's values reading back (exporter.py): generated inputs, not a hand-written list (issue 21).

The properties: a converter returns a value of its kind within the contract (docs/DATA_CONTRACT.md, "Values") or
refuses the cell with ValueError and a message of its own, never another exception; a value the exporter writes
reads back to the same value; a text cell is kept as it is or refused (control character, too long) with
``file:line column: reason``; SQLite and PostgreSQL store the same thing.  Profiles: tests/conftest.py.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from data_access.core.clock import wall_now
from data_access.core.contract import FILES, Col
from data_access.ingest.converting import (
    CONTROL,
    INT_MAX,
    INT_MIN,
    SHANGHAI,
    YEAR_MAX,
    YEAR_MIN,
    compile_converter,
    make_converter,
    parse_date,
    parse_month,
    parse_ts,
)
from data_access.ingest.exporter import formatter
from data_access.ingest.reading import Reader, Report
from tests.conftest import examples

SPECS = {s.table: s for s in FILES}
FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})   # ASCII → full-width forms
LOCAL = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
# the converters' own refusals start so (a problem reads "cases.csv:2 due_at: <this>")
OWN = re.compile(r"^(not (a|an) |year -?\d+ is outside 1900–2200|unknown value |.* is (below the minimum|above the "
                 r"maximum) |.* must be greater than )")


def full_width(s: str) -> str:
    return s.translate(FULL)


def in_contract(local: str) -> bool:
    return bool(LOCAL.fullmatch(local)) and YEAR_MIN <= int(local[:4]) <= YEAR_MAX and \
        datetime.fromisoformat(local) is not None


def converts(conv, cell: str):
    """``conv(cell)``: ("ok", value) or ("refused", message); any other exception fails the test."""
    try:
        return "ok", conv(cell)
    except ValueError as exc:
        assert OWN.match(str(exc)), f"not the converter's own message: {exc!r} for {cell!r}"
        assert len(str(exc)) < 200, f"a refusal echoes the whole cell: {len(str(exc))} chars"
        return "refused", str(exc)


# --- timestamps -------------------------------------------------------------------------------------------------

offsets = st.one_of(st.none(), st.just("Z"), st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"))
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


def iso(moment: datetime, off: str | None, sep: str = "T") -> str:
    return f"{moment.year:04d}" + moment.strftime("-%m-%d") + sep + moment.strftime("%H:%M:%S") + (off or "")


def expected_local(moment: datetime, off: str | None) -> str:
    """What the contract says the cell means: +08:00 or no offset is local time already, another is converted."""
    moment = moment.replace(microsecond=0)
    if off is None or off == "+08:00":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    tz = timezone.utc if off == "Z" else timezone(
        (1 if off[0] == "+" else -1) * timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
    return moment.replace(tzinfo=tz).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


@given(moments, offsets, st.sampled_from(["T", " "]), st.booleans())
# found by this test: a time at the range's edge with an offset fell outside it once converted to Shanghai time
# (stored as 2201, which the exporter then wrote and the loader refused); now refused with the range's message
@example(datetime(2200, 12, 31, 23, 0), "-12:00", "T", False)
@example(datetime(1900, 1, 1, 0, 0), "+14:00", "T", False)
@example(datetime(2026, 1, 5, 9, 0), "+08:00", "T", True)
def test_a_timestamp_is_local_time_in_range_or_refused_with_the_years(moment, off, sep, wide):
    cell = iso(moment, off, sep)
    if wide:
        cell = full_width(cell)
    status, value = converts(parse_ts, cell)
    if not YEAR_MIN <= moment.year <= YEAR_MAX:
        assert status == "refused" and f"year {moment.year} is outside 1900–2200" in value
        return
    want = expected_local(moment, off)
    if not YEAR_MIN <= int(want[:4]) <= YEAR_MAX:   # in range as written, out of it in Shanghai time
        assert status == "refused" and "is outside 1900–2200" in value, value
        return
    assert status == "ok", value
    assert value == want and in_contract(value)


@given(st.integers(1800, 2300), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 61),
       st.integers(0, 61), st.sampled_from([None, "+08:00", "Z", "+05:30"]), st.booleans())
@example(2100, 2, 29, 10, 0, 0, None, False)    # 2100 is not a leap year
@example(2000, 2, 29, 10, 0, 0, "+08:00", True)  # 2000 is
@example(2026, 4, 31, 0, 0, 0, None, False)
def test_a_timestamp_is_accepted_exactly_when_its_calendar_and_clock_are(y, mo, d, h, mi, sec, off, wide):
    cell = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{sec:02d}{off or ''}"
    try:
        moment = datetime(y, mo, d, h, mi, sec)
    except ValueError:
        moment = None
    status, value = converts(parse_ts, full_width(cell) if wide else cell)
    if moment is None:
        assert status == "refused" and (value.startswith("not a valid date/time") or
                                        not YEAR_MIN <= y <= YEAR_MAX and f"year {y} is outside" in value), value
    elif not YEAR_MIN <= y <= YEAR_MAX:
        assert status == "refused" and f"year {y} is outside" in value
    else:
        want = expected_local(moment, off)
        if YEAR_MIN <= int(want[:4]) <= YEAR_MAX:
            assert (status, value) == ("ok", want)
        else:
            assert status == "refused" and "is outside 1900–2200" in value


@given(st.text(alphabet=st.sampled_from("0123456789-:T +Z０１２３４５６７８９－：ｔ\u3000٠١٢") | st.characters(),
               max_size=30))
@example("2026-02-30T10:00:00")
@example("2026-13-01T10:00:00")
@example("2026-01-05T24:00:00")
@example("2026-01-05T10:00:00+24:00")
@example("2026-01-05T10:00:00+99:99")
@example("٢٠٢٦-٠١-٠٥T10:00:00")
@example("2026-01-05T10:00:00\n")
def test_any_text_is_a_timestamp_or_refused(cell):
    status, value = converts(parse_ts, cell)
    form = unicodedata.normalize("NFKC", cell)
    if status == "ok":
        assert in_contract(value), value
        if len(form) == 19 or form.endswith("+08:00"):   # local time already: the cell's own digits
            assert value == form[:10] + " " + form[11:19]
    else:
        assert not re.fullmatch(r"(19\d\d|2[01]\d\d)-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])[T ]([01]\d|2[0-3]):[0-5]\d:"
                                r"[0-5]\d(\+08:00)?", form, re.ASCII), f"refused a valid timestamp {cell!r}: {value}"


@given(st.dates(), st.booleans())
@example(datetime(2200, 12, 31).date(), False)
@example(datetime(1900, 1, 1).date(), True)
def test_a_date_and_a_month_are_in_range_or_refused(day, wide):
    cell, month = day.isoformat(), day.isoformat()[:7]
    if wide:
        cell, month = full_width(cell), full_width(month)
    for conv, want, c in ((parse_date, day.isoformat(), cell), (parse_month, day.isoformat()[:7], month)):
        status, value = converts(conv, c)
        if YEAR_MIN <= day.year <= YEAR_MAX:
            assert (status, value) == ("ok", want)
        else:
            assert status == "refused" and f"year {day.year} is outside 1900–2200" in value


# --- integers and numbers ---------------------------------------------------------------------------------------

INT_COLS = [c for s in FILES for c in s.columns if c.kind == "int"]
FLOAT_COLS = [c for s in FILES for c in s.columns if c.kind == "float"]


def int_bounds(col: Col) -> tuple[int, int]:
    lo = INT_MIN if col.min is None else max(int(col.min), INT_MIN)
    hi = INT_MAX if col.max is None else min(int(col.max), INT_MAX)
    if col.gt is not None:
        lo = max(lo, int(col.gt) + 1)
    return lo, hi


@given(st.sampled_from(INT_COLS), st.integers(min_value=-2 ** 70, max_value=2 ** 70) | st.integers(-5, 5)
       | st.sampled_from([INT_MIN - 1, INT_MIN, INT_MAX, INT_MAX + 1]),
       st.sampled_from(["", "+"]), st.integers(0, 15), st.booleans())
@example(INT_COLS[0], 1, "", 5000, False)      # 5,000 leading zeros: more digits than int() reads
def test_an_integer_is_within_int32_and_the_contract_or_refused(col, n, plus, zeros, wide):
    digits = "0" * zeros + str(abs(n))
    cell = ("-" if n < 0 else plus) + digits
    if wide:
        cell = full_width(cell)
    status, value = converts(make_converter(col), cell)
    lo, hi = int_bounds(col)
    if lo <= n <= hi:
        assert (status, value) == ("ok", n) and type(value) is int
    else:
        assert status == "refused"
        assert ("below the minimum" in value or "greater than" in value) if n < lo else "above the maximum" in value


@given(st.sampled_from(INT_COLS + FLOAT_COLS), st.text(max_size=25))
@example(INT_COLS[0], "1e5")
@example(FLOAT_COLS[0], "nan")
@example(FLOAT_COLS[0], "1e999")
@example(INT_COLS[0], "١٢")
@example(INT_COLS[0], "")
def test_any_text_is_a_number_of_its_column_or_refused(col, cell):
    assume(cell != "")   # an empty cell is the record converter's (the column's default), not the value's
    status, value = converts(make_converter(col), cell)
    if status == "ok":
        assert type(value) is (int if col.kind == "int" else float)
        if col.min is not None:
            assert value >= col.min
        if col.max is not None:
            assert value <= col.max
        if col.kind == "int":
            assert INT_MIN <= value <= INT_MAX


# --- text and the record converter ------------------------------------------------------------------------------

TEXT_COLS = [(s, c) for s in FILES for c in s.columns if c.kind == "str"]
unicode_text = st.text(st.characters(codec="utf-8"), max_size=60)


@given(st.sampled_from(TEXT_COLS), unicode_text | st.text(st.characters(max_codepoint=0x9f), max_size=10),
       st.integers(0, 2))
@example(next(t for t in TEXT_COLS if t[1].name == "title"), "楼道堆物", 1)   # 201 characters: one too many
def test_a_text_cell_is_kept_as_it_is_or_refused_with_file_line_and_column(spec_col, text, pad):
    spec, col = spec_col
    cell = text + ("长" * (col.max_len - len(text) - 1 + pad) if pad and len(text) < col.max_len else "")
    report = Report()
    report.start(spec.name)
    pos = {c.name: i for i, c in enumerate(spec.columns)}
    record = ["1"] * len(spec.columns)
    record[pos[col.name]] = cell
    row, ok = compile_converter(spec, pos, report)(record, 7)
    value = row[pos[col.name]]
    mine = [p for p in report.problems if p.startswith(f"{spec.name}:7 {col.name}: ")]
    if cell == "":
        assert value == col.default
    elif CONTROL(cell):
        assert value is None and not ok
        assert mine == [f"{spec.name}:7 {col.name}: contains the control character U+{ord(CONTROL(cell).group()):04X} "
                        "(text may hold tab and newline, no other control character)"]
    elif len(cell) > col.max_len:
        assert value is None and not ok and mine == [f"{spec.name}:7 {col.name}: too long, {len(cell)} chars, "
                                                     f"max {col.max_len}"]
    else:
        assert value == cell and mine == []


# --- the CSV files: any Unicode, records over several lines, the line named ---------------------------------------

@given(st.lists(st.lists(unicode_text, min_size=1, max_size=4), min_size=1, max_size=6), st.booleans())
@example([["a\r\nb", "c"], ["\r", "d"], [""]], True)
def test_a_csv_file_reads_back_its_cells_and_the_line_each_record_starts_on(tmp_path_factory, records, bom):
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["h"])
        w.writerows(records)
    reader = Reader(path)
    try:
        assert reader.header() == ["h"]
        got = list(reader.rows())
    finally:
        reader.close()
    assert [r for _line, r in got] == records
    line = 2
    for (start, _r), record in zip(got, records):
        assert start == line
        # csv.writer ends a record with CRLF; a line inside a quoted cell ends at CRLF, CR or LF
        line += len(re.findall(r"\r\n|\r|\n", ",".join(record))) + 1


# --- the exporter's values read back to the same value ----------------------------------------------------------

@given(st.datetimes(min_value=datetime(YEAR_MIN, 1, 1), max_value=datetime(YEAR_MAX, 12, 31, 23, 59, 59)))
def test_an_exported_timestamp_reads_back_to_the_stored_one(stored):
    stored = stored.replace(microsecond=0)
    assert parse_ts(formatter("ts")(stored)) == stored.strftime("%Y-%m-%d %H:%M:%S")


@given(st.integers(INT_MIN, INT_MAX), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.dates(
    min_value=datetime(YEAR_MIN, 1, 1).date(), max_value=datetime(YEAR_MAX, 12, 31).date()))
def test_exported_numbers_booleans_and_dates_read_back(n, x, b, day):
    assert make_converter(Col("n", "int"))(formatter("int")(n)) == n
    back = make_converter(Col("x", "float"))(formatter("float")(x))
    assert back == x and (str(back) != "-0.0" or str(x) == "-0.0")
    assert make_converter(Col("b", "bool"))(formatter("bool")(b)) is b
    assert parse_date(formatter("date")(day)) == day.isoformat()


# --- SQLite and PostgreSQL store the same thing (through a batch: the loader's converters, the database, the export)

CASE_TEXT = [c for c in SPECS["cases"].columns if c.name in ("title", "description", "reporter_name")]
allowed_text = st.text(st.characters(codec="utf-8", blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)


@pytest.fixture(scope="module")
def two_databases(tmp_path_factory):
    from tests.conftest import PG_URL, metrics_db

    if not PG_URL:
        pytest.skip("GOV_TEST_PG_URL is not set: the two databases cannot be compared")
    engines = {k: metrics_db(k, tmp_path_factory.mktemp(k)) for k in ("sqlite", "pg")}
    yield engines
    for e in engines.values():
        e.dispose()


_produced = iter(range(1, 10 ** 6))
STARTED = wall_now().replace(microsecond=0) + timedelta(hours=1)   # later than the fixture's load


@settings(max_examples=examples(6))
@given(title=allowed_text, description=allowed_text, name=allowed_text,
       due=st.datetimes(min_value=datetime(2026, 1, 6), max_value=datetime(2200, 12, 31, 12)), off=offsets)
@example(title="楼道\u2028堆物\u00a0", description="𠀀\ufeff\u200d😀\t\n第二行", name="Zoë\u0301", due=datetime(2026, 1, 6),
         off="+08:00")
def test_sqlite_and_postgresql_store_and_export_the_same_cells(two_databases, tmp_path_factory, title, description,
                                                               name, due, off):
    from data_access.ingest.exporter import export_dataset
    from data_access.ingest.sync import sync_batch
    from tests.test_sync import _case, write_batch

    cells = {"title": title, "description": description, "reporter_name": name, "due_at": iso(due, off)}
    local = expected_local(due, off)
    assume(all(len(v) <= c.max_len for c, v in zip(CASE_TEXT, (title, description, name))))
    assume(YEAR_MIN <= int(local[:4]) <= YEAR_MAX and local >= "2026-01-05 09:00:00")
    k = next(_produced)
    folder = tmp_path_factory.mktemp("b")
    exported = {}
    for kind, eng in two_databases.items():
        batch = write_batch(folder / kind, f"p{k}", (STARTED + timedelta(seconds=k)).isoformat(),
                            {"cases.csv": _case("c01", **cells)})
        sync_batch(batch, eng)
        export_dataset(eng, folder / f"out-{kind}")
        with open(folder / f"out-{kind}" / "cases.csv", encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        exported[kind] = rows
        c01 = next(r for r in rows if r["case_no"] == "c01")
        assert {c: c01[c] for c in ("title", "description", "reporter_name")} == \
            {c: cells[c] for c in ("title", "description", "reporter_name")}, kind
        assert parse_ts(c01["due_at"]) == local
    assert exported["sqlite"] == exported["pg"]
