"""Accounts: who may sign in, with which role and jurisdiction; password checks with slow-down and lock.

Passwords are hashed with argon2id (``argon2-cffi``, the reference implementation's maintained binding) and
never stored or logged in any other form.  Repeated failures on one account are slowed down (a short wait
before the next attempt is even checked) and then locked for :data:`LOCK_MINUTES`.  An attempt is counted, and the wait its failure would earn set, in one
conditional UPDATE before its password is checked, so parallel attempts (tabs, threads, app processes) never
get more passwords verified than the rule allows; a right password resets the count.  An unknown
user name and a wrong password give the same answer and take the same time.

Demo accounts (no password; one click on the sign-in page) exist only while the sample data is loaded:
``install_demo_accounts`` is called by the sample-data builder, and every dataset load removes them.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from data_access.core import audit, settings
from data_access.core.access import ROLES, User, clean_text
from data_access.core.clock import wall_now
from data_access.core.regions import RegionTree, region_tree
from data_access.core.schema import data_meta, session_grants, user_sessions, users

MAX_FAILURES = int(settings.number("GOV_SIGNIN_MAX_FAILURES", 5, minimum=1, unit="failed attempts"))
LOCK_MINUTES = int(settings.number("GOV_SIGNIN_LOCK_MINUTES", 15, minimum=1, unit="minutes"))
# Wait before the next attempt after the n-th consecutive failure (n ≥ 2): 1, 2, 4, … seconds, at most 30.
SLOW_DOWN_FROM = 2
MIN_PASSWORD_LENGTH = 10
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
DEMO_FLAG = "demo_accounts"

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class SignInRefused(Exception):
    """Sign-in refused.  ``reason``: bad_credentials, throttled (``wait_s``), locked (``until``), disabled,
    no_jurisdiction (the user's region is not in the data), not_registered (OIDC e-mail unknown)."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


class AccountError(ValueError):
    """A user-management command was refused; the message says which field and why."""


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: str
    scope_code: str | None
    email: str | None
    active: bool
    demo: bool

    def as_user(self) -> User:
        return User(name=self.display_name, role=self.role, scope_code=self.scope_code, username=self.username)


def _now(now: datetime | None) -> datetime:
    return (now or wall_now()).replace(microsecond=0, tzinfo=None)


def _account(row) -> Account:
    return Account(row["username"], row["display_name"], row["role"], row["scope_code"], row["email"],
                   bool(row["active"]), bool(row["demo"]))


# --- management (the command line and tests) ----------------------------------------------------------------

def _check_fields(engine: Engine, username: str | None = None, role: str | None = None,
                  scope_code: str | None = None, password: str | None = None, email: str | None = None) -> None:
    if username is not None and not USERNAME_RE.match(username):
        raise AccountError(f"username: {username!r} must be 2–64 letters, digits or _ . @ -")
    if role is not None and role not in ROLES:
        raise AccountError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    if scope_code is not None and scope_code not in region_tree(engine).nodes:
        raise AccountError(f"scope: no region {scope_code!r} in the loaded data")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if email is not None and "@" not in email:
        raise AccountError(f"email: {email!r} is not an e-mail address")


def add_user(engine: Engine, username: str, *, display_name: str, role: str, scope_code: str | None,
             password: str | None = None, email: str | None = None, demo: bool = False,
             by: User | None = None, now: datetime | None = None) -> Account:
    """Create an account (``password`` None: sign-in only through the OIDC provider, by ``email``)."""
    username, display_name = username.strip(), display_name.strip()
    email = email.strip().lower() if email else None
    _check_fields(engine, username, role, scope_code, password, email)
    if not display_name:
        raise AccountError("name: required")
    now = _now(now)
    try:
        with engine.begin() as conn:
            conn.execute(insert(users).values(
                username=username, display_name=display_name, email=email, role=role, scope_code=scope_code,
                password_hash=_hasher.hash(password) if password else None, active=True, demo=demo,
                failed_count=0, created_at=now, password_changed_at=now if password else None))
            audit.record(conn, "user_admin", user=by, username=None if by else "system", target=username,
                         detail={"action": "add", "role": role, "scope": scope_code}, at=now)
    except IntegrityError as exc:
        raise AccountError(f"username: {username!r} or email {email!r} is already taken") from exc
    return get_account(engine, username)


def get_account(engine: Engine, username: str) -> Account | None:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).mappings().first()
    return _account(row) if row else None


