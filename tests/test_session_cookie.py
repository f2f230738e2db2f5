"""A stolen session can be revoked (issue 21 item 2): the session cookie is set by the server (HttpOnly,
SameSite=Strict, Secure under HTTPS), never by page script; a change of an account's password, role,
jurisdiction or enabled state ends every session it has (SQLite and PostgreSQL); sign-out clears the cookie on
the server too.  The browser's side is in tests/test_browser_session.py."""
from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from data_access.core import users
from data_access.core.access import User
from tests.conftest import FIXTURES, ROOT

T0 = datetime(2026, 3, 20, 9, 0, 0)
PASSWORD = "correct horse battery"


@pytest.fixture
def engine(loaded_engine):
    return loaded_engine


def _add(engine, name="zhang.san", role="staff", scope="110"):
    return users.add_user(engine, name, display_name="张三", role=role, scope_code=scope, password=PASSWORD,
                          now=T0)


def _session(engine, name="zhang.san") -> str:
    return users.open_session(engine, users.get_account(engine, name).as_user(), now=T0)


def _check(engine, token):
    return users.check_session(engine, token, 120, now=T0 + timedelta(minutes=1))


# --- every session of an account ends when the account changes ---------------------------------------------------

def test_a_new_password_ends_every_session_of_that_account_and_no_other(engine):
    _add(engine)
    _add(engine, "li.si", scope="120")
    a, b, other = _session(engine), _session(engine), _session(engine, "li.si")
    assert _check(engine, a)[1] is None and _check(engine, b)[1] is None
    users.set_password(engine, "zhang.san", "a brand new password", now=T0)
    assert _check(engine, a) == (None, "changed") and _check(engine, b) == (None, "changed")
    assert _check(engine, other)[0] == User(name="张三", role="staff", scope_code="120", username="li.si")
    fresh = users.open_session(engine, users.authenticate(engine, "zhang.san", "a brand new password", now=T0),
                               now=T0)
    assert _check(engine, fresh)[0].username == "zhang.san"  # a sign-in after the change works


def test_disable_then_enable_does_not_revive_a_token_unused_in_between(engine):
    _add(engine)
    token = _session(engine)
    users.set_active(engine, "zhang.san", False, now=T0)
    assert _check(engine, token) == (None, "account")  # disabled: the notice says so
    users.set_active(engine, "zhang.san", True, now=T0)
    assert _check(engine, token) == (None, "changed")
    assert users.resume_session(engine, token, 120, now=T0 + timedelta(minutes=2)) is None


def test_a_new_role_or_jurisdiction_ends_the_sessions(engine):
    _add(engine)
    token = _session(engine)
    users.set_role(engine, "zhang.san", "viewer", now=T0)
    assert _check(engine, token) == (None, "changed")
    assert users.get_account(engine, "zhang.san").role == "viewer"
    token = _session(engine)
    users.set_scope(engine, "zhang.san", "111", now=T0)
    assert _check(engine, token) == (None, "changed")
    token = _session(engine)
    users.set_scope(engine, "zhang.san", None, now=T0)  # all regions
    assert _check(engine, token) == (None, "changed") and users.get_account(engine, "zhang.san").scope_code is None
    with pytest.raises(users.AccountError, match="role: 'boss'"):
        users.set_role(engine, "zhang.san", "boss")
    with pytest.raises(users.AccountError, match="scope: no region 'nowhere'"):
        users.set_scope(engine, "zhang.san", "nowhere")
    with pytest.raises(users.AccountError, match="no account 'nobody'"):
        users.set_role(engine, "nobody", "viewer")


def test_a_sign_out_ends_only_that_session(engine):
    _add(engine)
    a, b = _session(engine), _session(engine)
    users.close_session(engine, a, now=T0)
    assert _check(engine, a) == (None, "revoked") and _check(engine, b)[1] is None


