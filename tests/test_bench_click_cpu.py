"""bench/click_cpu.py's attribution: each part gets its own CPU time, less that of the named parts it calls, and
the statements' time goes to the question that asked them."""
from __future__ import annotations

import time

from bench.click_cpu import Attribution


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_nested_parts_are_counted_once_each():
    att = Attribution()
    sql = att.wrap("sql", lambda _self, _cursor, statement: _spin(0.02), statement=lambda a: a[2])
    data = att.wrap("data", lambda url, name: (_spin(0.03), sql(None, None, "SELECT 1")), label=lambda a: a[1])
    root = att.wrap("streamlit", lambda: (_spin(0.01), data("u", "q.count")), root=True)
    outside = att.wrap("data", lambda: _spin(0.02))

    outside()               # not inside a script run: not counted
    root()
    got = att.totals
    assert 0.018 < got["sql"] < 0.03
    assert 0.028 < got["data"] < 0.04      # its own 30 ms, not the statement's 20
    assert 0.009 < got["streamlit"] < 0.02
    assert list(att.statements) == [("q.count", "SELECT 1")]
    parts = att.take()
    assert set(parts) >= {"sql", "data", "streamlit"} and att.totals == {} and att.statements == {}
