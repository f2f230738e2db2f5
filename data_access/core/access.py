"""Who is asking, and what they may see and do: the one place for these rules.

Every question about personal data (reporter names and phones, staff phones, team leaders) and every write
goes through here, so tightening a rule is one edit.  Sign-in (``data_access/core/users.py``) turns an account
into a :class:`User`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ROLES = ("leader", "staff", "viewer", "admin")
# Roles that handle cases and so need to call reporters back: they see personal data in full.
PERSONAL_DATA_ROLES = frozenset({"staff"})
# Roles that may issue and resolve supervision orders.
WRITE_ROLES = frozenset({"staff", "leader"})
# Roles that may record a callback's rating (回访, writes/callbacks.py); its author or an admin may undo it.
CALLBACK_ROLES = frozenset({"staff", "leader", "admin"})
# Roles that may read the audit log (each sees the entries of accounts inside their jurisdiction).
AUDIT_ROLES = frozenset({"admin", "leader"})
# Roles told in the app that a batch from the source was refused (and shown its report): they act on it.
SYNC_PROBLEM_ROLES = frozenset({"admin", "leader"})


@dataclass(frozen=True)
class User:
    """The signed-in official: display name, role and jurisdiction (a region code; None = everything)."""

    name: str
    role: str = "viewer"
    scope_code: str | None = None
    username: str | None = None  # the account (None for a user made up in code, e.g. a script)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role: {self.role!r} is not one of {', '.join(ROLES)}")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str | None) -> str:
    """Text a user typed, as it may be stored or searched: control characters (NUL above all, which
    PostgreSQL refuses in text) removed; tabs and line breaks kept."""
    return _CONTROL.sub("", value or "")


def may_see_personal_data(user: User | None) -> bool:
    return user is not None and user.role in PERSONAL_DATA_ROLES


def may_write(user: User | None) -> bool:
    return user is not None and user.role in WRITE_ROLES


def may_record_callback(user: User | None) -> bool:
    return user is not None and user.role in CALLBACK_ROLES


def may_undo_callback(user: User | None, recorded_by: str | None) -> bool:
    """The callback's author (by account) or an admin."""
    return user is not None and (user.role == "admin"
                                 or (user.role in CALLBACK_ROLES and (user.username or user.name) == recorded_by))


def may_read_audit(user: User | None) -> bool:
    return user is not None and user.role in AUDIT_ROLES


def may_see_sync_problems(user: User | None) -> bool:
    return user is not None and user.role in SYNC_PROBLEM_ROLES


def _missing(value) -> bool:
    """No text to mask: None, empty, or a float (pandas' NaN: a string column with a missing value, pandas ≥ 3)."""
    return not value or not isinstance(value, str)


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧***; Latin names keep their first letter (John Smith → J*********).  A missing
    name stays missing: None, or pandas' NaN of a string column read from rows (_missing)."""
    if _missing(name):
        return name
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1)


_DIGITS = re.compile(r"\d")


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234; any other form keeps at most its first 3 and last 4 digits (missing: as is)."""
    if _missing(phone):
        return phone
    digits = _DIGITS.findall(phone)
    if len(digits) <= 7:
        return "*" * len(digits) if digits else "****"
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])


def visible(tree, code: str | None, scope_code: str | None, user: User | None) -> bool:
    """``code`` (a node of ``tree``, the region tree) lies inside the jurisdiction ``scope_code`` (None = the whole
    tree) and inside the user's own, whatever jurisdiction the caller passed (as case_detail does): a card of a grid,
    team, project or unit never opens outside what the user may see.  An unknown code is never visible."""
    return (code in tree.nodes and tree.contains(scope_code, code)
            and (user is None or user.scope_code is None or tree.contains(user.scope_code, code)))


def personal(user: User | None, value: str | None, kind: str) -> str | None:
    """``value`` as ``user`` may see it (``kind`` is "name" or "phone")."""
    if may_see_personal_data(user):
        return value
    return mask_phone(value) if kind == "phone" else mask_name(value)