def list_accounts(engine: Engine) -> pd.DataFrame:
    cols = [users.c.username, users.c.display_name, users.c.role, users.c.scope_code, users.c.email,
            users.c.active, users.c.demo, users.c.failed_count, users.c.locked_until, users.c.last_sign_in_at]
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(*cols).order_by(users.c.username)).mappings().all(),
                            columns=[c.name for c in cols])


def _update(engine: Engine, username: str, values: dict, action: str, by: User | None,
            now: datetime | None, detail: dict | None = None) -> int:
    """Change an account and end every session it has, in one transaction; returns how many sessions ended.

    Every change made here (password, role, jurisdiction, enabled state) ends the sessions: a stolen cookie
    stops working, and a tab signed in before the change signs in again (``check_session``: "changed")."""
    now = _now(now)
    with engine.begin() as conn:
        n = conn.execute(update(users).where(users.c.username == username).values(**values)).rowcount
        if n != 1:
            raise AccountError(f"username: no account {username!r}")
        ended = end_sessions(conn, username, now)
        audit.record(conn, "user_admin", user=by, username=None if by else "system", target=username,
                     detail={"action": action, **(detail or {}), "sessions_ended": ended}, at=now)
    return ended


def set_active(engine: Engine, username: str, active: bool, *, by: User | None = None,
               now: datetime | None = None) -> int:
    """Disable (or re-enable) an account; either ends its sessions (a token from before a disable does not
    come back with the enable).  Returns how many sessions ended."""
    return _update(engine, username, {"active": active, "failed_count": 0, "locked_until": None},
                   "enable" if active else "disable", by, now)


def set_password(engine: Engine, username: str, password: str, *, by: User | None = None,
                 now: datetime | None = None) -> int:
    """Set a new password; it also lifts a lock and ends the account's sessions.  Returns how many ended."""
    _check_fields(engine, password=password)
    now = _now(now)
    return _update(engine, username, {"password_hash": _hasher.hash(password), "password_changed_at": now,
                                      "failed_count": 0, "locked_until": None}, "set_password", by, now)


def set_role(engine: Engine, username: str, role: str, *, by: User | None = None,
             now: datetime | None = None) -> int:
    """Give the account another role; ends its sessions.  Returns how many ended."""
    _check_fields(engine, role=role)
    return _update(engine, username, {"role": role}, "set_role", by, now, {"role": role})


def set_scope(engine: Engine, username: str, scope_code: str | None, *, by: User | None = None,
              now: datetime | None = None) -> int:
    """Give the account another jurisdiction (None: all regions); ends its sessions.  Returns how many ended."""
    _check_fields(engine, scope_code=scope_code)
    return _update(engine, username, {"scope_code": scope_code}, "set_scope", by, now, {"scope": scope_code})


# --- sign-in ---------------------------------------------------------------------------------------------------

def _slow_down(failures: int) -> timedelta | None:
    """How long the account waits after ``failures`` consecutive failures (None: no wait)."""
    if failures >= MAX_FAILURES:
        return timedelta(minutes=LOCK_MINUTES)
    if failures >= SLOW_DOWN_FROM:
        return timedelta(seconds=min(30, 2 ** (failures - SLOW_DOWN_FROM)))
    return None


def _check_jurisdiction(tree: RegionTree, acc: Account) -> None:
    if acc.scope_code is not None and acc.scope_code not in tree.nodes:
        raise SignInRefused("no_jurisdiction", scope=acc.scope_code)


def _signed_in(conn: Connection, row, now: datetime, method: str) -> User:
    conn.execute(update(users).where(users.c.username == row["username"])
                 .values(failed_count=0, locked_until=None, last_sign_in_at=now))
    user = _account(row).as_user()
    audit.record(conn, "sign_in", user=user, detail={"method": method}, at=now)
    return user


