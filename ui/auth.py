"""Sign-in for the app: the session's account, the sign-in view, sign-out and the idle limit.

The tab keeps only its session token; every run checks the session and re-reads the account
(``users.check_session``), so sign-out, the idle limit, or a change of the account (its password, role,
jurisdiction or enabled state, which ends all its sessions) takes effect on the user's next click, and a reload
resumes the same session from the browser's cookie.  The server sets and clears that cookie (HttpOnly, see
ui/session_cookie.py); the page only hands it a one-time grant.  Password
checks, slow-down, lock and audit are in ``data_access/core/users.py``.  With an OpenID Connect provider
configured (``[auth]`` in ``.streamlit/secrets.toml``), Streamlit's ``st.login`` signs the user in and the
e-mail it reports is mapped to an account.
"""
from __future__ import annotations

import os

import streamlit as st

from data_access.core import settings, users
from data_access.core.access import User

from . import data, fmt
from .resilience import guarded_callback
from .session_cookie import COOKIE, END_PATH, HEADER, START_PATH
from .state import t

_KEY = "_auth"  # the tab's session token (data_access.core.users.open_session)
_USER = "_user"  # the User of this run (set by the frame, read by pages)
_NOTICE = "_auth_notice"
_COOKIE_ACTION = "_auth_cookie"  # ("set", token) or ("clear", None): done by sync_cookie() on this run
_DEAD_COOKIE = "_auth_dead_cookie"  # the browser's cookie named an ended session: handled once per tab
# Choices the browser remembers across reloads (not per account: a hint seen is seen on that browser), each a
# fixed name with the value "1", written by sync_cookie() like the session cookie.
PREF_COOKIES = frozenset({"gov_tip_seen"})
PREF_MAX_AGE_S = 365 * 24 * 3600
_PREF_ACTION = "_pref_cookies"  # the names to write on this run
IDLE_MINUTES = int(settings.number("GOV_SESSION_IDLE_MINUTES", 120, minimum=1, unit="minutes"))


