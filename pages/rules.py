"""自动督办规则 — the escalation rules that reach the selected region, their switches and a new rule (admins: an order
of a grade or 升级, one level up), and a preview of what a pass would do now (everyone who may open the page)."""
from __future__ import annotations

import streamlit as st

from data_access.core.escalation import MEASURES, RULE_ACTIONS, RULE_STEPS
from data_access.queries import escalation
from data_access.writes import escalation as rule_writes
from data_access.writes.workflow import WriteRefused
from ui import data, fmt, tables
from ui.auth import current_user
from ui.refusals import write_refusal
from ui.frame import current_filter, no_regions, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.supervision.case_lists import case_table

RULES = [("rule_id", "rules.col.rule_id", "int", {"pinned": True}), ("name", "rules.col.name", "text"),
         ("enabled", "rules.col.enabled", "text"), ("grade", "rules.col.action", "text", {"labels": "rules.action"}),
         ("step", "rules.col.step", "text", {"labels": "rules.step"}), ("condition", "rules.col.condition", "text"),
         ("category", "rules.col.category", "text"), ("scope_code", "rules.col.scope", "text")]
PREVIEW = [("rule", "rules.col.rule", "text"), ("grade", "rules.col.action", "text", {"labels": "rules.action"}),
           "case_no", "title", "category", ("step", "rules.col.step", "text", {"labels": "rules.step"}),
           ("hours", "rules.col.hours", "num1"), ("limit_hours", "rules.col.limit_hours", "num1"),
           ("from_level", "rules.col.from_level", "text", {"labels": "enum.level"}),
           ("to_level", "rules.col.to_level", "text", {"labels": "enum.level"})]


def condition(r) -> str:
    x = fmt.pct(r.threshold) if r.measure == "share" else f"{r.threshold:g}"
    return t(f"rules.cond.{r.measure}", x=x)


page_header("rules", "rules.title", "rules.caption")
if no_regions():
    st.stop()
user, f, tree = current_user(), current_filter(), data.tree()
is_admin = user is not None and user.role == "admin"
cats = data.category_labels()