def _reserve_attempt(conn: Connection, username: str, now: datetime) -> int | None:
    """Count an attempt before its password is checked, in one conditional UPDATE: the account must not be
    waiting (``locked_until`` past), and the wait this attempt would earn if it fails is set in the same
    statement.  However many attempts arrive at once, the database lets them through one at a time and the
    first that earns a wait shuts out the rest, so at most the allowed number of passwords is ever verified.
    Returns the new failure count (this attempt included), or None when the account is waiting."""
    # The wait after the n-th failure, one literal per n: no date arithmetic in SQL (the same on SQLite and
    # PostgreSQL).  failed_count + 1 ≥ MAX_FAILURES: the lock.
    # Typed as the column, so that SQLite stores them in its own text form (a bare datetime would not compare).
    def at(d: datetime):
        return literal(d, users.c.locked_until.type)

    waits = [(users.c.failed_count + 1 >= MAX_FAILURES, at(now + timedelta(minutes=LOCK_MINUTES)))]
    for n in range(SLOW_DOWN_FROM, MAX_FAILURES):
        waits.append((users.c.failed_count + 1 == n, at(now + _slow_down(n))))
    n = conn.execute(
        update(users)
        .where(and_(users.c.username == username,
                    or_(users.c.locked_until.is_(None), users.c.locked_until <= now)))
        .values(failed_count=users.c.failed_count + 1, locked_until=case(*waits, else_=None))
    ).rowcount
    if n != 1:
        return None
    return conn.execute(select(users.c.failed_count).where(users.c.username == username)).scalar_one()


def _refuse_waiting(engine: Engine, row, username: str, now: datetime) -> None:
    """The account is waiting (slow-down or lock): refused without checking the password, and not counted."""
    with engine.connect() as conn:
        state = conn.execute(select(users.c.failed_count, users.c.locked_until)
                             .where(users.c.username == username)).mappings().first()
    until = state["locked_until"] if state and state["locked_until"] is not None else now
    locked = bool(state) and state["failed_count"] >= MAX_FAILURES
    audit.record(engine, "sign_in_failed", username=username, scope_code=row["scope_code"],
                 detail={"reason": "locked" if locked else "throttled"}, at=now)
    wait = max(until - now, timedelta(0))
    if locked:
        raise SignInRefused("locked", until=until, minutes=max(1, round(wait.total_seconds() / 60)))
    raise SignInRefused("throttled", wait_s=max(1, int(wait.total_seconds() + 0.999)))


def authenticate(engine: Engine, username: str, password: str, now: datetime | None = None) -> User:
    """The account's :class:`User` if the password is right; raises :class:`SignInRefused` otherwise.

    The attempt is counted (and the wait a failure earns is set) before the password is checked, atomically
    (:func:`_reserve_attempt`); a right password then resets the count."""
    now = _now(now)
    username = clean_text(username).strip()[:64]
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).mappings().first()
    if row is None or row["password_hash"] is None:
        _verify(_DUMMY_HASH, password)  # same time as a real check: names cannot be probed by timing
        audit.record(engine, "sign_in_failed", username=username, detail={"reason": "bad_credentials"}, at=now)
        raise SignInRefused("bad_credentials")
    with engine.begin() as conn:
        failures = _reserve_attempt(conn, username, now)
    if failures is None:
        _refuse_waiting(engine, row, username, now)
    if not _verify(row["password_hash"], password):
        with engine.begin() as conn:
            audit.record(conn, "sign_in_failed", username=username, scope_code=row["scope_code"],
                         detail={"reason": "bad_credentials", "failures": failures}, at=now)
            if failures == MAX_FAILURES:
                audit.record(conn, "locked", username=username, target=username,
                             scope_code=row["scope_code"], detail={"minutes": LOCK_MINUTES}, at=now)
        raise SignInRefused("bad_credentials")
    if not row["active"]:
        with engine.begin() as conn:  # the password was right: this attempt was no guess
            conn.execute(update(users).where(users.c.username == username)
                         .values(failed_count=0, locked_until=None))
            audit.record(conn, "sign_in_failed", username=username, scope_code=row["scope_code"],
                         detail={"reason": "disabled"}, at=now)
        raise SignInRefused("disabled")
    acc = _account(row)
    _check_jurisdiction(region_tree(engine), acc)
    if _hasher.check_needs_rehash(row["password_hash"]):
        with engine.begin() as conn:
            conn.execute(update(users).where(users.c.username == username)
                         .values(password_hash=_hasher.hash(password)))
    with engine.begin() as conn:
        return _signed_in(conn, row, now, "password")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password or "")
    except (VerificationError, InvalidHashError):
        return False


