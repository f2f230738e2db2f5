"""Numeric settings read at import (data_access/core/settings.py): a malformed value is named on stderr and its
default used; it never stops the app or a command with a traceback.  Before, ``GOV_STATEMENT_TIMEOUT_S=abc python -m
data_access status`` (and the same for the sign-in and session limits) died with a ValueError at import."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from data_access.core import settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("raw, whole, minimum, expected, said", [
    ("", True, 1, 7, False),
    ("12", True, 1, 12, False),
    (" 12 ", True, 1, 12, False),
    ("abc", True, 1, 7, True),
    ("1.5", True, 1, 7, True),      # a whole number is asked for
    ("0", True, 1, 7, True),        # below the least value
    ("-3", True, 1, 7, True),
    ("2.5", False, 0.1, 2.5, False),
    ("0.05", False, 0.1, 7, True),
    ("nan", False, 0, 7, True),
    ("inf", False, 0, 7, True),
    ("0", False, 0, 0.0, False),
])
def test_a_number_setting(monkeypatch, capsys, raw, whole, minimum, expected, said):
    monkeypatch.setenv("GOV_X", raw)
    assert settings.number("GOV_X", 7, minimum=minimum, whole=whole, unit="minutes") == expected
    err = capsys.readouterr().err
    assert (f"GOV_X={raw.strip()!r}: not a {'whole ' if whole else ''}number of minutes" in err) == said
    if said:
        assert "using 7" in err


@pytest.mark.parametrize("name, command, answer", [
    ("GOV_STATEMENT_TIMEOUT_S", "status", "no batch applied and no dataset loaded yet"),
    ("GOV_SYNC_STALE_MINUTES", "status", "no batch applied and no dataset loaded yet"),
    ("GOV_LOAD_CACHE_MB", "status", "no batch applied and no dataset loaded yet"),
    ("GOV_SIGNIN_MAX_FAILURES", "users list", "No accounts"),
    ("GOV_SIGNIN_LOCK_MINUTES", "users list", "No accounts"),
    ("GOV_SESSION_MAX_HOURS", "users list", "No accounts"),
])
def test_a_malformed_setting_does_not_stop_a_command(tmp_path, name, command, answer):
    """The command that reads the setting runs to its usual answer."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    r = subprocess.run([sys.executable, "-m", "data_access", "--db", url, *command.split()], cwd=ROOT,
                       capture_output=True, text=True, timeout=120, env={**os.environ, name: "abc"}, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    assert f"{name}='abc': not a" in r.stderr
    assert answer.lower() in r.stdout.lower()


def test_the_app_settings_fall_back_too(monkeypatch, capsys):
    """ui/auth.py and ui/data.py read theirs at import as well: re-importing them with bad values gives defaults."""
    import importlib

    import ui.auth
    import ui.data

    monkeypatch.setenv("GOV_SESSION_IDLE_MINUTES", "soon")
    monkeypatch.setenv("GOV_REFRESH_SECONDS", "2")          # below the least refresh of 5 s
    try:
        assert importlib.reload(ui.auth).IDLE_MINUTES == 120
        assert importlib.reload(ui.data).REFRESH_S == 60
        err = capsys.readouterr().err
        assert "GOV_SESSION_IDLE_MINUTES='soon'" in err and "GOV_REFRESH_SECONDS='2': not a whole number of seconds (at least 5)" in err
    finally:
        monkeypatch.delenv("GOV_SESSION_IDLE_MINUTES")
        monkeypatch.delenv("GOV_REFRESH_SECONDS")
        importlib.reload(ui.auth)
        importlib.reload(ui.data)
