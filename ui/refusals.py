"""A refused write in the user's language, and the case panel's writes that report through the flash message.

``write_refusal`` turns a :class:`WriteRefused` into the text of its reason key (``write.<reason>`` in the catalog),
or its own message when the catalog has none; ``flash_write`` runs a write from a button's callback and leaves
the outcome for the workbench to show after the rerun (``wb_flash``, pages/cases.py)."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from data_access.writes.workflow import WriteRefused
from ui import data
from ui.auth import current_user
from ui.state import t


def write_refusal(e: WriteRefused) -> str:
    key = f"write.{e.reason}"
    text = t(key, **{k: str(v) for k, v in e.params.items()}) if e.reason else str(e)
    return text if text != key else str(e)


def flash_write(action: Callable, *args, success: str) -> None:
    """``action(engine, current user, *args)`` through data.write; its success text or its refusal as the flash."""
    try:
        data.write(action, current_user(), *args)
    except WriteRefused as e:
        st.session_state.wb_flash = ("error", t("wb.order.refused", reason=write_refusal(e)))
    else:
        st.session_state.wb_flash = ("success", success)
