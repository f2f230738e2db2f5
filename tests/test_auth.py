"""Accounts, sign-in, slow-down and lock, demo accounts, the audit log and the users command line
(SQLite and PostgreSQL), and the sign-in page itself (AppTest)."""
from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from data_access.core import audit, users
from data_access.queries import audit as audit_q
from data_access.core.access import User
from data_access.core.schema import audit_log
from data_access.core.schema import users as users_table
from tests.conftest import FIXTURES, ROOT, sign_in

T0 = datetime(2026, 3, 20, 9, 0, 0)
PASSWORD = "correct horse battery"


@pytest.fixture
def engine(loaded_engine):
    return loaded_engine


def _events(engine, username: str | None = None) -> list[tuple[str, str | None]]:
    q = select(audit_log.c.event, audit_log.c.detail).order_by(audit_log.c.id)
    if username is not None:
        q = q.where(audit_log.c.username == username)
    with engine.connect() as conn:
        return [(e, json.loads(d).get("reason") if d else None) for e, d in conn.execute(q)]


def _add(engine, name="zhang.san", role="staff", scope="110", **kw):
    return users.add_user(engine, name, display_name="张三", role=role, scope_code=scope, password=PASSWORD,
                          now=T0, **kw)


# --- passwords and sign-in ---------------------------------------------------------------------------------

