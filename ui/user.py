"""Who is using the app.  Until sign-in exists, the local user is configured by environment:
GOV_LOCAL_USER (name, default 值班员) and GOV_LOCAL_ROLE (leader, staff, viewer or admin; default leader,
which may issue supervision orders but sees personal data masked)."""
from __future__ import annotations

import os

import streamlit as st

from data_access.access import ROLES, User

from .state import t


def current_user() -> User:
    role = os.environ.get("GOV_LOCAL_ROLE", "leader").strip()
    name = os.environ.get("GOV_LOCAL_USER", "").strip() or t("user.default_name")
    return User(name=name, role=role if role in ROLES else "viewer", scope_code=None)


def identity_caption() -> None:
    u = current_user()
    st.caption(t("user.identity", name=u.name, role=t(f"role.{u.role}")))
