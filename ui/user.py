"""Who is using the app: the signed-in user (``ui/auth.py`` signs in and re-reads the account every run)."""
from __future__ import annotations

from data_access.access import User

from .auth import current_user as _current


def current_user() -> User | None:
    """The signed-in user of this run; None only before sign-in (pages never run then)."""
    return _current()