def test_password_is_stored_as_argon2id_only(engine):
    _add(engine)
    with engine.connect() as conn:
        stored = conn.execute(select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_right_password_signs_in_with_role_and_jurisdiction(engine):
    _add(engine)
    user = users.authenticate(engine, " zhang.san ", PASSWORD, now=T0)
    assert user == User(name="张三", role="staff", scope_code="110", username="zhang.san")
    assert _events(engine, "zhang.san")[-1] == ("sign_in", None)


def test_unknown_name_and_wrong_password_give_the_same_answer(engine):
    _add(engine)
    answers = []
    for name, pw in (("nobody", PASSWORD), ("zhang.san", "wrong password")):
        with pytest.raises(users.SignInRefused) as exc:
            users.authenticate(engine, name, pw, now=T0)
        answers.append((exc.value.reason, exc.value.params))
    assert answers == [("bad_credentials", {}), ("bad_credentials", {})]
    assert _events(engine, "nobody") == [("sign_in_failed", "bad_credentials")]


def test_failures_slow_down_then_lock_and_a_right_password_waits_too(engine):
    _add(engine)

    def attempt(at: datetime, pw: str = "wrong password") -> tuple[str, dict]:
        try:
            users.authenticate(engine, "zhang.san", pw, now=at)
        except users.SignInRefused as exc:
            return exc.reason, exc.params
        return "ok", {}

    assert attempt(T0) == ("bad_credentials", {})  # 1st failure: no wait
    assert attempt(T0) == ("bad_credentials", {})  # 2nd: wait 1 s from now on
    assert attempt(T0) == ("throttled", {"wait_s": 1})  # not even checked, not counted
    assert attempt(T0, PASSWORD) == ("throttled", {"wait_s": 1})  # the right password waits as well
    t = T0 + timedelta(seconds=1)
    assert attempt(t) == ("bad_credentials", {})  # 3rd: wait 2 s
    assert attempt(t + timedelta(seconds=1)) == ("throttled", {"wait_s": 1})
    t += timedelta(seconds=2)
    assert attempt(t) == ("bad_credentials", {})  # 4th: wait 4 s
    t += timedelta(seconds=4)
    assert attempt(t) == ("bad_credentials", {})  # 5th = GOV_SIGNIN_MAX_FAILURES: locked 15 min
    assert attempt(t + timedelta(minutes=1), PASSWORD)[0] == "locked"
    assert users.get_account(engine, "zhang.san").active  # a lock is not a disable
    assert attempt(t + timedelta(minutes=users.LOCK_MINUTES, seconds=1), PASSWORD) == ("ok", {})
    with engine.connect() as conn:
        assert conn.execute(select(users_table.c.failed_count)).scalar_one() == 0  # success resets
    events = [e for e, _ in _events(engine, "zhang.san")]
    assert events.count("sign_in_failed") == 9 and events.count("locked") == 1 and events[-1] == "sign_in"


def _burst(engine, passwords: list[str], at: datetime) -> list[str]:
    """Every password tried at once, one thread each (as browser tabs or app processes would); the outcomes."""
    import threading

    start = threading.Barrier(len(passwords))
    out: list[str] = []

    def go(pw: str) -> None:
        start.wait()
        try:
            users.authenticate(engine, "zhang.san", pw, now=at)
            out.append("ok")
        except users.SignInRefused as exc:
            out.append(exc.reason)

    threads = [threading.Thread(target=go, args=(pw,)) for pw in passwords]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


def test_parallel_attempts_never_verify_more_passwords_than_allowed(engine, monkeypatch):
    """Issue 21, 1: the lock was read before the password was checked and the count written after, so 30
    attempts at once were all checked.  Bursts of 30 wrong passwords, each burst after the previous one's
    slow-down has passed (but inside the lock): at most MAX_FAILURES passwords are ever verified, and a right
    password inside the last burst, after the limit, does not sign in."""
    import threading

    _add(engine)
    with engine.connect() as conn:
        real_hash = conn.execute(select(users_table.c.password_hash)).scalar_one()
    verified, guard = [], threading.Lock()
    real_verify = users._verify

    def counting_verify(hashed: str, password: str) -> bool:
        if hashed == real_hash:
            with guard:
                verified.append(password)
        return real_verify(hashed, password)

    monkeypatch.setattr(users, "_verify", counting_verify)
    first = _burst(engine, ["wrong password"] * 30, T0)
    assert first.count("bad_credentials") == len(verified) <= users.SLOW_DOWN_FROM  # the rest had to wait
    assert set(first) <= {"bad_credentials", "throttled"}
    outcomes = []
    for k in range(1, 8):  # 40 s apart: past any slow-down (at most 30 s), inside the 15-minute lock
        outcomes += _burst(engine, ["wrong password"] * 30, T0 + timedelta(seconds=40 * k))
    assert len(verified) == users.MAX_FAILURES  # at most the allowed number, however many arrived
    last = _burst(engine, ["wrong password"] * 29 + [PASSWORD], T0 + timedelta(seconds=40 * 8))
    assert "ok" not in last and set(last) == {"locked"}
    assert len(verified) == users.MAX_FAILURES and PASSWORD not in verified
    with engine.connect() as conn:
        assert conn.execute(select(users_table.c.failed_count)).scalar_one() == users.MAX_FAILURES
    events = [e for e, _ in _events(engine, "zhang.san")]
    assert events.count("locked") == 1 and "sign_in" not in events


def test_set_password_lifts_a_lock_and_short_passwords_are_refused(engine):
    _add(engine)
    for i in range(users.MAX_FAILURES):
        with pytest.raises(users.SignInRefused):
            users.authenticate(engine, "zhang.san", "wrong", now=T0 + timedelta(minutes=i))
    with pytest.raises(users.AccountError, match="password: at least"):
        users.set_password(engine, "zhang.san", "short")
    users.set_password(engine, "zhang.san", "a new long password", now=T0)
    assert users.authenticate(engine, "zhang.san", "a new long password", now=T0 + timedelta(minutes=9)).role == "staff"


def test_disabled_account_cannot_sign_in_and_its_session_ends(engine):
    _add(engine)
    assert users.current_account_user(engine, "zhang.san") is not None
    users.set_active(engine, "zhang.san", False)
    with pytest.raises(users.SignInRefused) as exc:
        users.authenticate(engine, "zhang.san", PASSWORD, now=T0)
    assert exc.value.reason == "disabled"
    assert users.current_account_user(engine, "zhang.san") is None  # the frame signs the session out


@pytest.mark.parametrize("field, kwargs, message", [
    ("role", {"role": "boss"}, "role: 'boss' is not one of"),
    ("scope", {"scope": "999"}, "scope: no region '999'"),
    ("username", {"name": "有空格 的名字"}, "username:"),
])
def test_bad_account_fields_are_refused_and_nothing_is_written(engine, field, kwargs, message):
    with pytest.raises(users.AccountError, match=message):
        _add(engine, **kwargs)
    assert users.account_count(engine) == 0


def test_duplicate_username_is_refused(engine):
    _add(engine)
    with pytest.raises(users.AccountError, match="already taken"):
        _add(engine)


def test_oidc_email_maps_to_an_account(engine):
    users.add_user(engine, "li.si", display_name="李四", role="leader", scope_code="120", email="Li.Si@Gov.CN")
    assert users.authenticate_email(engine, "li.si@gov.cn", now=T0).scope_code == "120"
    with pytest.raises(users.SignInRefused) as exc:
        users.authenticate_email(engine, "stranger@gov.cn", now=T0)
    assert exc.value.reason == "not_registered"
    with pytest.raises(users.SignInRefused):  # an account without password never signs in by password
        users.authenticate(engine, "li.si", "", now=T0)


def test_a_jurisdiction_gone_from_the_data_refuses_sign_in(engine):
    users.add_user(engine, "old", display_name="旧账号", role="leader", scope_code="120", password=PASSWORD)
    with engine.begin() as conn:
        conn.execute(users_table.update().values(scope_code="129"))  # a region no longer in the data
    with pytest.raises(users.SignInRefused) as exc:
        users.authenticate(engine, "old", PASSWORD, now=T0)
    assert exc.value.reason == "no_jurisdiction"
    assert users.current_account_user(engine, "old") is None


# --- demo accounts ---------------------------------------------------------------------------------------------

def test_demo_accounts_exist_only_while_sample_data_is_loaded(engine):
    from data_access.ingest.loader import load_dataset

    assert users.demo_accounts(engine) == []
    _add(engine)
    demo = users.install_demo_accounts(engine)
    assert [(a.username, a.role, a.scope_code) for a in demo] == [
        ("demo_leader", "leader", "100"), ("demo_staff", "staff", "110"), ("demo_viewer", "viewer", "111")]
    assert users.sign_in_demo(engine, "demo_staff", now=T0).scope_code == "110"
    with pytest.raises(users.SignInRefused):
        users.sign_in_demo(engine, "zhang.san", now=T0)  # a real account is never one-click
    load_dataset(FIXTURES / "metrics", engine, replace=True)  # "real" data replaces the sample
    assert users.demo_accounts(engine) == []
    with pytest.raises(users.SignInRefused):
        users.sign_in_demo(engine, "demo_staff", now=T0)
    assert users.get_account(engine, "zhang.san") is not None  # real accounts survive a load


# --- audit -----------------------------------------------------------------------------------------------------

def test_audit_log_is_scoped_to_the_readers_jurisdiction(engine):
    for name, scope in (("east", "110"), ("east.town", "111"), ("west", "120"), ("city", None)):
        users.add_user(engine, name, display_name=name, role="staff", scope_code=scope, password=PASSWORD)
        users.authenticate(engine, name, PASSWORD, now=T0)
    leader = User("东县领导", "leader", "110", "east.leader")
    rows, total = audit_q.audit_entries(engine, leader, events=("sign_in",))
    assert sorted(rows["username"]) == ["east", "east.town"] and total == 2
    admin = User("管理员", "admin", None, "admin")
    assert audit_q.audit_entries(engine, admin, events=("sign_in",))[1] == 4
    assert audit_q.audit_event_counts(engine, leader, date(2026, 3, 20), date(2026, 3, 20))["sign_in"] == 2
    assert audit_q.audit_event_counts(engine, leader, date(2026, 3, 21), None)["sign_in"] == 0
    with pytest.raises(PermissionError):
        audit_q.audit_entries(engine, User("看", "viewer", None))
    with pytest.raises(PermissionError):
        audit_q.audit_event_counts(engine, User("干", "staff", "110"))


def test_failed_sign_ins_and_locks_are_seen_by_the_leader_of_the_accounts_region(engine):
    """Issue 21, 3: a failed sign-in or lock carried no jurisdiction, so a leader never saw those of the
    accounts in the region.  Hand-made: east (110) fails once, east.town (111) is locked (MAX_FAILURES wrong
    passwords), west (120) fails once, an unknown name fails once, and a disabled east.off (110) tries."""
    for name, scope in (("east", "110"), ("east.town", "111"), ("west", "120"), ("east.off", "110")):
        users.add_user(engine, name, display_name=name, role="staff", scope_code=scope, password=PASSWORD)
    users.set_active(engine, "east.off", False)
    for name in ("east", "west", "nobody"):
        with pytest.raises(users.SignInRefused):
            users.authenticate(engine, name, "wrong password", now=T0)
    for i in range(users.MAX_FAILURES):
        with pytest.raises(users.SignInRefused):
            users.authenticate(engine, "east.town", "wrong password", now=T0 + timedelta(minutes=i))
    with pytest.raises(users.SignInRefused, match="locked"):
        users.authenticate(engine, "east.town", PASSWORD, now=T0 + timedelta(minutes=9))
    with pytest.raises(users.SignInRefused, match="disabled"):
        users.authenticate(engine, "east.off", PASSWORD, now=T0)
    leader = User("东县领导", "leader", "110", "east.leader")
    rows, total = audit_q.audit_entries(engine, leader, events=("sign_in_failed", "locked"))
    got = sorted(zip(rows["event"], rows["username"], rows["scope_code"]))
    assert got == sorted([("sign_in_failed", "east", "110"), ("sign_in_failed", "east.off", "110")]
                         + [("sign_in_failed", "east.town", "111")] * (users.MAX_FAILURES + 1)
                         + [("locked", "east.town", "111")])
    assert total == users.MAX_FAILURES + 4
    counts = audit_q.audit_event_counts(engine, leader, date(2026, 3, 20), date(2026, 3, 20))
    assert (counts["sign_in_failed"], counts["locked"]) == (users.MAX_FAILURES + 3, 1)
    west = User("西县领导", "leader", "120", "west.leader")
    assert list(audit_q.audit_entries(engine, west, events=("sign_in_failed",))[0]["username"]) == ["west"]
    admin = User("管理员", "admin", None, "admin")  # the unknown name: only without a jurisdiction
    assert audit_q.audit_entries(engine, admin, events=("sign_in_failed",))[1] == users.MAX_FAILURES + 5


def test_export_and_writes_are_audited_and_refusals_leave_no_write_row(engine):
    from data_access.queries.case_export import write_csv
    from data_access.core.filters import CaseFilter
    from data_access.writes.orders import SupervisionOrder, issue_supervision
    from data_access.writes.workflow import WriteRefused

    staff = User("王五", "staff", "110", "wang.wu")
    out = io.BytesIO()
    n = write_csv(engine, CaseFilter(region_code="111", statuses=("closed",)), out, user=staff, now=T0,
                  headers={}, labels={})
    rows, _ = audit_q.audit_entries(engine, User("a", "admin"), events=("export",))
    assert n == 5 and rows["rows"].tolist() == [5]  # c01, c02, c03, c04, c10 and rows["username"].tolist() == ["wang.wu"]
    assert json.loads(rows["detail"][0]) == {"filter": {"region_code": "111", "statuses": ["closed"]},
                                             "format": "csv", "sort": "reported_desc"}
    with pytest.raises(WriteRefused):  # c05 is in 西县, outside the jurisdiction
        issue_supervision(engine, staff, SupervisionOrder("c05", "red", T0 + timedelta(days=2), "请办理"), now=T0)
    assert audit_q.audit_event_counts(engine, User("a", "admin"))["write"] == 0
    issue_supervision(engine, staff, SupervisionOrder("c07", "red", T0 + timedelta(days=2), "请办理"), now=T0)
    rows, _ = audit_q.audit_entries(engine, User("a", "admin"), events=("write",))
    assert rows["target"].tolist() == ["c07"] and json.loads(rows["detail"][0])["grade"] == "red"


# --- command line ----------------------------------------------------------------------------------------------

def test_users_command_line(engine, monkeypatch, capsys):
    from data_access.cli import main

    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--db", url, "users", "add", "zhao.liu", "--name", "赵六", "--role", "leader", "--scope", "120",
                 "--password-stdin"]) == 0
    assert users.authenticate(engine, "zhao.liu", PASSWORD, now=T0).scope_code == "120"
    assert main(["--db", url, "users", "disable", "zhao.liu"]) == 0
    assert main(["--db", url, "users", "list"]) == 0
    assert "zhao.liu" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert main(["--db", url, "users", "set-password", "zhao.liu", "--password-stdin"]) == 0
    assert main(["--db", url, "users", "enable", "zhao.liu"]) == 0
    assert users.authenticate(engine, "zhao.liu", "another long password", now=T0).role == "leader"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--db", url, "users", "add", "x.y", "--role", "leader", "--scope", "nowhere",
                 "--password-stdin"]) == 1
    assert "scope: no region 'nowhere'" in capsys.readouterr().err
    assert main(["--db", url, "users", "disable", "nobody"]) == 1


