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