def password_sign_in() -> bool:
    """Passwords are the way in unless an OpenID Connect provider is configured, which then replaces them;
    GOV_PASSWORD_SIGNIN=1 keeps both (e.g. an administrator's account while the provider is set up)."""
    forced = os.environ.get("GOV_PASSWORD_SIGNIN", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return not oidc_configured()


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _start_session(user: User) -> None:
    """A new sign-in: a session whose token this tab keeps, and the browser too (a cookie), so that a
    reload of the tab resumes it."""
    token = users.open_session(data.engine(), user)
    st.session_state[_COOKIE_ACTION] = ("set", token)
    st.session_state[_KEY] = token
    st.session_state[_USER] = user


def _cookie_token() -> str | None:
    """The session token the browser sent when this tab connected (None without one)."""
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser (bare script run)
        return None


def remember_in_browser(name: str) -> None:
    """Have the browser remember the choice ``name`` (one of PREF_COOKIES) across reloads; written by
    sync_cookie() on this run or the next."""
    if name not in PREF_COOKIES:
        raise ValueError(f"not a browser preference: {name!r}")
    st.session_state[_PREF_ACTION] = sorted({*st.session_state.get(_PREF_ACTION, ()), name})


def browser_remembers(name: str) -> bool:
    """The browser sent the preference cookie ``name`` when this tab connected."""
    try:
        return st.context.cookies.get(name) == "1"
    except Exception:  # noqa: BLE001 - no browser (bare script run)
        return False


def sync_cookie() -> None:
    """Have the server set or clear the browser's session cookie after a sign-in or sign-out, and write the
    preferences queued by remember_in_browser (call once per run, anywhere; a second call writes nothing).

    Streamlit has no API to set a cookie from a script run, so a short script on the page posts to the app's
    own routes (ui/session_cookie.py), which answer with the HttpOnly cookie.  It holds only a one-time grant
    (random hex made here: the server redeems it once, within a minute, for the session token, which the page
    never sees) and a preference's fixed name and "1", never text from the database or a user."""
    lines, posts = [], []
    action = st.session_state.pop(_COOKIE_ACTION, None)
    if action is not None:
        kind, token = action
        if kind == "set" and token and all(c in "0123456789abcdef" for c in token):
            grant = users.session_grant(data.engine(), token)
            if all(c in "0123456789abcdef" for c in grant):
                posts.append((START_PATH, grant))
        else:
            posts.append((END_PATH, ""))
    for name in st.session_state.pop(_PREF_ACTION, ()):
        if name in PREF_COOKIES:
            lines.append(f"{name}=1; path=/; max-age={PREF_MAX_AGE_S}; samesite=strict")
    if not lines and not posts:
        return
    secure = '(location.protocol === "https:" ? "; secure" : "")'
    script = "".join(f'document.cookie = "{line}" + {secure};' for line in lines)
    script += "".join(f'fetch("{path}", {{method: "POST", credentials: "same-origin", cache: "no-store", '
                      f'headers: {{"{HEADER}": "1"}}, body: "{body}"}});' for path, body in posts)
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def session_user() -> User | None:
    """The signed-in user for this run, re-read from the database; None when nobody is signed in."""
    token = st.session_state.get(_KEY)
    if token is None:
        if oidc_configured() and getattr(st.user, "is_logged_in", False):
            try:
                _start_session(users.authenticate_email(data.engine(), st.user.get("email")))
            except users.SignInRefused as exc:
                st.session_state[_NOTICE] = (exc.reason, exc.params)
                return None
            return st.session_state[_USER]
        token = _cookie_token()  # a reload of a signed-in tab resumes its session
        if token and st.session_state.get(_DEAD_COOKIE) == token:
            return None  # (the cookie a tab connected with stays the same until it reconnects)
        user, ended = users.check_session(data.engine(), token, IDLE_MINUTES) if token else (None, None)
        if user is None:
            st.session_state.pop(_USER, None)
            if token:  # a session that ended: the server clears the cookie, the page says why (once)
                st.session_state[_DEAD_COOKIE] = token
                st.session_state[_COOKIE_ACTION] = ("clear", None)
                if ended == "changed":
                    st.session_state[_NOTICE] = _ENDED_NOTICE[ended]
            return None
        st.session_state[_KEY] = token
        st.session_state[_USER] = user
        return user
    user, ended = users.check_session(data.engine(), token, IDLE_MINUTES)
    if user is None:
        _end(st.session_state.get(_USER), ended)
        if ended in _ENDED_NOTICE:
            st.session_state[_NOTICE] = _ENDED_NOTICE[ended]
        return None
    st.session_state[_USER] = user
    return user


# Why a signed-in tab was signed out (users.check_session) → the notice on the sign-in page.
_ENDED_NOTICE = {"idle": ("idle", {"minutes": IDLE_MINUTES}), "expired": ("expired", {}),
                 "account": ("disabled", {}), "changed": ("changed", {})}


def current_user() -> User | None:
    """The user the frame signed in for this run (pages call this)."""
    return st.session_state.get(_USER)


def _end(user: User | None, reason: str | None) -> None:
    users.close_session(data.engine(), st.session_state.get(_KEY))
    if user is not None:
        users.sign_out(data.engine(), user, reason)
    # Whatever the session held (region, selected case, filters, prepared downloads) was this user's:
    # the next person at this screen starts clean.  The language stays.
    for k in list(st.session_state.keys()):
        if k not in ("lang", _NOTICE, _DEAD_COOKIE):
            del st.session_state[k]
    st.session_state[_COOKIE_ACTION] = ("clear", None)


@guarded_callback  # a database failure here gets the app's own message (ui/resilience.py)
def sign_out() -> None:
    _end(current_user(), "user")
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


# --- the sign-in view -------------------------------------------------------------------------------------

def _refusal_text(reason: str, params: dict) -> str:
    if reason == "locked":
        return t("auth.err.locked", minutes=params.get("minutes", users.LOCK_MINUTES))
    if reason == "throttled":
        return t("auth.err.throttled", s=params.get("wait_s", 1))
    if reason in ("disabled", "no_jurisdiction", "not_registered", "idle", "expired", "changed"):
        return t(f"auth.err.{reason}", **{k: fmt.plain(v) for k, v in params.items()})
    return t("auth.err.bad_credentials")


@guarded_callback  # a database failure here gets the app's own message (ui/resilience.py)
def _password_submitted() -> None:
    if not password_sign_in():  # a crafted form submission while the provider is the only way in
        return
    name = st.session_state.get("signin_user", "")
    password = st.session_state.get("signin_password", "")
    st.session_state["signin_password"] = ""  # never kept in the session after the attempt
    if not name.strip() or not password:
        st.session_state[_NOTICE] = ("empty", {})
        return
    try:
        _start_session(users.authenticate(data.engine(), name, password))
    except users.SignInRefused as exc:
        st.session_state[_NOTICE] = (exc.reason, exc.params)


@guarded_callback  # a database failure here gets the app's own message (ui/resilience.py)
def _demo_clicked(username: str) -> None:
    try:
        _start_session(users.sign_in_demo(data.engine(), username))
    except users.SignInRefused as exc:
        st.session_state[_NOTICE] = (exc.reason, exc.params)


def sign_in_view() -> None:
    """The sign-in page (the frame shows it instead of any page while nobody is signed in)."""
    engine = data.engine()
    _, mid, _ = st.columns([1, 3, 1])
    with mid:
        st.header(t("app.title"), anchor=False)
        st.caption(t("app.subtitle"))
        notice = st.session_state.pop(_NOTICE, None)
        if notice:
            reason, params = notice
            if reason == "empty":
                st.warning(t("auth.err.empty"), icon=":material/warning:")
            else:
                st.error(_refusal_text(reason, params), icon=":material/lock:")
        if oidc_configured():
            st.button(t("auth.oidc"), icon=":material/badge:", width="stretch", type="primary",
                      on_click=st.login)
        if password_sign_in():
            with st.form("signin", border=True):
                st.markdown(f"**{t('auth.title')}**")
                st.text_input(t("auth.username"), key="signin_user", max_chars=64, autocomplete="username")
                st.text_input(t("auth.password"), key="signin_password", type="password", max_chars=256,
                              autocomplete="current-password")
                st.form_submit_button(t("auth.submit"), type="primary", width="stretch",
                                      on_click=_password_submitted)
            st.caption(t("auth.lock_rule", n=users.MAX_FAILURES, minutes=users.LOCK_MINUTES))
        demo = users.demo_accounts(engine)
        if not demo and users.account_count(engine) == 0:  # a new installation: say how to get in
            st.info(t("auth.no_accounts"), icon=":material/person_add:")
        if demo:
            with st.container(border=True):
                st.markdown(f"**{t('auth.demo.title')}**")
                st.caption(t("auth.demo.body"))
                tree = data.tree()
                cols = st.columns(2)  # two a row: each name stays readable
                for i, acc in enumerate(demo):
                    col = cols[i % 2]
                    where = (tree.nodes[acc.scope_code].name if acc.scope_code in tree.nodes
                             else t("frame.region.all"))
                    col.button(fmt.plain(acc.display_name), key=f"demo_{acc.username}", width="stretch",
                               help=t("auth.demo.help", role=t(f"role.{acc.role}"), region=fmt.plain(where)),
                               on_click=_demo_clicked, args=(acc.username,), icon=":material/login:")


def identity_block(user: User) -> None:
    """Sidebar: who is signed in, their jurisdiction, and sign-out."""
    tree = data.tree()
    where = tree.nodes[user.scope_code].name if user.scope_code in tree.nodes else t("frame.region.all")
    st.caption(t("user.identity", name=fmt.plain(user.name), role=t(f"role.{user.role}")))
    st.caption(t("user.scope", region=fmt.plain(where)))
    st.button(t("auth.sign_out"), icon=":material/logout:", width="stretch", on_click=sign_out,
              key="sign_out")
