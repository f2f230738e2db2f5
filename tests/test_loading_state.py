"""Loading states: a cached reader of ui/data.py shows "正在加载…" / "Loading…" while a value that is not cached yet
is read, and nothing on a cache hit; spinners show after 0.2 s instead of Streamlit's 0.5 s; a page renders
with no spinner left behind."""
from __future__ import annotations

import contextlib
from datetime import datetime

import pytest
import streamlit.elements.spinner as spinner_element
from streamlit.testing.v1 import AppTest

from tests.conftest import open_app_page, serve_fixture
from ui.i18n import translate

NOW = datetime(2026, 3, 20, 12, 0)


def _script() -> None:
    import streamlit as st

    from ui import data

    @data.cached()
    def double(x: int) -> int:
        return 2 * x

    st.write(double(21), double(21), double(4))


@pytest.fixture
def spinners(monkeypatch) -> list[tuple[str, bool]]:
    """Every spinner started while the test runs: (its text, whether it is a cache spinner)."""
    started: list[tuple[str, bool]] = []
    original = spinner_element.SpinnerMixin.spinner

    @contextlib.contextmanager
    def recording(self, text="In progress...", **kwargs):
        started.append((str(text), kwargs.get("_cache", False)))
        with original(self, text, **kwargs):
            yield

    monkeypatch.setattr(spinner_element.SpinnerMixin, "spinner", recording)
    return started


def test_spinners_show_after_200_ms():
    import ui.data  # noqa: F401 - sets the delay on import

    assert spinner_element.DELAY_SECS == 0.2


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_cache_miss_shows_the_translated_spinner_and_a_hit_none(spinners, lang):
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_function(_script, default_timeout=30)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    # double(21) twice and double(4): two misses, one hit
    assert spinners == [(translate("common.loading", lang), True)] * 2
    spinners.clear()
    at.run()  # everything cached now
    assert spinners == []
    assert not at.get("spinner")


def test_a_page_renders_with_its_spinners_gone(spinners, tmp_path, monkeypatch):
    url = serve_fixture("sqlite", tmp_path, monkeypatch, "metrics", NOW)
    at = open_app_page(url, "overview", {"period": "all"}, lang="en")
    assert len(at.metric) == 11   # the eight headline numbers and the 三率
    assert ("Loading…", True) in spinners  # the cold page read through the cache
    assert not at.get("spinner")  # and none is left on the page
