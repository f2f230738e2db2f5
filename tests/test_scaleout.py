"""Two app processes behind nginx on one PostgreSQL (bench/scaleout.py, deploy/nginx.conf), on the test fixture:
the proxy's health check answers, tabs through the proxy are served by both processes and are signed in by
their session cookie, a red supervision order issued through one process's workbench form shows at once in
the other's case panel and within the refresh interval in its count of open red orders, and with one process
stopped every new tab is served by the other.  Needs nginx (Debian's package; `.ci/run` installs it) and the
PostgreSQL test server.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_SKIP_REASON, PG_URL, load_fixture

pytestmark = [pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON),
              pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                                 reason="nginx is not installed (apt-get install nginx-light; .ci/run does)")]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from bench import scaleout

    eng = load_fixture("pg", tmp_path_factory.mktemp("scaleout"), "metrics")
    url = eng.url.render_as_string(hide_password=False)
    eng.dispose()
    return scaleout.run(url, refresh_s=5, tabs=6, env={"GOV_NOW": "2026-03-31T12:00:00"})


def test_the_proxy_answers_the_health_check(result):
    assert result["health"]["status"] == 200
    assert result["health"]["via"].startswith("127.0.0.1:")


def test_tabs_through_the_proxy_are_signed_in_and_served_by_both_processes(result):
    assert result["tabs_ok"], result["tabs"]
    assert all("测试市" in (t["title"] or "") for t in result["tabs"]), result["tabs"]
    assert result["both_used"], result["upstreams"]


def test_a_write_in_one_process_is_seen_in_the_other(result):
    w = result["write"]
    assert w.get("seen_in_b_case_panel"), w
    assert w["red_after"] == w["red_before"] + 1, w
    assert w["seen_in_b_count_s"] <= w["refresh_s"] + 2, w


def test_with_one_process_stopped_the_other_serves_every_new_tab(result):
    assert result["failover_ok"], result["after_b_stopped"]
    assert result["ok"]