def test_users_command_line_ends_the_sessions(engine, monkeypatch, capsys):
    from data_access.cli import main

    url = engine.url.render_as_string(hide_password=False)
    _add(engine)
    token = _session(engine)
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert main(["--db", url, "users", "set-password", "zhang.san", "--password-stdin"]) == 0
    assert "1 session ended" in capsys.readouterr().out
    assert _check(engine, token) == (None, "changed")
    token = _session(engine)
    assert main(["--db", url, "users", "disable", "zhang.san"]) == 0
    assert main(["--db", url, "users", "enable", "zhang.san"]) == 0
    assert _check(engine, token) == (None, "changed")
    token = _session(engine)
    assert main(["--db", url, "users", "set-role", "zhang.san", "leader"]) == 0
    assert _check(engine, token) == (None, "changed")
    token = _session(engine)
    assert main(["--db", url, "users", "set-scope", "zhang.san", "120"]) == 0
    assert _check(engine, token) == (None, "changed")
    acc = users.get_account(engine, "zhang.san")
    assert (acc.role, acc.scope_code) == ("leader", "120")
    assert main(["--db", url, "users", "set-scope", "zhang.san", "--all"]) == 0
    assert users.get_account(engine, "zhang.san").scope_code is None
    capsys.readouterr()
    assert main(["--db", url, "users", "set-scope", "zhang.san", "nowhere"]) == 1
    assert "scope: no region 'nowhere'" in capsys.readouterr().err
    assert main(["--db", url, "users", "set-scope", "zhang.san"]) == 1
    assert "scope: give either a REGION_CODE or --all" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: not one of the roles
        main(["--db", url, "users", "set-role", "zhang.san", "boss"])


# --- the one-time grant the page hands to the server for the cookie ----------------------------------------------

def test_a_grant_gives_the_token_once_and_only_while_fresh(engine):
    from data_access.core.schema import session_grants

    _add(engine)
    token = _session(engine)
    grant = users.session_grant(engine, token, now=T0)
    assert len(grant) == 64 and grant != token
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(session_grants.c.grant_hash, session_grants.c.sealed))]
    assert len(stored) == 1 and token not in stored[0] and grant not in stored[0]  # neither kept in clear
    assert users.redeem_grant(engine, grant, now=T0 + timedelta(seconds=5)) == token
    assert users.redeem_grant(engine, grant, now=T0 + timedelta(seconds=6)) is None  # once
    late = users.session_grant(engine, token, now=T0)
    assert users.redeem_grant(engine, late, now=T0 + timedelta(seconds=users.GRANT_SECONDS + 1)) is None
    assert users.redeem_grant(engine, "f" * 64, now=T0) is None
    assert users.redeem_grant(engine, "not hex", now=T0) is None and users.redeem_grant(engine, None) is None
    with engine.connect() as conn:  # a redeemed or stale grant is gone
        assert conn.execute(select(session_grants.c.grant_hash)).all() == []


# --- the server's routes (ui/session_cookie.py), called as the ASGI server calls them ----------------------------

