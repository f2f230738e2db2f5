"""Sessions that ask the same question at once share one computation (issue 24, a morning meeting's crowd).

``ui.data.get`` reads through ``st.cache_data``, which in Streamlit 1.67 holds a lock per cache key while it
computes a missing value (``Cache.compute_value_lock`` and ``_hold_compute_lock`` in
streamlit/runtime/caching/cache_utils.py, ``CachedFunc._handle_cache_miss``): a second session asking for the
same key waits for the first one's answer and reads it from the cache instead of asking the database again.  These
tests pin that behaviour for the app's one cached call, with threads standing in for the sessions' script threads;
if a Streamlit upgrade dropped the lock, the first test would fail (every waiting thread would run the query)."""
from __future__ import annotations

import threading
import time

import pytest

from ui import data


@pytest.fixture
def no_engine(monkeypatch):
    """The queries below take no database: the engine is a stand-in, the cache starts empty."""
    monkeypatch.setattr(data, "get_engine", lambda url: "engine")
    monkeypatch.setenv("GOV_DB_URL", "sqlite:///shared-answers-test.db")
    monkeypatch.delenv("GOV_DB_READ_URL", raising=False)
    data._answer.clear()
    yield
    data._answer.clear()


def _ask_in_threads(query, args_of_each: list[tuple], results: dict) -> list[threading.Thread]:
    def ask(i: int, args: tuple) -> None:
        results[i] = data.get(query, *args)

    threads = [threading.Thread(target=ask, args=(i, a), daemon=True) for i, a in enumerate(args_of_each)]
    for th in threads:
        th.start()
    return threads


def test_the_same_question_asked_by_five_sessions_at_once_is_computed_once(no_engine):
    calls: list[int] = []
    computing, release = threading.Event(), threading.Event()

    def slow_count(engine, x: int) -> int:
        calls.append(x)
        computing.set()
        release.wait(10)
        return 2 * x

    first_result: dict[int, int] = {}
    results: dict[int, int] = {}
    first = _ask_in_threads(slow_count, [(21,)], first_result)
    assert computing.wait(10)               # the first session is inside the query
    others = _ask_in_threads(slow_count, [(21,)] * 4, results)
    time.sleep(0.3)                         # the other four have asked by now (and wait)
    assert calls == [21]
    release.set()
    for th in first + others:
        th.join(10)
    assert calls == [21]                    # one computation for five sessions
    assert first_result == {0: 42} and results == {0: 42, 1: 42, 2: 42, 3: 42}


def test_a_different_question_does_not_wait_for_another_one(no_engine):
    release = threading.Event()
    calls: list[int] = []

    def count(engine, x: int) -> int:
        calls.append(x)
        if x == 21:
            release.wait(10)
        return 2 * x

    slow_results: dict[int, int] = {}
    fast_results: dict[int, int] = {}
    slow = _ask_in_threads(count, [(21,)], slow_results)
    fast = _ask_in_threads(count, [(4,)], fast_results)
    for th in fast:
        th.join(10)
    assert fast_results == {0: 8}           # answered while the other question is still being computed
    assert slow[0].is_alive() and slow_results == {}
    release.set()
    for th in slow:
        th.join(10)
    assert slow_results == {0: 42} and sorted(calls) == [4, 21]


def test_each_session_gets_its_own_copy_of_a_shared_answer(no_engine):
    """st.cache_data hands out a fresh unpickled copy per read: a page that changes its frame in place cannot
    change what another session sees."""
    def frame(engine) -> dict:
        return {"rows": [1, 2, 3]}

    a = data.get(frame)
    a["rows"].append(4)
    assert data.get(frame) == {"rows": [1, 2, 3]}