with friendly_errors():
    # cached like every page's answers (an admin's change here clears them: data.write); the primary, so a rule
    # just switched on is in the preview at once
    rules = data.get(escalation.escalation_rules, f.scope, primary=True)
    # the preview's rules: the multiselect below (its state is known before it is drawn); none = the enabled ones
    plan, total = data.get(escalation.escalation_preview, f.scope, data.now_bucket(),
                           tuple(st.session_state.get("rules_preview") or ()) or None, primary=True)
    issued, lg = data.get(escalation.rule_order_counts, f.scope, primary=True), lang()
    m = st.columns(5)
    m[0].metric(t("rules.m.rules"), fmt.count(len(rules), lg), help=t("rules.m.rules.help"), border=True)
    m[1].metric(t("rules.m.enabled"), fmt.count(int(rules["enabled"].sum()) if len(rules) else 0, lg),
                help=t("rules.m.enabled.help"), border=True)
    m[2].metric(t("rules.m.issued"), fmt.count(issued["issued"], lg), help=t("rules.m.issued.help",
                open=fmt.count(issued["open"], lg)), border=True)
    m[3].metric(t("rules.m.upgraded"), fmt.count(issued["upgraded"], lg), help=t("rules.m.upgraded.help",
                open=fmt.count(issued["upgraded_open"], lg)), border=True)
    m[4].metric(t("rules.m.planned"), fmt.count(total, lg), help=t("rules.m.planned.help"), border=True)
    st.subheader(t("rules.list"))
    if rules.empty:
        st.info(t("rules.none"), icon=":material/info:")
    else:
        shown = rules.assign(
            enabled=["✓" if e else "—" for e in rules["enabled"]],
            condition=[condition(r) for r in rules.itertuples()],
            category=[cats.get(c, c) if c else t("rules.all_categories") for c in rules["category"]],
            scope_code=[fmt.plain(tree.nodes[c].name) if c in tree.nodes else t("rules.all_regions")
                        for c in rules["scope_code"]])
        tables.show(shown, RULES, width="stretch")
    if not is_admin:
        st.caption(t("rules.admin_only"))
    elif not rules.empty:
        with st.expander(t("rules.switch"), icon=":material/toggle_on:"):
            with st.form("rules_switch"):
                wanted = {int(r.rule_id): st.toggle(f"{int(r.rule_id)} · {r.name}", value=bool(r.enabled),
                                                    key=f"rules_on_{int(r.rule_id)}") for r in rules.itertuples()}
                if st.form_submit_button(t("rules.switch.save")):
                    changed = [rid for rid, on in wanted.items()
                               if on != bool(rules.loc[rules["rule_id"] == rid, "enabled"].iloc[0])]
                    try:
                        for rid in changed:
                            data.write(rule_writes.set_rule_enabled, user, rid, wanted[rid])
                    except WriteRefused as e:
                        st.error(t("rules.refused", reason=write_refusal(e)), icon=":material/block:")
                    else:
                        st.toast(t("rules.switch.done", n=len(changed)) if changed else t("rules.switch.none"),
                                 icon=":material/check_circle:")
                        if changed:
                            st.rerun()

    st.subheader(t("rules.preview"))
    options = [None, *map(int, rules["rule_id"])]
    names = dict(zip(map(int, rules["rule_id"]), rules["name"]))
    picked = st.multiselect(t("rules.preview.rule"), options[1:], key="rules_preview",
                            format_func=lambda rid: f"{rid} · {names.get(rid, '')}",
                            placeholder=t("rules.preview.enabled"))
    if total == 0:
        st.info(t("rules.preview.none"), icon=":material/info:")
    else:
        st.caption(t("rules.preview.count", n=fmt.count(total, lang()))
                   + (" " + t("rules.preview.shown", shown=fmt.count(len(plan), lang())) if total > len(plan) else ""))
        case_table(plan, PREVIEW)

    if is_admin:
        with st.expander(t("rules.add"), icon=":material/add:"):
            with st.form("rules_add"):
                c = st.columns(3)
                name = c[0].text_input(t("rules.add.name"), max_chars=100, key="rules_name")
                step = c[1].selectbox(t("rules.col.step"), RULE_STEPS, format_func=lambda s: t(f"rules.step.{s}"),
                                      key="rules_step")
                grade = c[2].selectbox(t("rules.col.action"), RULE_ACTIONS,
                                       format_func=lambda g: t(f"rules.action.{g}"), index=1, key="rules_grade")
                c = st.columns(3)
                measure = c[0].selectbox(t("rules.add.measure"), MEASURES,
                                         format_func=lambda m: t(f"rules.add.measure.{m}"), key="rules_measure")
                threshold = c[1].number_input(t("rules.add.threshold"), min_value=0.0, value=1.0, step=0.5,
                                              key="rules_threshold")
                category = c[2].selectbox(t("rules.col.category"), [None, *cats],
                                          format_func=lambda k: t("rules.all_categories") if k is None else cats[k],
                                          key="rules_category")
                region = tree.get(f.region_code)
                st.caption(t("rules.add.scope", region=fmt.plain(region.name) if region else t("rules.all_regions")))
                enable = st.checkbox(t("rules.add.enable"), key="rules_enable")
                if st.form_submit_button(t("rules.add.submit"), type="primary"):
                    try:
                        rid = data.write(rule_writes.add_rule, user, name=name, step=step, measure=measure,
                                         threshold=threshold, grade=grade, category=category,
                                         scope_code=f.region_code, enabled=enable)
                    except WriteRefused as e:
                        st.error(t("rules.refused", reason=write_refusal(e)), icon=":material/block:")
                    else:
                        st.toast(t("rules.add.done", id=rid), icon=":material/check_circle:")
                        st.rerun()