def _call(app, method: str, path: str, headers: dict[str, str], body: bytes = b""):
    """One request to the ASGI app; returns (status, [(header, value)…])."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 50000),
             "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1:8501", **headers}.items()]}
    sent: list[dict] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], [(k.decode().lower(), v.decode()) for k, v in start["headers"]]


def _cookies(headers) -> list[str]:
    return [v for k, v in headers if k == "set-cookie"]


@pytest.fixture
def routes(engine, monkeypatch):
    from starlette.applications import Starlette

    from ui import session_cookie

    monkeypatch.setenv("GOV_DB_URL", engine.url.render_as_string(hide_password=False))
    return Starlette(routes=session_cookie.ROUTES)


def test_the_server_sets_the_session_cookie_httponly_strict_and_secure_under_https(engine, routes):
    from ui import session_cookie

    _add(engine)
    token = _session(engine)
    asked = {"X-Gov-Session": "1", "Origin": "http://127.0.0.1:8501", "Sec-Fetch-Site": "same-origin"}
    grant = users.session_grant(engine, token)
    status, headers = _call(routes, "POST", session_cookie.START_PATH, asked, grant.encode())
    assert status == 204
    (cookie,) = _cookies(headers)
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert parts[0] == f"gov_session={token}"
    assert {"httponly", "samesite=strict", "path=/", f"max-age={users.SESSION_MAX_HOURS * 3600}"} <= set(parts)
    assert "secure" not in parts  # plain HTTP (the local run): a Secure cookie would not be sent back
    assert headers and ("cache-control", "no-store") in headers
    # Behind nginx with TLS: X-Forwarded-Proto https.
    status, headers = _call(routes, "POST", session_cookie.START_PATH, {**asked, "X-Forwarded-Proto": "https"},
                            users.session_grant(engine, token).encode())
    assert status == 204 and "secure" in [p.strip().lower() for p in _cookies(headers)[0].split(";")]


def test_the_server_refuses_a_used_grant_and_a_request_from_another_site(engine, routes):
    from ui import session_cookie

    _add(engine)
    token = _session(engine)
    grant = users.session_grant(engine, token)
    ok = {"X-Gov-Session": "1", "Origin": "http://127.0.0.1:8501"}
    for headers in ({"Origin": "http://127.0.0.1:8501"},  # no custom header: a plain form post from anywhere
                    {**ok, "Origin": "https://evil.example"},  # another site
                    {**ok, "Sec-Fetch-Site": "cross-site"}):
        status, sent = _call(routes, "POST", session_cookie.START_PATH, headers, grant.encode())
        assert status == 403 and not _cookies(sent)
    assert _call(routes, "GET", session_cookie.START_PATH, ok)[0] == 405
    assert _call(routes, "POST", session_cookie.START_PATH, ok, grant.encode())[0] == 204
    status, sent = _call(routes, "POST", session_cookie.START_PATH, ok, grant.encode())  # a second time
    assert status == 400 and not _cookies(sent)
    assert _call(routes, "POST", session_cookie.START_PATH, ok, b"<script>")[0] == 400


def test_the_server_clears_the_cookie_and_ends_its_session_on_sign_out(engine, routes):
    from ui import session_cookie

    _add(engine)
    token, other = _session(engine), _session(engine)
    ok = {"X-Gov-Session": "1", "Origin": "http://127.0.0.1:8501", "Cookie": f"gov_session={token}"}
    status, headers = _call(routes, "POST", session_cookie.END_PATH, ok)
    assert status == 204
    (cookie,) = _cookies(headers)
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert parts[0] in ('gov_session=""', "gov_session=") and "max-age=0" in parts and "httponly" in parts
    assert _check(engine, token) == (None, "revoked")
    assert _check(engine, other)[1] is None  # another browser of the account stays
    assert _call(routes, "POST", session_cookie.END_PATH, {**ok, "Origin": "https://evil.example"})[0] == 403


def test_app_py_is_served_with_the_routes_by_streamlit_run():
    """``streamlit run app.py`` serves the st.App it finds in app.py (with the routes), and runs the same file as
    the page script."""
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"
    text = (ROOT / "app.py").read_text(encoding="utf-8")
    assert "routes=[*session_cookie.ROUTES" in text


# --- the page (AppTest) ---------------------------------------------------------------------------------------

@pytest.fixture
def app_url(tmp_path, monkeypatch) -> str:
    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset

    url = f"sqlite:///{tmp_path / 'auth.db'}"
    eng = make_engine(url)
    load_dataset(FIXTURES / "metrics", eng)
    users.add_user(eng, "zhang.san", display_name="张三", role="staff", scope_code="110", password=PASSWORD)
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    monkeypatch.setenv("GOV_NOW", "2026-03-20T12:00:00")
    return url


def _scripts(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.html if "<script>" in h.proto.body]


def _signed_in(url: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.text_input(key="signin_user").input("zhang.san")
    at.text_input(key="signin_password").input(PASSWORD)
    at = next(b for b in at.button if b.label == "登录").click().run()
    assert len(at.metric) >= 4
    return at


def test_the_page_hands_the_server_a_grant_never_the_token(app_url):
    at = _signed_in(app_url)
    token = at.session_state["_auth"]
    (script,) = _scripts(at)
    assert token not in script and "document.cookie" not in script and "gov_session" not in script
    assert 'fetch("/_gov/session"' in script and '"X-Gov-Session": "1"' in script
    from data_access.core.db import get_engine

    grant = script.split('body: "')[1].split('"')[0]
    assert users.redeem_grant(get_engine(app_url), grant) == token


def test_a_signed_in_tab_is_signed_out_with_a_notice_after_a_password_change(app_url):
    from data_access.core.db import get_engine

    at = _signed_in(app_url)
    users.set_password(get_engine(app_url), "zhang.san", "a brand new password")
    at._finished_page_script_hash = ""  # AppTest 1.67 reruns a pages/ app only this way (tests/test_app.py)
    at.run()
    assert not at.metric
    assert at.error[0].value == "您的账号已变更（密码、角色、辖区或启用状态），请重新登录。"
    (script,) = _scripts(at)  # the cookie is cleared on the server
    assert 'fetch("/_gov/session/end"' in script


def test_a_reload_with_a_cookie_of_a_changed_account_shows_the_sign_in_page_with_the_notice(app_url, monkeypatch):
    import ui.auth
    from data_access.core.db import get_engine

    at = _signed_in(app_url)
    token = at.session_state["_auth"]
    users.set_active(get_engine(app_url), "zhang.san", False)
    users.set_active(get_engine(app_url), "zhang.san", True)
    monkeypatch.setattr(ui.auth, "_cookie_token", lambda: token)  # the browser sends the old cookie
    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not reloaded.metric and reloaded.text_input(key="signin_user") is not None
    assert reloaded.error[0].value == "您的账号已变更（密码、角色、辖区或启用状态），请重新登录。"