# --- the sign-in page (AppTest, SQLite) --------------------------------------------------------------------------

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


def _signin_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _submit(at: AppTest, name: str, pw: str) -> AppTest:
    at.text_input(key="signin_user").input(name)
    at.text_input(key="signin_password").input(pw)
    return next(b for b in at.button if b.label == "登录").click().run()


def test_sign_in_form_refuses_then_signs_in_and_keeps_the_link(app_url):
    at = _signin_page({"q": "漏水", "region": "111"})
    assert not at.exception and at.header[0].value == "网格化服务管理督导驾驶舱"
    assert not at.metric  # no data before sign-in
    at = _submit(at, "zhang.san", "wrong password")
    assert [e.value for e in at.error] == ["用户名或密码不正确。"]
    at = _submit(at, "zhang.san", PASSWORD)
    assert not at.exception and not at.error
    assert at.session_state["region_code"] == "111"  # the link the user came with still applies
    assert "东镇" in at.title[0].value
    assert any(c.value == "辖区：东县" for c in at.caption)


def test_wrong_passwords_lock_the_account_on_the_page(app_url):
    at = _signin_page()
    messages = []
    for _ in range(users.MAX_FAILURES + 1):
        at = _submit(at, "zhang.san", "wrong password")
        messages.append(at.error[0].value)
        with users_engine(app_url).begin() as conn:  # skip the slow-down waits, keep the counter
            conn.execute(users_table.update().where(users_table.c.failed_count < users.MAX_FAILURES)
                         .values(locked_until=None))
    assert messages[-1].startswith("密码错误次数过多，账号已锁定")
    at = _submit(at, "zhang.san", PASSWORD)
    assert at.error[0].value.startswith("密码错误次数过多")  # locked even with the right password
    assert not at.metric


