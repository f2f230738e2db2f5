"""Issue 20, defect 8: lists cut silently.  The volunteers page's inactive teams stopped at 500 rows under a card
saying 3,723, and the supervision centre's case lists at 100 or 200.  Every capped list goes through ui/capped.py:
it says it is capped ("显示前 500 条，共 3,723 条") and offers the whole list as an Excel file, audited like the
other exports and masked as the list on screen is.  On the hand-computed fixture (tests/fixtures/metrics,
now = 2026-03-20 12:00: 2 teams silent for 90 days, W2 西县楼道志愿队 then T2 乙社区平安志愿队), with the cap lowered to 1."""
from __future__ import annotations

import ast
import io

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from data_access.core.access import User
from data_access.core.db import get_engine
from data_access.core.schema import audit_log
from tests.conftest import ROOT, open_app_page, serve_fixture
from tests.test_url_changes import NOW
from ui import capped


@pytest.fixture
def one_row(monkeypatch):
    monkeypatch.setattr(capped, "ROWS", 1)


def test_the_inactive_teams_list_says_it_is_capped_and_offers_the_whole_list(tmp_path, monkeypatch, one_row):
    url = serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)
    at = open_app_page(url, "volunteers", {"view": "teams", "period": "all", "days": "90"})
    assert [c.value for c in at.caption if "显示前" in c.value] == ["显示前 1 条，共 2 条。完整列表请导出 Excel。"]
    teams = next(d.value for d in at.dataframe if "name" in d.value.columns and "days_since" in d.value.columns)
    assert list(teams["name"]) == ["西县楼道志愿队"]
    buttons = [b for b in at.get("download_button") if "导出完整列表" in b.proto.label]
    assert [b.proto.label for b in buttons] == ["导出完整列表（2 条，Excel）"]


def test_a_list_within_the_cap_says_nothing(tmp_path, monkeypatch):
    url = serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)
    at = open_app_page(url, "volunteers", {"view": "teams", "period": "all", "days": "90"})
    assert not [c.value for c in at.caption if "显示前" in c.value]
    assert not [b for b in at.get("download_button") if "导出完整列表" in b.proto.label]


def test_the_whole_list_export_is_audited(tmp_path, monkeypatch):
    url = serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)
    engine = get_engine(url)
    df = pd.DataFrame({"name": ["甲队", "=1+1"], "members": [12, 7], "status": ["closed", "handling"]})
    columns = [("name", "vol.col.team", "text"), ("members", "vol.col.members", "int"),
               ("status", "wb.col.status", "text", {"labels": "enum.status"})]
    body = capped.export_file(engine, User("李四", role="leader", username="li"), df, columns,
                              target="不活跃队伍_2026-03-20.xlsx", list_key="vol_inactive", lang="zh")
    ws = openpyxl.load_workbook(io.BytesIO(body)).active
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["队伍", "队员", "状态"], ["甲队", 12, "办结"], ["=1+1", 7, "处置"]]  # a formula stays text
    with engine.connect() as conn:
        row = conn.execute(select(audit_log.c.event, audit_log.c.username, audit_log.c.target, audit_log.c.rows,
                                  audit_log.c.detail)).one()
    assert row[:4] == ("export", "li", "不活跃队伍_2026-03-20.xlsx", 2)
    assert '"list": "vol_inactive"' in row[4]


def test_every_capped_query_is_shown_through_the_shared_helper():
    """A query with a ``limit`` parameter whose answer the UI shows is fetched with ui/capped.fetch (top-N lists
    named as such and the find boxes, which say "the first 20", are listed here)."""
    capped_queries = {"inactive_teams", "repeat_orders", "orders_past_deadline", "flagged_cases", "bounced_cases"}
    direct = []
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and node.args and isinstance(node.args[0], ast.Attribute)
                    and node.args[0].attr in capped_queries):
                direct.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.args[0].attr}")
    assert direct == []


# --- the total is a COUNT; only the capped rows are read ----------------------------------------------------------

def _capped_cases():
    """(fixture, query, args, kwargs, total): lists longer than a cap of 1 on the hand-computed fixtures (the
    inactive teams: tests/fixtures/metrics README; the process fixture's 4 open orders, all past their deadline on
    2026-03-20, and its 3 cases returned at least once; the centre fixture's 2 re-reported cases)."""
    from datetime import datetime

    from data_access.core.filters import CaseFilter
    from data_access.queries import cases, volunteers
    from data_access.queries.supervision import effect, integrity, process

    now = datetime(2026, 3, 20, 12, 0)
    f = CaseFilter()
    return [
        ("metrics", volunteers.inactive_teams, (f.scope, f.period, now, 90), {}, 2),
        ("process", cases.open_supervisions, (f, now), {}, 4),
        ("process", effect.orders_past_deadline, (f, now), {}, 4),
        ("process", process.bounced_cases, (f,), {"now": now, "min_returns": 1}, 3),
        ("centre", integrity.flagged_cases, (f, "rereported"), {"now": now}, 2),
    ]


@pytest.mark.parametrize("case", range(5))
def test_the_total_past_the_cap_is_counted_and_the_whole_list_is_read_only_for_its_download(case, db_kind, tmp_path,
                                                                                            monkeypatch):
    from tests.conftest import load_fixture

    fixture, query, args, kwargs, total = _capped_cases()[case]
    engine = load_fixture(db_kind, tmp_path, fixture)
    calls = []

    def get(q, *a, primary=False, **kw):   # data.get without the cache: the call is recorded
        calls.append({k: v for k, v in kw.items() if k in ("limit", "count")})
        return q(engine, *a, **kw)

    monkeypatch.setattr(capped.data, "get", get)
    try:
        c = capped.fetch(query, *args, rows=1, **kwargs)
        assert (len(c.rows), c.total, c.cut) == (1, total, True)
        assert calls == [{"limit": 2}, {"count": True}]             # the capped rows and a COUNT; not the whole list
        assert query(engine, *args, count=True, **kwargs) == total == len(query(engine, *args, limit=None, **kwargs))
        shown = c.map(lambda df: df.assign(mark=1))
        assert len(calls) == 2                                       # map reads nothing either
        whole = shown.whole()
        assert len(whole) == total and list(whole["mark"]) == [1] * total
        assert calls[-1] == {"limit": None}
        assert whole.iloc[:1].drop(columns="mark").reset_index(drop=True).equals(c.rows.reset_index(drop=True))
    finally:
        engine.dispose()


def test_a_list_within_its_cap_is_neither_counted_nor_read_again(db_kind, tmp_path, monkeypatch):
    from tests.conftest import load_fixture

    fixture, query, args, kwargs, total = _capped_cases()[1]
    engine = load_fixture(db_kind, tmp_path, fixture)
    calls = []
    monkeypatch.setattr(capped.data, "get", lambda q, *a, primary=False, **kw: calls.append(kw.get("limit")) or
                        q(engine, *a, **kw))
    try:
        c = capped.fetch(query, *args, rows=4, **kwargs)
        assert (len(c.rows), c.total, c.cut, calls) == (4, 4, False, [5])
    finally:
        engine.dispose()