def authenticate_email(engine: Engine, email: str | None, now: datetime | None = None) -> User:
    """The account mapped to an e-mail the OpenID Connect provider vouched for."""
    now = _now(now)
    email = clean_text(email).strip().lower()
    with engine.connect() as conn:
        row = conn.execute(select(users).where(and_(users.c.email == email, users.c.email.is_not(None)))
                           ).mappings().first() if email else None
    if row is None:
        audit.record(engine, "sign_in_failed", username=email[:64] or None, detail={"reason": "not_registered"},
                     at=now)
        raise SignInRefused("not_registered", email=email)
    if not row["active"]:
        audit.record(engine, "sign_in_failed", username=row["username"], scope_code=row["scope_code"],
                     detail={"reason": "disabled"}, at=now)
        raise SignInRefused("disabled")
    _check_jurisdiction(region_tree(engine), _account(row))
    with engine.begin() as conn:
        return _signed_in(conn, row, now, "oidc")


def sign_out(engine: Engine, user: User, reason: str = "user", now: datetime | None = None) -> None:
    audit.record(engine, "sign_out", user=user, detail={"reason": reason}, at=_now(now))


def current_account_user(engine: Engine, username: str) -> User | None:
    """The account as it is now (a session re-reads it every run): None once disabled or deleted."""
    acc = get_account(engine, username)
    if acc is None or not acc.active:
        return None
    if acc.scope_code is not None and acc.scope_code not in region_tree(engine).nodes:
        return None
    return acc.as_user()


# --- browser sessions ------------------------------------------------------------------------------------------

ENDED_USER = "user"  # sign-out or the idle limit
ENDED_ACCOUNT = "account"  # the account changed (password, role, jurisdiction, enabled state)
SESSION_MAX_HOURS = int(settings.number("GOV_SESSION_MAX_HOURS", 12, minimum=1, unit="hours"))
_SEEN_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute per session


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(engine: Engine, user: User, now: datetime | None = None) -> str:
    """A new session for a signed-in user; returns the token for the browser's cookie (only its hash is kept)."""
    now = _now(now)
    token = secrets.token_hex(32)
    with engine.begin() as conn:
        conn.execute(insert(user_sessions).values(
            token_hash=_token_hash(token), username=user.username, created_at=now, last_seen_at=now,
            expires_at=now + timedelta(hours=SESSION_MAX_HOURS)))
    return token


def check_session(engine: Engine, token: str | None, idle_minutes: int, now: datetime | None = None
                  ) -> tuple[User | None, str | None]:
    """The one check of a session, on every run of a signed-in tab and on a reload: ``(user, None)`` while
    it lives, else ``(None, reason)`` — ``unknown`` (no such token), ``revoked`` (signed out), ``changed``
    (ended by a change of its account: password, role, jurisdiction, or disabled and enabled again),
    ``expired`` (past its maximum age), ``idle`` (unused for ``idle_minutes``) or ``account`` (disabled,
    deleted, or its jurisdiction gone from the data).  A live session's last use is written at most once a
    minute."""
    if not token or len(token) != 64:
        return None, "unknown"
    now = _now(now)
    h = _token_hash(token)
    with engine.connect() as conn:
        row = conn.execute(select(user_sessions).where(user_sessions.c.token_hash == h)).mappings().first()
    if row is None:
        return None, "unknown"
    if row["revoked_at"] is not None:
        if row["ended_reason"] == ENDED_ACCOUNT:
            # Ended by a change of the account: while it stays disabled (or gone) the notice says so.
            return None, "changed" if current_account_user(engine, row["username"]) is not None else "account"
        return None, "revoked"
    if row["expires_at"] <= now:
        return None, "expired"
    if row["last_seen_at"] < now - timedelta(minutes=idle_minutes):
        return None, "idle"
    user = current_account_user(engine, row["username"])
    if user is None:
        return None, "account"
    if now - row["last_seen_at"] >= _SEEN_EVERY:
        with engine.begin() as conn:
            conn.execute(update(user_sessions).where(user_sessions.c.token_hash == h).values(last_seen_at=now))
    return user, None