@pytest.mark.parametrize("driver_message, shown", [
    ("database is locked", "数据库暂时无法连接，正在重试…"),  # locked for more than the 10 s busy timeout
    ("database or disk is full", "磁盘已满：数据库无法写入"),  # named as such (issue 21, 13)
])
def test_a_database_failure_while_signing_in_shows_the_apps_own_message(app_url, monkeypatch, driver_message,
                                                                        shown):
    """Issue 21, 4: the sign-in callback runs before the page, outside its guard, so a locked database or a
    full disk gave Streamlit's English "This app has encountered an error" and a blank page.  Now: the app's
    own message, the sign-in form still there, and signing in works once the database does."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def failing(*_a, **_k):
        raise OperationalError("UPDATE users SET failed_count=...", {}, sqlite3.OperationalError(driver_message))

    at = _signin_page()
    monkeypatch.setattr(users, "authenticate", failing)
    monkeypatch.setenv("GOV_RAISE_ERRORS", "0")  # as in production: nothing may reach Streamlit's own handler
    at = _submit(at, "zhang.san", PASSWORD)
    assert not at.exception
    assert any(shown in m.value for m in [*at.warning, *at.error]), [*at.warning, *at.error]
    assert at.text_input(key="signin_user") is not None and not at.metric  # the form, to try again
    monkeypatch.undo()
    monkeypatch.setenv("GOV_DB_URL", app_url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    monkeypatch.setenv("GOV_NOW", "2026-03-20T12:00:00")
    at = _submit(at, "zhang.san", PASSWORD)
    assert not at.exception and not at.error and any(c.value == "辖区：东县" for c in at.caption)


def users_engine(url):
    from data_access.core.db import get_engine

    return get_engine(url)


def test_demo_button_signs_in_and_sign_out_ends_the_session(app_url):
    users.install_demo_accounts(users_engine(app_url))
    at = _signin_page()
    demo = at.button(key="demo_demo_staff")
    assert (demo.label, demo.help) == ("东县综治中心", "工作人员，辖区：东县")
    at = demo.click().run()
    assert "东县" in at.title[0].value and len(at.metric) >= 4
    at = at.button(key="sign_out").click().run()
    assert at.header[0].value == "网格化服务管理督导驾驶舱" and not at.metric
    assert "region_code" not in at.session_state  # nothing of the previous user is left
    events = [e for e, _ in _events(users_engine(app_url), "demo_staff")]
    assert events == ["sign_in", "sign_out"]


def test_idle_session_and_disabled_account_are_signed_out(app_url):
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), app_url, "leader", "110")
    from data_access.core.clock import wall_now
    from data_access.core.schema import user_sessions

    with users_engine(app_url).begin() as conn:  # three hours without a click
        conn.execute(user_sessions.update().values(last_seen_at=wall_now() - timedelta(hours=3)))
    at.run()
    assert at.error[0].value.startswith("已超过 120 分钟未操作") and not at.metric
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), app_url, "viewer", "110").run()
    assert at.metric
    users.set_active(users_engine(app_url), "t_viewer_110", False)
    at._finished_page_script_hash = ""  # AppTest 1.67 reruns a pages/ app only this way (tests/test_app.py)
    at.run()
    assert at.error[0].value.startswith("该账号已停用") and not at.metric


def test_audit_page_only_for_leaders_and_admins(app_url):
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), app_url, "viewer", "110").run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not registered for a viewer
        at.switch_page("pages/audit.py")
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), app_url, "leader", "110").run()
    at.switch_page("pages/audit.py").run()
    assert not at.exception and at.title[0].value == "审计日志 · 东县"
    assert [m.label for m in at.metric] == ["登录", "登录失败", "导出", "写操作"]


def test_sign_in_page_counts_audit_rows(app_url):
    at = _signin_page()
    _submit(at, "zhang.san", PASSWORD)
    with users_engine(app_url).connect() as conn:
        n = conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.event == "sign_in")
                         ).scalar_one()
    assert n == 1


# --- browser sessions (a reload resumes the tab's session from its cookie) ------------------------------------

def test_session_token_resumes_until_revoked_idle_or_too_old(engine):
    from data_access.core.schema import user_sessions

    _add(engine)
    user = users.authenticate(engine, "zhang.san", PASSWORD, now=T0)
    token = users.open_session(engine, user, now=T0)
    with engine.connect() as conn:
        stored = conn.execute(select(user_sessions.c.token_hash)).scalar_one()
    assert len(token) == 64 and stored != token  # only the hash is kept
    assert users.resume_session(engine, token, 120, now=T0 + timedelta(minutes=119)) == user
    assert users.resume_session(engine, token, 120, now=T0 + timedelta(minutes=200)) == user  # seen at +119
    assert users.resume_session(engine, token, 120, now=T0 + timedelta(minutes=200 + 121)) is None  # idle
    assert users.resume_session(engine, "0" * 64, 120, now=T0) is None and users.resume_session(engine, "x", 120) is None
    fresh = users.open_session(engine, user, now=T0)
    assert users.resume_session(engine, fresh, 10_000, now=T0 + timedelta(hours=users.SESSION_MAX_HOURS)) is None
    again = users.open_session(engine, user, now=T0)
    users.close_session(engine, again, now=T0)
    assert users.resume_session(engine, again, 120, now=T0) is None  # signed out
    last = users.open_session(engine, user, now=T0)
    users.set_active(engine, "zhang.san", False)
    assert users.resume_session(engine, last, 120, now=T0) is None  # a disabled account does not resume
    users.set_active(engine, "zhang.san", True)
    assert users.resume_session(engine, last, 120, now=T0) is None  # nor does its old token once enabled again


def test_a_reloaded_tab_resumes_its_session_and_not_after_sign_out(app_url, monkeypatch):
    import ui.auth

    at = _signin_page({"region": "111"})
    at = _submit(at, "zhang.san", PASSWORD)
    token = at.session_state["_auth"]
    assert at.html  # the script that hands the token to the browser's cookie
    monkeypatch.setattr(ui.auth, "_cookie_token", lambda: token)  # the browser sends the cookie on reload
    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not reloaded.exception and "东县" in reloaded.title[0].value and len(reloaded.metric) >= 4
    reloaded = reloaded.button(key="sign_out").click().run()
    assert not reloaded.metric
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert again.header[0].value == "网格化服务管理督导驾驶舱" and not again.metric  # the token was revoked


def test_oidc_identity_is_mapped_to_its_account_on_the_page(app_url, monkeypatch):
    import ui.auth

    users.add_user(users_engine(app_url), "li.si", display_name="李四", role="leader", scope_code="120",
                   email="li.si@gov.cn")
    monkeypatch.setattr(ui.auth, "oidc_configured", lambda: True)  # as with [auth] in secrets.toml
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.user = {"is_logged_in": True, "email": "Li.Si@gov.cn"}
    at.run()
    assert not at.exception and "西县" in at.title[0].value
    stranger = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    stranger.user = {"is_logged_in": True, "email": "nobody@gov.cn"}
    stranger.run()
    assert not stranger.metric
    # (fmt.plain: escaped for Markdown, and a word joiner before the address so that it is not made a link)
    assert stranger.error[0].value.startswith("\u2060nobody@gov\\.cn 尚未开通")


def test_with_a_provider_configured_passwords_give_way_unless_kept(app_url, monkeypatch):
    import ui.auth

    monkeypatch.setattr(ui.auth, "oidc_configured", lambda: True)
    at = _signin_page()
    assert [b.label for b in at.button][:1] == ["使用统一身份认证登录"] and not at.text_input
    monkeypatch.setenv("GOV_PASSWORD_SIGNIN", "1")
    at = _signin_page()
    assert at.text_input(key="signin_user") is not None
    assert len(_submit(at, "zhang.san", PASSWORD).metric) >= 4  # still signs in with a password


def test_a_link_to_a_region_outside_the_jurisdiction_says_so(app_url):
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), app_url, "staff", "110")
    at.query_params["region"] = "120"  # 西县
    at.run()
    assert "东县" in at.title[0].value
    assert [x.value for x in at.toast] == ["链接中的地区不在您的辖区内，已显示您的辖区。"]


def test_locks_sessions_and_audit_run_on_real_time_even_with_a_frozen_data_clock(engine, monkeypatch):
    """GOV_NOW freezes the data's clock for demos; with it, a 15-minute lock never ended and every audit
    row had the same time.  Sign-in, sessions and the audit log use the wall clock."""
    from data_access.core.clock import wall_now

    monkeypatch.setenv("GOV_NOW", "2026-03-20T12:00:00")
    _add(engine)
    user = users.authenticate(engine, "zhang.san", PASSWORD)
    with engine.connect() as conn:
        at = conn.execute(select(func.max(audit_log.c.at))).scalar_one()
    assert abs((at - wall_now()).total_seconds()) < 60
    token = users.open_session(engine, user)
    assert users.check_session(engine, token, 120) == (user, None)
    assert users.check_session(engine, token, 120, now=wall_now() + timedelta(hours=3)) == (None, "idle")
    assert users.check_session(engine, token, 10_000, now=wall_now() + timedelta(hours=13)) == (None, "expired")
    users.close_session(engine, token)
    assert users.check_session(engine, token, 120) == (None, "revoked")
    token = users.open_session(engine, user)
    users.set_active(engine, "zhang.san", False)
    assert users.check_session(engine, token, 120) == (None, "account")
    assert users.check_session(engine, "f" * 64, 120) == (None, "unknown")


def test_a_new_installation_says_how_to_create_the_first_account(tmp_path, monkeypatch):
    from data_access.core.db import make_engine

    url = f"sqlite:///{tmp_path / 'new.db'}"
    make_engine(url)
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "python -m data_access users add" in at.info[0].value
