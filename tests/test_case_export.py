"""The case export (data_access/queries/case_export.py) on SQLite and PostgreSQL: the same rows as the list, in the
list's order, chunked by keyset, as CSV and as a workbook, personal data masked for viewers.

Data: the hand-computable fixture (tests/fixtures/metrics/README.md) plus six cases c11–c16 reported at the
same second (2026-03-15 10:00, so the keyset's tie-break on case_no is exercised) carrying awkward text.
Newest first, the 15 cases of 2026 are:

    c07 (03-19) · c16 c15 c14 c13 c12 c11 (03-15 10:00) · c08 (03-10) · c09 (03-05) · c06 (03-01)
    · c05 (02-15) · c04 (02-01) · c03 (01-20) · c02 (01-10) · c01 (01-05)      and c10 (2025-12-31).
"""
from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import FIXTURES, fresh_engine
from sqlalchemy import event

from data_access.queries import case_export as ce
from data_access.core.access import User
from data_access.queries.cases import case_page
from data_access.core.filters import CaseFilter, OutOfScope
from data_access.ingest.loader import load_dataset

NOW = datetime(2026, 3, 20, 12, 0)
STAFF = User("员工", role="staff")
VIEWER = User("x", role="viewer")
ALL_2026 = ["c07", "c16", "c15", "c14", "c13", "c12", "c11", "c08", "c09", "c06", "c05", "c04", "c03", "c02",
            "c01"]
ALL = [*ALL_2026, "c10"]
EVERYTHING = CaseFilter()

HEADERS = {"case_no": "案件编号", "title": "标题", "category": "类别", "status": "状态",
           "reporter_phone": "反映人电话", "reported_at": "上报时间"}
LABELS = {"category": {"A": "邻里矛盾", "B": "物业纠纷"},
          "status": {"closed": "已办结", "reported": "已上报", "accepted": "已受理", "handling": "办理中"},
          "source": {"patrol": "网格巡查", "hotline": "热线"},
          "resolution_level": {"grid": "网格", "village": "村（社区）"},
          "supervision_grade": {"yellow": "黄牌", "red": "红牌"},
          "on_the_spot": {"true": "是", "false": "否"}}

AWKWARD_TITLE = '他说："不行，再议", 然后\n离开了'
AWKWARD_DESC = '第一行\n第二行, with comma\n"第三行"'
# case_no, grid, category, source, title, description, reporter, phone
EXTRA = [
    ("c11", "G1", "A", "hotline", AWKWARD_TITLE, AWKWARD_DESC, "欧阳娜娜", "13812341234"),
    ("c12", "G2", "B", "patrol", "=1+2", "-负号开头", "", ""),
    ("c13", "G3", "A", "patrol", "@提及", "", "", "+86 139 0000 5678"),
    ("c14", "G3-01", "B", "online", "普通标题", "", "", ""),
    ("c15", "G1", "B", "patrol", "逗号,标题", "", "", ""),
    ("c16", "G2", "A", "walk_in", "最后一件", "", "", ""),
]


