"""The production profile (deploy/): the settings the issue asks for are in force when the app is started with
it, the start script refuses to run without a database and a shared cookie secret, and the health endpoint
answers for the load balancer."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.server import StreamlitServer, health
from tests.conftest import FIXTURES, ROOT

ENV_FILE = ROOT / "deploy" / "production.env"
SCRIPT = ROOT / "deploy" / "run-production.sh"
SECRET = "0123456789abcdef" * 4


def _profile() -> dict[str, str]:
    out = {}
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def test_profile_holds_the_hardening_settings():
    p = _profile()
    assert p["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] == "none"  # no tracebacks for users
    assert p["STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION"] == "true"
    assert p["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert p["GOV_AUTO_DEMO"] == "0"  # never demo data or demo accounts in production
    assert float(p["GOV_STATEMENT_TIMEOUT_S"]) > 0


def test_effective_streamlit_config_under_the_profile():
    env = {**os.environ, **_profile(), "STREAMLIT_SERVER_COOKIE_SECRET": SECRET}
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60, check=True).stdout
    for line in ('showErrorDetails = "none"', "enableXsrfProtection = true", "gatherUsageStats = false",
                 f'cookieSecret = "{SECRET}"', "enableAgentApi = false", "enableStaticServing = false"):
        assert f"\n{line}\n" in shown, line


@pytest.mark.parametrize("env, message", [
    ({}, "GOV_DB_URL is not set"),
    ({"GOV_DB_URL": "sqlite:///x.db"}, "GOV_COOKIE_SECRET must be set"),
    ({"GOV_DB_URL": "sqlite:///x.db", "GOV_COOKIE_SECRET": "short"}, "GOV_COOKIE_SECRET must be set"),
])
def test_start_script_refuses_without_database_or_secret(env, message):
    clean = {k: v for k, v in os.environ.items() if k not in ("GOV_DB_URL", "GOV_COOKIE_SECRET")}
    r = subprocess.run(["bash", str(SCRIPT)], env={**clean, **env}, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and message in r.stderr


def test_the_service_environment_overrides_the_profile_defaults(tmp_path):
    # PYTHON stands in for the interpreter: it prints what the app would see instead of starting it
    fake = tmp_path / "python"
    # (the script first asks `python -m data_access ready`: the stand-in says yes)
    fake.write_text("#!/bin/sh\n[ \"$3\" = ready ] && exit 0\n"
                    "echo \"refresh=$GOV_REFRESH_SECONDS demo=$GOV_AUTO_DEMO details=$STREAMLIT_CLIENT_SHOW_ERROR_DETAILS\"\n")
    fake.chmod(0o755)
    env = {**os.environ, "GOV_DB_URL": "sqlite:///x.db", "GOV_COOKIE_SECRET": SECRET, "PYTHON": str(fake),
           "GOV_REFRESH_SECONDS": "15"}
    env.pop("GOV_AUTO_DEMO", None)
    env.pop("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", None)
    r = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "refresh=15 demo=0 details=none", r.stderr  # set: kept; unset: the profile's


class ProfileServer(StreamlitServer):
    """``deploy/run-production.sh --server.port <port>`` with the test's environment only.  bench/server.py
    starts it: ready when its own socket on the port answers the health check, on another free port if a
    different process took the first one before it bound it."""

    def __init__(self, db_url: str, env: dict[str, str]) -> None:
        super().__init__(db_url, startup_timeout=60)
        self.env = env

    def command(self) -> list[str]:
        return ["bash", str(SCRIPT), "--server.port", str(self.port)]

    def environment(self) -> dict[str, str]:
        return self.env


def test_started_with_the_profile_the_health_endpoint_answers(tmp_path):
    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset

    url = f"sqlite:///{tmp_path / 'prod.db'}"
    load_dataset(FIXTURES / "metrics", make_engine(url))
    env = {**os.environ, "GOV_DB_URL": url, "GOV_COOKIE_SECRET": SECRET, "PYTHON": sys.executable,
           "GOV_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    with ProfileServer(url, env) as srv:  # (start raises unless the health endpoint answered "ok")
        assert health(srv.url) == "ok"
