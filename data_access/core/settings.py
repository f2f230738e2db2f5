"""Numeric settings from the environment, read one way.

A setting such as ``GOV_STATEMENT_TIMEOUT_S`` or ``GOV_SIGNIN_MAX_FAILURES`` is read when its module is imported.
A malformed value (``abc``, ``1.5`` for a whole number, ``0`` where at least 1 is needed) must not stop every
command and the app with a traceback: it is named on stderr with what was expected, and the default is used
(docs/OPERATIONS.md, "Settings").  Settings that choose *what* is computed rather than how (the bulletin's cut-off
day, the app-log run) refuse a bad value instead, where they are used.
"""
from __future__ import annotations

import math
import os
import sys


def number(name: str, default: float, *, minimum: float, whole: bool = True,
           unit: str = "") -> float | int:
    """The value of the environment variable ``name``: a whole number (``whole``) or a decimal, at least
    ``minimum``; unset or empty gives ``default``; anything else is named on stderr and gives ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value: float | int | None
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        kind = "a whole number" if whole else "a number"
        least = int(minimum) if float(minimum).is_integer() else minimum
        of = f" of {unit}" if unit else ""
        sys.stderr.write(f"{name}={raw!r}: not {kind}{of} (at least {least}); using {default}\n")
        return default
    return value
