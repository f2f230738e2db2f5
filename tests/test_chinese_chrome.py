"""Issue 20, defect 10: English inside the Chinese UI, and a way round the audited export.  st.dataframe's
toolbar (Show/hide columns, Download as CSV, Search, Fullscreen) was English on a Chinese page, covered 导出 Excel
on hover, and its "Download as CSV" wrote the table without the audit row and masking of the app's exports; the
period picker refused a date with Streamlit's English "Date set outside allowed range"; a rate that did not
change showed "↓ -0.0 pp" in red.  On the hand-computed fixture (tests/fixtures/metrics, now = 2026-03-20 12:00)."""
from __future__ import annotations

import ast
import tomllib
from datetime import date

from tests.conftest import ROOT, open_app_page, serve_fixture
from tests.test_url_changes import NOW, warm_server  # noqa: F401
from ui import fmt

ON_TIME = "按时办结率"


def test_a_change_that_rounds_to_zero_is_no_change():
    assert fmt.delta_pct_points(0.95, 0.95004) == "0.0 pp"  # was "-0.0 pp", a red ↓
    assert fmt.delta_pct_points(0.95004, 0.95) == "0.0 pp"
    assert fmt.delta_pct_points(0.95, 0.97) == "-2.0 pp"
    assert fmt.delta_style("0.0 pp") == {"delta_color": "off", "delta_arrow": "off"}  # grey, no arrow
    assert fmt.delta_style("-2.0 pp") == {"delta_color": "normal", "delta_arrow": "auto"}
    assert fmt.delta_style("+0", "off") == {"delta_color": "off", "delta_arrow": "off"}
    assert fmt.delta_style("+1,087", "off") == {"delta_color": "off", "delta_arrow": "auto"}
    assert fmt.delta_style(None, "inverse") == {"delta_color": "inverse", "delta_arrow": "auto"}


def test_the_overview_shows_an_unchanged_rate_without_an_arrow(tmp_path, monkeypatch):
    from streamlit.proto.Metric_pb2 import Metric

    url = serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)
    # 03-01..03-20 against the 20 days before (02-09..02-28): on time 1 of 1 closed (c09) against 1 of 1 (c05)
    at = open_app_page(url, "overview", {"period": "custom", "from": "2026-03-01", "to": "2026-03-20"})
    on_time = next(m for m in at.metric if m.label == ON_TIME)
    assert (on_time.value, on_time.proto.delta) == ("100.0%", "0.0 pp")  # was a green "↑ +0.0 pp"
    assert (on_time.proto.color, on_time.proto.direction) == (Metric.MetricColor.GRAY, Metric.MetricDirection.NONE)
    closure = next(m for m in at.metric if m.label == "办结率")  # 25 % against 100 %: a real fall stays red
    assert (closure.proto.delta, closure.proto.color) == ("-75.0 pp", Metric.MetricColor.RED)


def test_no_csv_download_of_a_table_and_no_english_toolbar(tmp_path, monkeypatch):
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True  # no "Download as CSV", no copy of a read-only table
    url = serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)
    zh = open_app_page(url, "cases", {"period": "all"}, lang="zh")
    assert any("stElementToolbar" in h.proto.body and "display: none" in h.proto.body for h in zh.get("html"))
    en = open_app_page(url, "cases", {"period": "all"}, lang="en")
    assert not any("stElementToolbar" in h.proto.body for h in en.get("html"))  # English: the toolbar stays


def test_every_table_is_drawn_by_ui_tables():
    calls = []
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        if path == ROOT / "ui" / "tables.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("dataframe", "data_editor", "table") \
                    and isinstance(node.value, ast.Name) and node.value.id == "st":
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls == []


def test_the_period_picker_takes_any_sensible_date_without_an_english_error(tmp_path, monkeypatch):
    url = serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)
    at = open_app_page(url, "cases", {"period": "custom", "from": "2012-01-01", "to": "2026-03-20"})
    picker = at.date_input(key="custom_dates")
    assert picker.min <= date(2000, 1, 1) and picker.max >= date(2099, 12, 31)  # no clamp of a real date
    assert picker.value == (date(2012, 1, 1), date(2026, 3, 20))
    audit = open_app_page(url, "audit", role="admin")
    dates = audit.date_input(key="au_dates")
    assert dates.min <= date(2000, 1, 1) and dates.max >= date(2099, 12, 31)


def test_a_period_in_the_future_is_explained_in_chinese(tmp_path, monkeypatch):
    url = serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)
    at = open_app_page(url, "cases", {"period": "custom", "from": "2031-01-01", "to": "2031-12-31"})
    assert any("晚于今天" in w.value for w in at.sidebar.warning)
    assert next(m.value for m in at.metric if m.label == "符合条件的案件") == "0"
