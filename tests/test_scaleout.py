"""Two app processes behind nginx on one PostgreSQL (bench/scaleout.py, deploy/nginx.conf), on the test fixture:
the proxy's health check answers, tabs through the proxy are served by both processes, each on the process
nginx pins its browser to, and are signed in by their session cookie, a red supervision order issued through
one process's workbench form shows at once in the other's case panel and within the refresh interval in its
count of open red orders, and with one process stopped every new tab, of its browsers too, is served by the
other.  Needs nginx (Debian's package; `.ci/run` installs it) and the PostgreSQL test server.

Nothing here depends on where the hash happens to put a browser: the processes' ports change from run to run
and with them nginx's hash ring, so the tabs' cookies are probed first and as many are pinned to each process
(bench/scaleout.py, ``cookies_by_upstream``).  Before that, with two stand-in upstreams (nginx only): the
probe finds cookies for each process and they stay there, and a proxy that puts every browser on one process,
or does not pin them, is caught.
"""
from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import PG_SKIP_REASON, PG_URL, load_fixture

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                                reason="nginx is not installed (apt-get install nginx-light; .ci/run does)")
needs_pg = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)

HASH_LINE = "hash $cookie__streamlit_xsrf consistent;"


# --- the proxy's pinning, with stand-in upstreams ---------------------------------------------------------------

class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server calls it so
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args) -> None:
        pass


@contextmanager
def proxy_over_stand_ins(site_change=lambda site: site):
    """nginx with deploy/nginx.conf (changed by ``site_change``) over two servers answering the health check:
    (proxy URL, [upstream A, upstream B])."""
    from bench import scaleout

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Health) for _ in range(2)]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    ports = [srv.server_address[1] for srv in servers]
    try:
        with scaleout.Nginx(*ports, site=site_change(scaleout.NGINX_CONF.read_text())) as proxy:
            yield proxy.url, [f"127.0.0.1:{p}" for p in ports]
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()


def test_the_config_hashes_on_the_browser_cookie():
    from bench import scaleout

    assert HASH_LINE in scaleout.NGINX_CONF.read_text()  # what the stand-ins below change


def test_the_red_order_count_is_read_with_its_thousands_separator():
    from types import SimpleNamespace

    from bench.scaleout import red_orders

    page = lambda *texts: SimpleNamespace(texts=list(texts))  # noqa: E731
    assert red_orders(page("总览", "督办 红牌/黄牌: 1,204 / 3,517")) == 1204
    assert red_orders(page("督办 红牌/黄牌: 3 / 0")) == 3
    assert red_orders(page("督办 红牌/黄牌: — / —")) is None and red_orders(page("总览")) is None


def test_probed_cookies_reach_each_process_and_stay_there():
    from bench import scaleout

    with proxy_over_stand_ins() as (url, ups):
        found = scaleout.cookies_by_upstream(url, ups, 3, "p")
        assert all(len(found[u]) == 3 for u in ups), found
        for up, values in found.items():  # asked again, each browser goes where it went
            assert [scaleout.upstream_of(url, v) for v in values * 2] == [up] * 6, (up, values)
        assert scaleout.pinned_browsers(found) == [(v, up) for up in ups for v in found[up]]


def test_a_proxy_that_puts_every_browser_on_one_process_is_caught():
    """What the CI run that saw one process only met by chance, made certain: every cookie hashes alike."""
    from bench import scaleout

    with proxy_over_stand_ins(lambda site: site.replace(HASH_LINE, 'hash "one" consistent;')) as (url, ups):
        found = scaleout.cookies_by_upstream(url, ups, 3, "p", tries=50)
    assert sorted(len(v) for v in found.values()) == [0, 3], found  # bench/scaleout.run: both_used False


def test_a_proxy_that_does_not_pin_browsers_is_caught():
    from bench import scaleout

    with proxy_over_stand_ins(lambda site: site.replace(HASH_LINE, "")) as (url, ups):  # round robin
        found = scaleout.cookies_by_upstream(url, ups, 3, "p")
        again = {v: scaleout.upstream_of(url, v) for values in found.values() for v in values}
    assert any(again[v] != up for up, values in found.items() for v in values), (found, again)


# --- two app processes ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from bench import scaleout

    eng = load_fixture("pg", tmp_path_factory.mktemp("scaleout"), "metrics")
    url = eng.url.render_as_string(hide_password=False)
    eng.dispose()
    return scaleout.run(url, refresh_s=5, tabs=6, env={"GOV_NOW": "2026-03-31T12:00:00"})


@needs_pg
def test_the_proxy_answers_the_health_check(result):
    assert result["health"]["status"] == 200
    assert result["health"]["via"].startswith("127.0.0.1:")


@needs_pg
def test_the_proxy_passes_the_server_set_session_cookie(result):
    """The page's POST of its one-time grant reaches a process through nginx, which answers with the HttpOnly,
    SameSite=Strict session cookie (ui/session_cookie.py)."""
    assert result["cookie_route"]["ok"], result["cookie_route"]
    assert result["cookie_route"]["via"].startswith("127.0.0.1:")


@needs_pg
def test_tabs_through_the_proxy_are_signed_in_and_served_by_both_processes(result):
    assert len(result["tabs"]) == 6, result["browsers"]
    assert result["tabs_ok"], result["tabs"]
    assert all("测试市" in (t["title"] or "") for t in result["tabs"]), result["tabs"]
    assert result["both_used"], result["tabs"]


@needs_pg
def test_each_tab_is_served_by_the_process_its_browser_is_pinned_to(result):
    assert result["sticky"], result["tabs"]


@needs_pg
def test_a_write_in_one_process_is_seen_in_the_other(result):
    w = result["write"]
    assert w.get("seen_in_b_case_panel"), w
    assert w["red_after"] == w["red_before"] + 1, w
    assert w["seen_in_b_count_s"] is not None, w
    # no look at B's count begun a refresh interval after the write still showed the old count
    assert w["last_stale_look_began_s"] is None or w["last_stale_look_began_s"] < w["refresh_s"], w


@needs_pg
def test_with_one_process_stopped_the_other_serves_every_new_tab(result):
    assert result["failover_from_b"] == 3, result["browsers"]  # B's browsers among them
    assert result["failover_ok"], result["after_b_stopped"]
    assert result["ok"]
