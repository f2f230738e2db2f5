"""A sample build stopped after its load is finished on the next start (a defect found from a fresh clone: a tab
closed during the first start left the data without demo accounts, and no one could ever sign in)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, fresh_engine


@pytest.fixture(autouse=True)
def tiny_scale(monkeypatch):
    from sample_data import generator

    monkeypatch.setitem(generator.SCALES, "tiny-test", (400, 50))   # the same path as the demo, smaller


class TabClosed(Exception):
    """What a closed tab does to the build: the next progress call raises (Streamlit's StopException)."""


def _stop_after_the_load(fraction: float, message: str) -> None:
    if message == "time limits in working days":  # the first step after the load has committed
        raise TabClosed


def _state(engine) -> dict:
    from data_access.core.schema import cases, duplicate_groups, users
    from data_access.core.users import demo_enabled

    with engine.connect() as conn:
        return {"cases": conn.execute(select(func.count()).select_from(cases)).scalar_one(),
                "demo_accounts": conn.execute(select(func.count()).select_from(users)
                                              .where(users.c.demo.is_(True))).scalar_one(),
                "proposals": conn.execute(select(func.count()).select_from(duplicate_groups)).scalar_one(),
                "demo_on": demo_enabled(engine)}


def test_a_build_stopped_after_its_load_is_finished_on_the_next_start(db_kind, tmp_path):
    import sample_data

    engine = fresh_engine(db_kind, tmp_path)
    with pytest.raises(TabClosed):
        sample_data.build_sample_database(engine, scale="tiny-test", progress=_stop_after_the_load)
    stopped = _state(engine)
    assert stopped["cases"] > 0 and stopped["demo_accounts"] == 0 and not stopped["demo_on"]
    assert sample_data.sample_unfinished(engine)

    counts = sample_data.build_demo_if_empty(engine, scale="tiny-test")   # the next start
    assert counts == {"cases.csv": stopped["cases"]}    # finished, not built again
    done = _state(engine)
    assert done["cases"] == stopped["cases"]
    assert done["demo_accounts"] >= 4 and done["demo_on"]
    assert not sample_data.sample_unfinished(engine)
    assert sample_data.build_demo_if_empty(engine, scale="tiny-test") is None   # and then left alone


def test_a_whole_build_leaves_no_mark_and_a_stop_before_the_load_builds_again(db_kind, tmp_path):
    import sample_data

    engine = fresh_engine(db_kind, tmp_path)

    def stop_in_the_load(fraction: float, message: str) -> None:
        if fraction > 0.5:
            raise TabClosed

    with pytest.raises(TabClosed):
        sample_data.build_sample_database(engine, scale="tiny-test", progress=stop_in_the_load)
    assert _state(engine)["cases"] == 0     # the load is one transaction: nothing of it stayed
    counts = sample_data.build_demo_if_empty(engine, scale="tiny-test")
    assert counts["cases.csv"] == _state(engine)["cases"] > 0
    assert _state(engine)["demo_on"] and not sample_data.sample_unfinished(engine)


def test_the_cli_build_stores_the_repeat_case_proposals_like_the_first_start(tmp_path):
    """`python -m sample_data` and the app's first start finish a sample the same way (load_sample_folder)."""
    from data_access.core.db import make_engine
    from sample_data.__main__ import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--scale", "tiny-test", "--db", url]) == 0
    engine = make_engine(url)
    state = _state(engine)
    import sample_data

    app_engine = fresh_engine("sqlite", tmp_path / "app")
    sample_data.build_sample_database(app_engine, scale="tiny-test")
    assert state == _state(app_engine)
    assert state["demo_on"]


def test_the_app_finishes_an_interrupted_first_start_and_offers_the_demo_accounts(tmp_path, monkeypatch):
    import sample_data
    from data_access.core import db
    from sample_data import generator

    path = tmp_path / "first.db"
    monkeypatch.setattr(db, "DEFAULT_SQLITE_PATH", path)
    monkeypatch.setitem(generator.SCALES, "demo", generator.SCALES["tiny-test"])
    with pytest.raises(TabClosed):
        sample_data.build_sample_database(db.make_engine(f"sqlite:///{path}"), progress=_stop_after_the_load)
    monkeypatch.delenv("GOV_DB_URL", raising=False)
    monkeypatch.setenv("GOV_AUTO_DEMO", "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    shown = [e.value for e in [*at.markdown, *at.info, *at.warning, *at.caption]]
    assert not [v for v in shown if "尚无任何账号" in v]          # before the fix: no account, no way in
    assert [b for b in at.button if b.key and b.key.startswith("demo_")]   # the one-click demo sign-in
    assert not sample_data.sample_unfinished(db.make_engine(f"sqlite:///{path}"))
    assert _state(db.make_engine(f"sqlite:///{path}"))["demo_on"]
