"""The production profile (deploy/): the settings the issue asks for are in force when the app is started with
it, the start script refuses to run without a database and a shared cookie secret, and the health endpoint
answers for the load balancer."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

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
    fake.write_text("#!/bin/sh\necho \"refresh=$GOV_REFRESH_SECONDS demo=$GOV_AUTO_DEMO details=$STREAMLIT_CLIENT_SHOW_ERROR_DETAILS\"\n")
    fake.chmod(0o755)
    env = {**os.environ, "GOV_DB_URL": "sqlite:///x.db", "GOV_COOKIE_SECRET": SECRET, "PYTHON": str(fake),
           "GOV_REFRESH_SECONDS": "15"}
    env.pop("GOV_AUTO_DEMO", None)
    env.pop("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", None)
    r = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "refresh=15 demo=0 details=none", r.stderr  # set: kept; unset: the profile's


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_started_with_the_profile_the_health_endpoint_answers(tmp_path):
    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset

    url = f"sqlite:///{tmp_path / 'prod.db'}"
    load_dataset(FIXTURES / "metrics", make_engine(url))
    port = _free_port()
    env = {**os.environ, "GOV_DB_URL": url, "GOV_COOKIE_SECRET": SECRET, "PYTHON": sys.executable,
           "GOV_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    proc = subprocess.Popen(["bash", str(SCRIPT), "--server.port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body, deadline = None, time.time() + 60
        while time.time() < deadline and body is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read()
            except OSError:
                time.sleep(0.3)
        assert body == b"ok"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
