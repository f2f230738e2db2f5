"""审计日志 — who signed in, failed to, exported or wrote what (admins and leaders; each sees the accounts of
their jurisdiction)."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from data_access.core.access import may_read_audit
from data_access.core.audit import EVENTS
from data_access.core.clock import wall_now
from data_access.queries import audit
from ui import data, fmt, state, tables, urlstate
from ui.auth import current_user
from ui.guard import require_frame
from ui.setup import friendly_errors
from ui.state import lang, t

AUDIT_COLUMNS = [
    ("at", "au.col.at", "datetime", {"format": "YYYY-MM-DD HH:mm:ss"}),
    ("event", "au.col.event", "text"),
    ("username", "au.col.username", "text"),
    ("role", "au.col.role", "text"),
    ("scope_code", "au.col.scope", "text"),
    ("target", "au.col.target", "text"),
    ("rows", "au.col.rows", "num0"),
    ("detail", "au.col.detail", "text", {"width": "large"}),
]

require_frame("audit")
user = current_user()
tree = data.tree()
where = tree.nodes[user.scope_code].name if user is not None and user.scope_code in tree.nodes else None
st.title(t("au.title") + (f" · {fmt.plain(where)}" if where else ""))
if not may_read_audit(user):
    st.warning(t("au.denied"), icon=":material/block:")
    st.stop()

scope_text = (t("au.scope.mine", region=fmt.plain(tree.nodes[user.scope_code].name)) if user.scope_code in tree.nodes
              else t("au.scope.all"))
st.caption(t("au.caption", scope=scope_text))

# The event and account filters are in the URL (?event=export,write&who=li), so a reload or a link keeps them.
ps = [urlstate.Param("event", "list", EVENTS, [], widget="au_events"),
      urlstate.Param("who", "text", default="", widget="au_who")]
urlstate.seed(ps)
c = st.columns([3, 2, 2])
events = c[0].multiselect(t("au.f.events"), EVENTS, format_func=lambda e: t(f"enum.audit.{e}"), key="au_events",
                          placeholder=t("frame.region.all"))
who = c[1].text_input(t("au.f.who"), key="au_who", max_chars=64)
today = wall_now().date()  # the audit log keeps real time, even while GOV_NOW freezes the data's clock
dates = c[2].date_input(t("au.f.dates"), value=(today - timedelta(days=29), today), key="au_dates",
                        format="YYYY-MM-DD", min_value=state.FIRST_DATE, max_value=state.LAST_DATE)
urlstate.publish(ps)
d_from, d_to = (dates[0], dates[1]) if isinstance(dates, (tuple, list)) and len(dates) == 2 else (None, None)

with friendly_errors():
    counts = data.fresh(audit.audit_event_counts, user, d_from, d_to)
    m = st.columns(4)
    for col, ev in zip(m, ("sign_in", "sign_in_failed", "export", "write")):
        col.metric(t(f"enum.audit.{ev}"), fmt.count(counts[ev], lang()), border=True, help=t(f"au.help.{ev}"))
    rows, total = data.fresh(audit.audit_entries, user, events=tuple(events), username=who, date_from=d_from, date_to=d_to)
    if rows.empty:
        st.info(t("au.empty"), icon=":material/info:")
        st.stop()
    st.caption(t("au.shown", total=fmt.count(total, lang()), shown=fmt.count(len(rows), lang())))
    view = rows.assign(
        event=rows["event"].map(lambda e: t(f"enum.audit.{e}")),
        role=rows["role"].map(lambda r: t(f"role.{r}") if isinstance(r, str) else ""),
        scope_code=rows["scope_code"].map(lambda s: tree.nodes[s].name if s in tree.nodes else (s or "")),
    ).drop(columns=["id"])
    tables.show(view, AUDIT_COLUMNS, width="stretch")