def resume_session(engine: Engine, token: str | None, idle_minutes: int, now: datetime | None = None
                   ) -> User | None:
    """The user of a live session (see :func:`check_session`); None otherwise."""
    return check_session(engine, token, idle_minutes, now)[0]


def close_session(engine: Engine, token: str | None, now: datetime | None = None) -> None:
    """Revoke a session (sign-out, idle limit): its cookie no longer signs anyone in."""
    if not token:
        return
    with engine.begin() as conn:
        conn.execute(update(user_sessions).where(and_(user_sessions.c.token_hash == _token_hash(token),
                                                      user_sessions.c.revoked_at.is_(None)))
                     .values(revoked_at=_now(now), ended_reason=ENDED_USER))


def end_sessions(conn: Connection, username: str, now: datetime) -> int:
    """Revoke every live session of ``username`` (in the caller's transaction: the account change that ends
    them); returns how many.  Their cookies sign no one in again, whatever happens to the account later."""
    return conn.execute(update(user_sessions).where(and_(user_sessions.c.username == username,
                                                         user_sessions.c.revoked_at.is_(None)))
                        .values(revoked_at=now, ended_reason=ENDED_ACCOUNT)).rowcount


# --- the one-time grant for the server-set cookie (ui/session_cookie.py) ----------------------------------------
# The page cannot be given the session token (any script on it could read it), and only the server can set an
# HttpOnly cookie.  So the page gets a one-time grant and posts it to the server, which redeems it here for the
# token and sets the cookie.  The database keeps the grant's hash and the token sealed with a key derived from
# the grant (XOR with SHA-256("seal:" + grant)): neither is readable from the table; a grant redeems once, and
# only within GRANT_SECONDS.

GRANT_SECONDS = 60


def _seal(token: str, grant: str) -> str:
    key = hashlib.sha256(("seal:" + grant).encode("ascii")).digest()
    return bytes(a ^ b for a, b in zip(bytes.fromhex(token), key)).hex()


def session_grant(engine: Engine, token: str, now: datetime | None = None) -> str:
    """A one-time grant for ``token`` (a session token of :func:`open_session`), valid GRANT_SECONDS."""
    if not _is_hex64(token):
        raise ValueError("token: not a session token")
    now = _now(now)
    grant = secrets.token_hex(32)
    with engine.begin() as conn:
        conn.execute(delete(session_grants).where(session_grants.c.expires_at <= now))  # stale ones
        conn.execute(insert(session_grants).values(grant_hash=_token_hash(grant), sealed=_seal(token, grant),
                                                   expires_at=now + timedelta(seconds=GRANT_SECONDS)))
    return grant


def redeem_grant(engine: Engine, grant: str | None, now: datetime | None = None) -> str | None:
    """The session token of a fresh grant, once (the grant is deleted); None for anything else."""
    if not _is_hex64(grant):
        return None
    now = _now(now)
    h = _token_hash(grant)
    with engine.begin() as conn:
        row = conn.execute(select(session_grants).where(session_grants.c.grant_hash == h)).mappings().first()
        # Whoever deletes the row redeems it: of two requests with one grant, one gets the token.
        if row is None or conn.execute(delete(session_grants).where(session_grants.c.grant_hash == h)
                                       ).rowcount != 1:
            return None
    if row["expires_at"] <= now:
        return None
    return _seal(row["sealed"], grant)  # XOR: sealing again opens it


