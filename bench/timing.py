"""The one timing helper of the benchmark scripts: the median wall time of repeated calls, in ms."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeat: int = 5, warm: bool = False) -> float:
    """Median milliseconds of ``repeat`` calls of ``fn`` (``warm``: one untimed call first)."""
    if warm:
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)
