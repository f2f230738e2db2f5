"""The DuckDB way, for comparison (benchmark only, not part of the dashboard): a Streamlit page as an analyst
would write it with DuckDB — copy the case and region tables of the SQLite file into DuckDB once
(``st.cache_resource``, bench/alt_duckdb.py says how) and answer every filter in SQL there.

    GOV_DB_URL=sqlite:///bench/full.db streamlit run bench/alt_duckdb_app.py

The same URL filters and the same answers as bench/alt_pandas_app.py: ``?region=431302``, ``?q=纠纷``,
``?page=2``; the cases, closure rate, open overdue and median hours to close; cases by month and status; cases by
child region; the 50 newest cases.  How the data got in and how long it took is kept in
``st.session_state["duckdb_load"]`` (bench/alternatives.py reads it) and shown under the title.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run` puts only bench/ on the path
from bench import alt_duckdb  # noqa: E402

DB_URL = os.environ.get("GOV_DB_URL", "sqlite:///data/governance.db")
NOW = datetime.fromisoformat(os.environ.get("GOV_NOW") or "2026-10-08T12:00:00")
CITY = "431300"

st.set_page_config(page_title="案件分析 (DuckDB)", layout="wide")


@st.cache_resource
def database(url: str):
    return alt_duckdb.load_sqlite(make_url(url).database)


con, load = database(DB_URL)
st.session_state["duckdb_load"] = load
names = {code: name for code, (name, _) in alt_duckdb.regions(con).items()}
levels = {code: level for code, (_, level) in alt_duckdb.regions(con).items()}

region = st.query_params.get("region", CITY)
if region not in levels:
    region = CITY
q = st.query_params.get("q", "").strip()
page = max(int(st.query_params.get("page", "1") or 1), 1)
start, end = alt_duckdb.period(NOW)
a = alt_duckdb.overview(con, region, levels[region], NOW, q, page)

st.title(f"{names[region]} · 案件分析")
st.caption(f"{start:%Y-%m-%d} – {NOW:%Y-%m-%d}" + (f" · 搜索「{q}」" if q else "")
           + f" · DuckDB: {load['rows']['cases']:,} 条案件载入 {load['seconds']:.1f} 秒 ({load['way']})")

n = a["cases"]
k = st.columns(4)
k[0].metric("案件数", f"{n:,}")
k[1].metric("办结率", f"{a['closure_rate']:.1%}" if n else "—")
k[2].metric("在办超期", f"{a['open_overdue']:,}")
k[3].metric("办结用时中位数", "—" if a["median_hours"] is None else f"{a['median_hours']:.1f} 小时")

st.subheader("按月 · 状态")
months = pd.DataFrame(a["by_month"], columns=["report_month", "status", "n"])
if not months.empty:
    st.bar_chart(months.pivot(index="report_month", columns="status", values="n").fillna(0))

if a["by_child"]:
    st.subheader("下级区域")
    st.dataframe(pd.DataFrame(a["by_child"], columns=["code", "name", "cases", "closed", "closure_rate"]),
                 hide_index=True)

st.subheader("案件列表")
st.dataframe(pd.DataFrame(a["newest"], columns=alt_duckdb.LIST_COLUMNS), hide_index=True)
st.caption(f"第 {page} 页，共 {max((n + 49) // 50, 1):,} 页")
