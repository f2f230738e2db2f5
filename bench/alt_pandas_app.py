"""The usual way, for comparison (benchmark only, not part of the dashboard): a Streamlit page as a typical
analyst would write it — read the whole case table into pandas once (``st.cache_data``) and filter there.

    GOV_DB_URL=sqlite:///bench/full.db streamlit run bench/alt_pandas_app.py

Filters come from the URL, so a benchmark can set them: ``?region=431302`` (any region code; default the
city 娄底市), ``?q=纠纷`` (text in the title), ``?status=handling,dispatched``, ``?cat=neighbour``.  The period
is the dashboard's default "last 12 months": from the first day of this month a year ago to the end of today,
today being ``GOV_NOW`` (default 2026-10-08 12:00).  Shown: the cases, closure rate, open overdue and median
hours to close; cases by month and status; cases by child region; the 50 newest cases.

bench/alternatives.py times this page against the dashboard's own pages.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
import streamlit as st

DB_URL = os.environ.get("GOV_DB_URL", "sqlite:///data/governance.db")
NOW = datetime.fromisoformat(os.environ.get("GOV_NOW") or "2026-10-08T12:00:00")
CITY = "431300"
# The column of cases that holds a region of each level, and the column of the level below it.
REGION_COLUMN = {"city": "city_code", "county": "county_code", "township": "township_code",
                 "village": "village_code"}
CHILD_COLUMN = {"city": "county_code", "county": "township_code", "township": "village_code",
                "village": "top_grid_code"}
LIST_COLUMNS = ["case_no", "reported_at", "title", "category", "status", "due_at", "closed_at",
                "county_code", "township_code"]

st.set_page_config(page_title="案件分析 (pandas)", layout="wide")


@st.cache_resource
def engine():
    return sa.create_engine(DB_URL)


@st.cache_data
def load_cases() -> pd.DataFrame:
    return pd.read_sql("SELECT * FROM cases", engine(), parse_dates=["reported_at", "due_at", "closed_at"])


@st.cache_data
def load_regions() -> pd.DataFrame:
    return pd.read_sql("SELECT code, name, level, parent_code FROM regions", engine())


def param_list(name: str) -> list[str]:
    return [v for v in st.query_params.get(name, "").split(",") if v]


cases = load_cases()
regions = load_regions()
names = dict(zip(regions["code"], regions["name"]))
levels = dict(zip(regions["code"], regions["level"]))

region = st.query_params.get("region", CITY)
if region not in levels:
    region = CITY
level = levels[region]
q = st.query_params.get("q", "").strip()
statuses = param_list("status")
categories = param_list("cat")
start = pd.Timestamp(date(NOW.year - 1, NOW.month, 1))
end = pd.Timestamp(NOW.date() + timedelta(days=1))

mask = (cases["reported_at"] >= start) & (cases["reported_at"] < end)
if level in REGION_COLUMN:
    mask &= cases[REGION_COLUMN[level]] == region
else:
    mask &= cases["grid_code"] == region
if statuses:
    mask &= cases["status"].isin(statuses)
if categories:
    mask &= cases["category"].isin(categories)
if q:
    mask &= cases["title"].str.contains(q, regex=False, na=False)
df = cases[mask]

st.title(f"{names[region]} · 案件分析")
st.caption(f"{start:%Y-%m-%d} – {NOW:%Y-%m-%d}" + (f" · 搜索「{q}」" if q else ""))

closed = df["status"] == "closed"
n = len(df)
k = st.columns(4)
k[0].metric("案件数", f"{n:,}")
k[1].metric("办结率", f"{closed.mean():.1%}" if n else "—")
k[2].metric("在办超期", f"{int(((~closed) & (df['due_at'] < NOW)).sum()):,}")
median = df.loc[closed, "hours_to_close"].median()
k[3].metric("办结用时中位数", "—" if pd.isna(median) else f"{median:.1f} 小时")

st.subheader("按月 · 状态")
st.bar_chart(df.groupby(["report_month", "status"]).size().unstack(fill_value=0))

if level in CHILD_COLUMN:
    st.subheader("下级区域")
    by_child = df.groupby(CHILD_COLUMN[level]).agg(cases=("case_no", "size"),
                                                    closed=("status", lambda s: (s == "closed").sum()))
    by_child["closure_rate"] = by_child["closed"] / by_child["cases"]
    by_child.insert(0, "name", by_child.index.map(names))
    st.dataframe(by_child.sort_values("cases", ascending=False))

st.subheader("案件列表")
page = max(int(st.query_params.get("page", "1") or 1), 1)
newest = df.sort_values("reported_at", ascending=False)
st.dataframe(newest.iloc[(page - 1) * 50:page * 50][LIST_COLUMNS], hide_index=True)
st.caption(f"第 {page} 页，共 {max((n + 49) // 50, 1):,} 页")
