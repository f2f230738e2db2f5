"""The pages benchmark's filter change changes the filter (bench/pages.py): before 2026-12-07 it set the sidebar
picker and reran the AppTest, which with a pages/ folder executed nothing, so the column timed an empty run."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def sample_url(tmp_path_factory):
    from data_access.core.db import make_engine
    from sample_data import build_sample_database, generator

    generator.SCALES["tiny-bench"] = (400, 50)
    try:
        url = f"sqlite:///{tmp_path_factory.mktemp('bench_pages') / 'sample.db'}"
        build_sample_database(make_engine(url), scale="tiny-bench")
    finally:
        del generator.SCALES["tiny-bench"]
    return url


def test_the_filter_change_shows_the_new_region(sample_url, monkeypatch):
    import streamlit as st

    from bench import pages
    from bench.timing import bench_session
    from bench.visits import Visit

    monkeypatch.setenv("GOV_DB_URL", sample_url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    st.cache_data.clear()
    token = bench_session(sample_url)
    seen = []
    real = pages._timed_run

    def timed(at):   # the run the benchmark times, kept to look at what it showed
        ms = real(at)
        seen.append(at)
        return ms

    monkeypatch.setattr(pages, "_timed_run", timed)
    what, ms = pages.filter_change(token, Visit("overview", "overview", "overview", {}))
    assert what == "region → 娄星区" and ms > 0
    assert "娄星区" in seen[-1].title[0].value   # the page shows the new region: a real change was timed
    what, _ = pages.filter_change(token, Visit("overview", "overview", "overview, 娄星区", {"region": "431302"}))
    assert what == "period → this year"
    assert seen[-1].selectbox(key="period").value == "ytd"