def _dataset(target: Path) -> Path:
    """The metrics fixture plus c11–c16 (open, reported 2026-03-15 10:00) and two supervision orders."""
    shutil.copytree(FIXTURES / "metrics", target)
    with open(target / "cases.csv", "a", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        for case_no, grid, cat, src, title, desc, name, phone in EXTRA:
            due = "2026-03-16T10:00:00" if cat == "A" else "2026-03-18T10:00:00"
            w.writerow([case_no, grid, cat, src, title, desc, name, phone, "reported", "2026-03-15T10:00:00",
                        "", "", "", "", "", due, "", "", "false", ""])
    with open(target / "supervisions.csv", "a", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["SV2", "c11", "red", "110", "2026-03-16T09:00:00", "2026-03-17T09:00:00", "", "红牌督办"])
        w.writerow(["SV3", "c12", "yellow", "110", "2026-03-16T09:00:00", "2026-03-17T09:00:00",
                    "2026-03-17T08:00:00", "已解决"])
    return target


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def engine(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    eng = fresh_engine(request.param, tmp)
    load_dataset(_dataset(tmp / "data"), eng)
    yield eng
    eng.dispose()


def export_csv(engine, f: CaseFilter = EVERYTHING, user: User | None = STAFF, **kw) -> tuple[bytes, int]:
    buf = io.BytesIO()
    n = ce.write_csv(engine, f, buf, user=user, now=NOW, headers=HEADERS, labels=LABELS, **kw)
    return buf.getvalue(), n


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """The CSV's records keyed by column name (the header row checked against the translated one)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ce.header_row(HEADERS)
    return [dict(zip(ce.EXPORT_COLUMNS, r)) for r in rows[1:]]


def export_xlsx(engine, f: CaseFilter = EVERYTHING, user: User | None = STAFF, **kw):
    buf = io.BytesIO()
    n = ce.write_xlsx(engine, f, buf, user=user, now=NOW, headers=HEADERS, labels=LABELS, sheet_name="案件", **kw)
    buf.seek(0)
    return openpyxl.load_workbook(buf), n


def listed(engine, f: CaseFilter, sort: str = "reported_desc") -> list[str]:
    """case_no of every row the workbench list shows for ``f``, paging through with the keyset cursors."""
    out: list[str] = []
    p = case_page(engine, f, sort=sort, page_size=4, now=NOW)
    out += list(p.rows["case_no"])
    while p.next is not None:
        p = case_page(engine, f, sort=sort, page=p.next.page, page_size=4, cursor=p.next, now=NOW)
        out += list(p.rows["case_no"])
    assert len(out) == p.total
    return out


FILTERS = {
    "everything": (CaseFilter(), ALL),
    "city, Q1": (CaseFilter(region_code="100", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31)), ALL_2026),
    "county 西县": (CaseFilter(region_code="120"), ["c14", "c13", "c09", "c06", "c05"]),
    "micro-grid": (CaseFilter(region_code="G3-01"), ["c14", "c06"]),
    "dates": (CaseFilter(date_from=date(2026, 2, 1), date_to=date(2026, 3, 10)), ["c08", "c09", "c06", "c05", "c04"]),
    "closed": (CaseFilter(statuses=("closed",)), ["c09", "c05", "c04", "c03", "c02", "c01", "c10"]),
    "category B": (CaseFilter(categories=("B",)), ["c07", "c15", "c14", "c12", "c09", "c04", "c03"]),
    "text 纠纷": (CaseFilter(text="纠纷"), ["c08", "c05", "c02", "c10"]),
    "text with a quote": (CaseFilter(text='"不行'), ["c11"]),
    "village 乙社区, open": (CaseFilter(region_code="1112", statuses=("reported", "accepted")), ["c16", "c12", "c08"]),
    "supervised": (CaseFilter(supervised_only=True), ["c12", "c11", "c08"]),
    "overdue": (CaseFilter(overdue="any"), ["c16", "c15", "c14", "c13", "c12", "c11", "c08", "c06", "c02"]),
    "nothing": (CaseFilter(region_code="120", categories=("B",), statuses=("accepted",)), []),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_export_is_the_list_row_for_row(engine, name):
    f, expected = FILTERS[name]
    assert listed(engine, f) == expected
    data, n = export_csv(engine, f, chunk_size=3)
    assert n == len(expected)
    assert [r["case_no"] for r in csv_rows(data)] == expected
    wb, n = export_xlsx(engine, f, chunk_size=3)
    assert n == len(expected)
    assert [r[0] for r in wb["案件"].iter_rows(min_row=2, values_only=True)] == expected


def test_csv_values(engine):
    data, n = export_csv(engine)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, once
    assert not data[3:].startswith(b"\xef\xbb\xbf")
    assert n == 16
    rows = {r["case_no"]: r for r in csv_rows(data)}
    assert rows["c02"] == {
        "case_no": "c02", "title": "排水沟纠纷", "category": "邻里矛盾", "grid_name": "甲村第1网格",
        "village_name": "甲村", "township_name": "东镇", "status": "已办结", "reported_at": "2026-01-10 08:00:00",
        "due_at": "2026-01-11 08:00:00", "overdue_days": "0.1", "department_name": "", "supervision_grade": "",
        "county_name": "东县", "grid_code": "G1", "source": "热线", "description": "", "reporter_name": "李四",
        "reporter_phone": "", "accepted_at": "2026-01-10 09:00:00", "dispatched_at": "2026-01-10 10:00:00",
        "handled_at": "2026-01-11 08:00:00", "feedback_at": "2026-01-11 09:00:00",
        "closed_at": "2026-01-11 10:00:00", "department_code": "", "resolution_level": "村（社区）",
        "on_the_spot": "否", "satisfaction": "3", "hours_to_close": "26.0"}
    # Open and overdue: days from due (03-11 09:00) to now (03-20 12:00), 219 h; yellow card SV1.
    assert (rows["c08"]["overdue_days"], rows["c08"]["supervision_grade"]) == ("9.1", "黄牌")
    # Open, not yet due (due 03-22 12:00): no days overdue.  Unlabelled codes stay codes (walk_in).
    assert (rows["c07"]["overdue_days"], rows["c07"]["category"]) == ("", "物业纠纷")
    assert rows["c03"]["source"] == "walk_in"
    # Closed on the spot; a micro-grid shows "grid / micro-grid"; a department joined by code.
    assert (rows["c01"]["on_the_spot"], rows["c01"]["resolution_level"], rows["c01"]["hours_to_close"]) == (
        "是", "网格", "1.0")
    assert rows["c06"]["grid_name"] == "丙村第1网格 / 丙村1栋1单元"
    assert (rows["c09"]["department_name"], rows["c09"]["department_code"]) == ("东县司法局", "D1")
    assert rows["c09"]["resolution_level"] == "city"
    # Chinese, commas, quotes and newlines come back exactly; only the red card is open on c11 (SV3 resolved).
    assert (rows["c11"]["title"], rows["c11"]["description"]) == (AWKWARD_TITLE, AWKWARD_DESC)
    assert rows["c11"]["supervision_grade"] == "红牌" and rows["c12"]["supervision_grade"] == ""
    assert rows["c15"]["title"] == "逗号,标题"
    # Text a spreadsheet would run as a formula is defused in the CSV.
    assert (rows["c12"]["title"], rows["c12"]["description"], rows["c13"]["title"]) == ("'=1+2", "'-负号开头",
                                                                                      "'@提及")
    assert rows["c13"]["reporter_phone"] == "'+86 139 0000 5678"
    # RFC 4180 on the wire: quoted fields with doubled quotes, CRLF between records.
    assert '"他说：""不行，再议"", 然后\n离开了"'.encode() in data
    assert data.count(b"\r\n") == 17


def test_personal_data_masked_for_a_viewer(engine):
    staff_csv, _ = export_csv(engine, user=STAFF)
    viewer_csv, _ = export_csv(engine, user=VIEWER)
    nobody_csv, _ = export_csv(engine, user=None)
    full = ["13900001234", "13812341234", "+86 139 0000 5678", "张三", "欧阳娜娜", "李四"]
    for value in full:
        assert value.encode() in staff_csv
        assert value.encode() not in viewer_csv and value.encode() not in nobody_csv
    rows = {r["case_no"]: r for r in csv_rows(viewer_csv)}
    assert (rows["c01"]["reporter_name"], rows["c01"]["reporter_phone"]) == ("张*", "139****1234")
    assert (rows["c11"]["reporter_name"], rows["c11"]["reporter_phone"]) == ("欧***", "138****1234")
    assert rows["c13"]["reporter_phone"] == "861******5678"  # first 3 and last 4 of its 13 digits
    assert not re.search(rb"\d{3}[ -]?\d{4}[ -]?\d{4}", viewer_csv)  # no full phone number in any form
    for wb_user, visible in ((STAFF, True), (VIEWER, False)):
        wb, _ = export_xlsx(engine, user=wb_user)
        cells = {str(v) for row in wb["案件"].iter_rows(values_only=True) for v in row if v is not None}
        assert all((value in cells) == visible for value in full)


def test_xlsx_holds_the_csv_rows(engine):
    wb, n = export_xlsx(engine)
    assert n == 16 and wb.sheetnames == ["案件"]
    ws = wb["案件"]
    assert [c.value for c in ws[1]] == ce.header_row(HEADERS)
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:AB17"
    assert ws.column_dimensions["B"].width > 20  # title
    got = {r[0]: dict(zip(ce.EXPORT_COLUMNS, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    c02 = got["c02"]
    assert c02["reported_at"] == datetime(2026, 1, 10, 8, 0) and c02["closed_at"] == datetime(2026, 1, 11, 10, 0)
    assert (c02["overdue_days"], c02["hours_to_close"], c02["satisfaction"]) == (0.1, 26.0, 3)
    assert (c02["category"], c02["status"], c02["on_the_spot"], c02["reporter_name"]) == ("邻里矛盾", "已办结", "否",
                                                                                         "李四")
    assert c02["department_name"] is None and c02["accepted_at"] == datetime(2026, 1, 10, 9, 0)
    assert (got["c08"]["overdue_days"], got["c07"]["overdue_days"]) == (9.1, None)
    assert (got["c11"]["title"], got["c11"]["description"]) == (AWKWARD_TITLE, AWKWARD_DESC)
    # Text stays text: no formula, no apostrophe.
    assert got["c12"]["title"] == "=1+2" and ws["B7"].data_type == "s" and ws["B7"].value == "=1+2"
    date_cell = ws["H2"]
    assert date_cell.is_date and date_cell.number_format == "yyyy-mm-dd hh:mm:ss"
    assert (ws["A9"].value, ws["J9"].value, ws["J9"].number_format) == ("c08", 9.1, "0.0")  # overdue days
    # Every value equals the CSV's, formatted the same way.
    csv_by_no = {r["case_no"]: r for r in csv_rows(export_csv(engine)[0])}

    def as_csv(col: str, v) -> str:
        if v is None:
            return ""
        if isinstance(v, datetime):
            return v.isoformat(" ")
        if col in ce.HOURS_COLUMNS:
            return f"{v:.1f}"
        return ("'" + v) if isinstance(v, str) and v.startswith(("=", "+", "-", "@")) else str(v)

    for no, row in got.items():
        assert {c: as_csv(c, v) for c, v in row.items()} == csv_by_no[no]


def test_chunks_cross_the_tied_timestamps(engine):
    statements: list[tuple[str, object]] = []

    def log(_conn, _cur, statement, parameters, *_args):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", log)
    try:
        sizes = [len(c) for c in ce.iter_chunks(engine, CaseFilter(), user=STAFF, now=NOW, labels={},
                                                 chunk_size=3)]
    finally:
        event.remove(engine, "before_cursor_execute", log)
    assert sizes == [3, 3, 3, 3, 3, 1]  # c07 c16 c15 | c14 c13 c12 | c11 c08 c09 | …
    # Never skips rows by counting (SQLite's dialect always renders "LIMIT ? OFFSET ?", bound to 0 here).
    offsets = [params[-1] for sql, params in statements if "OFFSET" in sql.upper()]
    assert offsets == [0] * len(offsets) and len(statements) >= 6
    chunked, _ = export_csv(engine, chunk_size=3)
    whole, _ = export_csv(engine)
    assert chunked == whole
    for size in (1, 2, 5, 6, 7, 16):
        assert export_csv(engine, chunk_size=size)[0] == whole


def test_progress_reports_each_chunk(engine):
    seen: list[tuple[float, int]] = []
    _, n = export_csv(engine, CaseFilter(region_code="100", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31)),
                      chunk_size=4, progress=lambda frac, done: seen.append((frac, done)))
    assert n == 15
    assert seen == [(4 / 15, 4), (8 / 15, 8), (12 / 15, 12), (1.0, 15)]
    seen.clear()
    ce.write_xlsx(engine, CaseFilter(), io.BytesIO(), user=STAFF, now=NOW, headers={}, labels={}, total=32,
                  chunk_size=8, progress=lambda frac, done: seen.append((frac, done)))
    assert seen == [(0.25, 8), (0.5, 16), (1.0, 16)]  # the caller's total scales; the end says 1.0


def test_sheet_split(engine, monkeypatch):
    monkeypatch.setattr(ce, "XLSX_MAX_ROWS", 5)  # header + 4 rows per sheet
    wb, n = export_xlsx(engine, chunk_size=3)
    assert n == 16
    assert wb.sheetnames == ["案件", "案件 (2)", "案件 (3)", "案件 (4)"]
    got = []
    for ws in wb.worksheets:
        assert [c.value for c in ws[1]] == ce.header_row(HEADERS)
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:AB{ws.max_row}"
        got.append([r[0] for r in ws.iter_rows(min_row=2, values_only=True)])
    assert got == [ALL[0:4], ALL[4:8], ALL[8:12], ALL[12:16]]
    monkeypatch.setattr(ce, "XLSX_MAX_ROWS", 6)  # 5 rows per sheet: the last sheet has one
    wb, _ = export_xlsx(engine)
    assert [ws.max_row - 1 for ws in wb.worksheets] == [5, 5, 5, 1]


def test_empty_export_has_the_header(engine):
    f = FILTERS["nothing"][0]
    data, n = export_csv(engine, f)
    assert n == 0 and csv_rows(data) == []
    wb, n = export_xlsx(engine, f)
    assert n == 0 and wb.sheetnames == ["案件"] and wb["案件"].max_row == 1


def test_users_jurisdiction_bounds_the_export(engine, tmp_path):
    west = User("西县干部", role="staff", scope_code="120")
    path = tmp_path / "west.csv"
    n = ce.write_csv(engine, CaseFilter(), path, user=west, now=NOW, headers={}, labels={})
    assert n == 5
    assert [r["case_no"] for r in csv_rows_plain(path)] == ["c14", "c13", "c09", "c06", "c05"]
    with pytest.raises(OutOfScope):
        ce.write_csv(engine, CaseFilter(region_code="110"), io.BytesIO(), user=west, now=NOW, headers={},
                     labels={})
    with pytest.raises(OutOfScope):
        ce.write_csv(engine, CaseFilter(scope_code="110"), io.BytesIO(), user=west, now=NOW, headers={},
                     labels={})


def csv_rows_plain(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(ce.EXPORT_COLUMNS)
    return [dict(zip(ce.EXPORT_COLUMNS, r)) for r in rows[1:]]


def test_file_names():
    f = CaseFilter(region_code="431302", date_from=date(2025, 10, 1), date_to=date(2026, 10, 8))
    assert ce.export_file_name(f, "csv") == "431302_案件_2025-10-01_2026-10-08.csv"  # no tree: the code
    assert ce.export_file_name(f, ".xlsx", prefix="cases") == "431302_cases_2025-10-01_2026-10-08.xlsx"
    since = CaseFilter(scope_code="4313", date_from=date(2026, 1, 1))
    assert ce.export_file_name(since, "csv", as_of=date(2026, 3, 20)) == "4313_案件_2026-01-01_2026-03-20.csv"
    assert ce.export_file_name(CaseFilter(), "csv") == "案件.csv"
    assert ce.export_file_name(CaseFilter(region_code="G3-01"), "csv", prefix='a/b:c*"') == "G3-01_a_b_c.csv"


def test_file_names_use_the_region_names_and_a_whole_month():
    from data_access.core.regions import Node, RegionTree

    nodes = [Node("43", "湖南省", "province", None), Node("4313", "娄底市", "city", "43"),
             Node("431322", "新化县", "county", "4313"), Node("43132201", 'a/b:c*?"<>|\\x..', "township", "431322")]
    tree = RegionTree(nodes={n.code: n for n in nodes})
    nov = CaseFilter(region_code="431322", date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    assert ce.export_file_name(nov, "xlsx", tree=tree) == "娄底市_新化县_案件_2026-11.xlsx"
    feb = CaseFilter(scope_code="4313", date_from=date(2024, 2, 1), date_to=date(2024, 2, 29))  # a leap February
    assert ce.export_file_name(feb, "csv", tree=tree) == "娄底市_案件_2024-02.csv"
    part = CaseFilter(region_code="43", date_from=date(2026, 11, 1), date_to=date(2026, 11, 29))
    assert ce.export_file_name(part, "csv", tree=tree) == "湖南省_案件_2026-11-01_2026-11-29.csv"
    # characters no file system accepts, and a name that ends in dots
    bad = CaseFilter(region_code="43132201")
    assert ce.export_file_name(bad, "csv", tree=tree) == "娄底市_新化县_a_b_c_x_案件.csv"
    assert ce.export_file_name(CaseFilter(region_code="999"), "csv", tree=tree) == "999_案件.csv"  # unknown: code
    long = ce.download_name(["区" * 300], "xlsx")
    assert long == "区" * ce.MAX_NAME_CHARS + ".xlsx" and len(long.encode()) <= 255


def test_sheet_titles():
    assert ce._sheet_title("案件", 1) == "案件" and ce._sheet_title("案件", 2) == "案件 (2)"
    assert ce._sheet_title("a/b[c]", 1) == "a_b_c_"
    assert ce._sheet_title("x" * 40, 12) == "x" * 26 + " (12)"


# --- issue 20, defect 5: the export follows the list's sort and shows overdue in days as the list does ----------

@pytest.mark.parametrize("sort", ["overdue_desc", "due_asc", "reported_asc", "reported_desc"])
@pytest.mark.parametrize("name", ["everything", "overdue", "closed", "county 西县"])
def test_export_follows_the_lists_sort(engine, sort, name):
    """The screen sorted by most overdue, the file newest first: now the file is the list, row for row, in the
    list's order, across chunk boundaries (ties on the sort key broken by case_no, as the list breaks them)."""
    f = FILTERS[name][0]
    expected = listed(engine, f, sort)
    assert sorted(expected) == sorted(FILTERS[name][1])
    for size in (1, 3, 16):
        data, n = export_csv(engine, f, sort=sort, chunk_size=size)
        assert [r["case_no"] for r in csv_rows(data)] == expected and n == len(expected)
    wb, _ = export_xlsx(engine, f, sort=sort, chunk_size=3)
    assert [r[0] for r in wb["案件"].iter_rows(min_row=2, values_only=True)] == expected


def test_most_overdue_first_is_not_newest_first(engine):
    by_overdue = [r["case_no"] for r in csv_rows(export_csv(engine, sort="overdue_desc")[0])]
    assert by_overdue[:3] == ["c06", "c08", "c16"]  # 18.2, 9.1 and 4.1 days past due
    assert by_overdue != ALL


def test_overdue_is_in_days_as_on_screen(engine):
    """The list's 超期（天）: overdue hours ÷ 24, one decimal, empty when the case is not overdue (metrics.overdue_days)."""
    from data_access.core.metrics import overdue_days

    assert "overdue_days" in ce.EXPORT_COLUMNS and "overdue_hours" not in ce.EXPORT_COLUMNS
    rows = {r["case_no"]: r for r in csv_rows(export_csv(engine)[0])}
    assert (rows["c08"]["overdue_days"], rows["c02"]["overdue_days"], rows["c07"]["overdue_days"]) == ("9.1", "0.1", "")
    assert rows["c06"]["overdue_days"] == "18.2"  # due 03-02 08:00, now 03-20 12:00: 436 h
    wb, _ = export_xlsx(engine)
    got = {r[0]: dict(zip(ce.EXPORT_COLUMNS, r)) for r in wb["案件"].iter_rows(min_row=2, values_only=True)}
    assert (got["c08"]["overdue_days"], got["c07"]["overdue_days"]) == (9.1, None)
    assert (overdue_days(219.0), overdue_days(-48.0), overdue_days(0.0), overdue_days(None)) == (219 / 24, None, None,
                                                                                                 None)