def _is_hex64(value: str | None) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


# --- demo accounts --------------------------------------------------------------------------------------------

def demo_enabled(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(data_meta.c.value).where(data_meta.c.key == DEMO_FLAG)).scalar() == "on"


def demo_accounts(engine: Engine) -> list[Account]:
    """The one-click accounts offered on the sign-in page (empty unless the sample data is loaded)."""
    if not demo_enabled(engine):
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(users).where(and_(users.c.demo.is_(True), users.c.active.is_(True)))
                            .order_by(users.c.created_at, users.c.username)).mappings().all()
    return [_account(r) for r in rows]


def sign_in_demo(engine: Engine, username: str, now: datetime | None = None) -> User:
    """One-click sign-in, only for a demo account while demo accounts are on."""
    now = _now(now)
    if not demo_enabled(engine):
        raise SignInRefused("bad_credentials")
    with engine.connect() as conn:
        row = conn.execute(select(users).where(and_(users.c.username == username, users.c.demo.is_(True),
                                                    users.c.active.is_(True)))).mappings().first()
    if row is None:
        raise SignInRefused("bad_credentials")
    _check_jurisdiction(region_tree(engine), _account(row))
    with engine.begin() as conn:
        return _signed_in(conn, row, now, "demo")


def _first_child(tree: RegionTree, code: str | None, level: str) -> str | None:
    kids = [k for k in tree.children(code) if k.level == level]
    return kids[0].code if kids else None


def demo_definitions(tree: RegionTree) -> list[dict]:
    """A city leader, a county (娄星区 where present) staff member and a township viewer of the sample data, and a
    leader of 岳阳市 (where the sample's idle-asset projects lie) when the data holds it."""
    city = next((c for c in sorted(tree.nodes) if tree.nodes[c].level == "city" and c.startswith("4313")), None)
    city = city or next((c for c in sorted(tree.nodes) if tree.nodes[c].level == "city"), None)
    if city is None:
        return []
    county = "431302" if "431302" in tree.nodes else _first_child(tree, city, "county")
    township = _first_child(tree, county, "township") if county else None
    out = [dict(username="demo_leader", display_name=f"{tree.nodes[city].name}领导", role="leader",
                scope_code=city)]
    if county:
        out.append(dict(username="demo_staff", display_name=f"{tree.nodes[county].name}综治中心", role="staff",
                        scope_code=county))
    if township:
        out.append(dict(username="demo_viewer", display_name=f"{tree.nodes[township].name}观察员",
                        role="viewer", scope_code=township))
    # The sample's idle-asset projects lie in 岳阳市: a leader there, so that the demo shows them.
    other = next((c for c in sorted(tree.nodes) if tree.nodes[c].level == "city" and c.startswith("4306")), None)
    if other and other != city:
        out.append(dict(username="demo_yueyang", display_name=f"{tree.nodes[other].name}国资监管",
                        role="leader", scope_code=other))
    return out


def install_demo_accounts(engine: Engine, now: datetime | None = None) -> list[Account]:
    """(Re)create the demo accounts for the loaded sample data and switch one-click sign-in on."""
    now = _now(now)
    defs = demo_definitions(region_tree(engine))
    with engine.begin() as conn:
        conn.execute(delete(users).where(or_(users.c.demo.is_(True),
                                             users.c.username.in_([d["username"] for d in defs]))))
        for d in defs:
            conn.execute(insert(users).values(**d, email=None, password_hash=None, active=True, demo=True,
                                              failed_count=0, created_at=now))
        conn.execute(delete(data_meta).where(data_meta.c.key == DEMO_FLAG))
        conn.execute(insert(data_meta).values(key=DEMO_FLAG, value="on"))
    return demo_accounts(engine)


def remove_demo_accounts(conn: Connection) -> None:
    """Called by every dataset load (in its transaction): real data never keeps one-click accounts."""
    conn.execute(delete(users).where(users.c.demo.is_(True)))
    conn.execute(delete(data_meta).where(data_meta.c.key == DEMO_FLAG))


def account_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(users)).scalar_one()
