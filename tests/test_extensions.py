"""Extension requests (延期申请, data_access/writes/extensions.py) on both databases: who may request and decide,
the approved days in the due time's one definition (core/time_limits.apply_rules) through a rule change, a
reload and a sync, and exactly the figures they should move.  tests/fixtures/extensions/README.md has every
number."""
from __future__ import annotations

import shutil
from datetime import date, datetime

import pytest
from conftest import FIXTURES, fresh_engine
from sqlalchemy import select

from data_access.core import counting
from data_access.core import time_limits as tl
from data_access.core.access import User
from data_access.core.filters import CaseFilter
from data_access.core.rollups import rebuild_all_summaries
from data_access.core.schema import (
    audit_log,
    case_events,
    case_extensions,
    case_summary,
    case_summary_county,
    cases,
    grid_summary,
    case_day_counts,
    process_summary,
)
from data_access.ingest.loader import DatasetInvalid, load_dataset
from data_access.queries import extensions as ext_q
from data_access.writes import extensions as ex
from data_access.writes.extensions import ExtensionRequest
from data_access.writes.workflow import WriteRefused, close_case, feedback_case

NOW = datetime(2025, 10, 8, 12, 0)
SEP_OCT = CaseFilter(region_code="100", date_from=date(2025, 9, 1), date_to=date(2025, 10, 31))
STAFF = User("东县综治中心", "staff", "110", username="dong.staff")
LEADER = User("市领导", "leader", "100", username="city.leader")
OTHER_LEADER = User("另一位领导", "leader", None, username="other.leader")
WEST_LEADER = User("西县领导", "leader", "120", username="west.leader")
WEST_STAFF = User("西县综治中心", "staff", "120", username="west.staff")
VIEWER = User("观察员", "viewer", "110", username="viewer")
ORIGINAL = datetime(2025, 10, 3, 9)
EXTENDED = datetime(2025, 10, 9, 9)


@pytest.fixture
def engine(db_kind, tmp_path):
    eng = fresh_engine(db_kind, tmp_path)
    load_dataset(FIXTURES / "extensions", eng)
    yield eng
    eng.dispose()


def _req(days=6, kind="days", reason="需等待鉴定结果", case_no="t2"):
    return ExtensionRequest(case_no, days, kind, reason)


def _cases(engine):
    c = cases.c
    with engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(
            select(c.case_no, c.due_at, c.closed_late, c.late_hours, c.allowed_hours).order_by(c.case_no))}


def _kpis(engine, now=NOW):
    k = counting.case_kpis(engine, SEP_OCT, now)
    return k.cases, k.closed, k.on_time, k.closed_late, k.open, k.open_overdue


def _rollups(engine):
    with engine.connect() as conn:
        return [sorted(tuple(r) for r in conn.execute(select(t)).all())
                for t in (case_summary, case_summary_county, process_summary, grid_summary, case_day_counts)]


def _assert_rollups_are_a_rebuild(engine):
    kept = _rollups(engine)
    with engine.begin() as conn:
        rebuild_all_summaries(conn)
    assert _rollups(engine) == kept


def _approved(engine, days=6, kind="days") -> str:
    eid = ex.request_extension(engine, STAFF, _req(days, kind), now=NOW)
    ex.decide_extension(engine, LEADER, eid, approve=True, now=NOW)
    return eid


def test_an_approved_extension_moves_the_due_time_and_only_its_figures(engine):
    before = _cases(engine)
    assert _kpis(engine) == (4, 3, 1, 2, 1, 1)  # cases, closed, on time, closed late, open, open overdue
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    assert _cases(engine) == before  # a request alone moves nothing
    ex.decide_extension(engine, LEADER, eid, approve=True, note="同意", now=NOW)
    after = _cases(engine)
    assert after["t2"] == (EXTENDED, None, None, 216.0)  # allowed hours 09-30 09:00 → 10-09 09:00
    assert {k: v for k, v in after.items() if k != "t2"} == {k: v for k, v in before.items() if k != "t2"}
    assert _kpis(engine) == (4, 3, 1, 2, 1, 0)  # only the open overdue count moved
    assert _kpis(engine, datetime(2025, 10, 9, 9, 0, 1))[-1] == 1  # overdue again past the extended time
    _assert_rollups_are_a_rebuild(engine)
    with engine.connect() as conn:
        row = conn.execute(select(case_extensions).where(case_extensions.c.extension_id == eid)).mappings().one()
    assert (row["status"], row["unit_code"], row["decided_by"], row["decision_note"]) == ("approved", "D1", "市领导", "同意")
    h = ext_q.case_extension_history(engine, STAFF, "t2")
    assert (h.original_due_at, h.due_at) == (ORIGINAL, EXTENDED)
    assert list(h.rows["status"]) == ["approved"] and list(h.rows["days"]) == [6]

    # closed before the extended time: on time, where the original due time made it 143 h late
    feedback_case(engine, "t2", datetime(2025, 10, 9, 7))
    close_case(engine, "t2", datetime(2025, 10, 9, 8), "township")
    assert _cases(engine)["t2"][:3] == (EXTENDED, False, -1.0)
    assert _kpis(engine) == (4, 4, 2, 2, 0, 0)
    assert counting.case_kpis(engine, SEP_OCT, NOW).on_time_rate == 0.5
    _assert_rollups_are_a_rebuild(engine)

    # the approver withdraws the approval: the original due time again, late, rate 1 of 4
    ex.withdraw_decision(engine, LEADER, eid, now=NOW)
    assert _cases(engine)["t2"][:3] == (ORIGINAL, True, 143.0)
    assert _kpis(engine) == (4, 4, 1, 3, 0, 0)
    _assert_rollups_are_a_rebuild(engine)


def test_working_days_count_past_the_holiday(engine):
    _approved(engine, 2, "working_days")
    assert _cases(engine)["t2"][0] == datetime(2025, 10, 10, 9)


def test_the_case_log_and_the_audit_hold_each_step(engine):
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    ex.decide_extension(engine, LEADER, eid, approve=False, note="理由不充分", now=NOW)
    ex.withdraw_decision(engine, LEADER, eid, now=NOW)
    with engine.connect() as conn:
        notes = list(conn.execute(select(case_events.c.note).where(case_events.c.case_no == "t2",
                                                                   case_events.c.action == "note")
                                  .order_by(case_events.c.seq)).scalars())
        actions = [r for r in conn.execute(select(audit_log.c.username, audit_log.c.target, audit_log.c.detail)
                                           .where(audit_log.c.event == "write").order_by(audit_log.c.id))]
    assert notes == [f"延期申请 {eid}：6天（需等待鉴定结果）", f"延期不予批准 {eid}：理由不充分",
                     f"撤回延期决定 {eid}（原为不予批准）"]
    assert [(u, t) for u, t, _ in actions] == [("dong.staff", "t2"), ("city.leader", "t2"), ("city.leader", "t2")]
    assert ['"request_extension"' in d for _u, _t, d in actions] == [True, False, False]
    assert '"refuse_extension"' in actions[1][2] and '"withdraw_extension_decision"' in actions[2][2]
    assert _cases(engine)["t2"][0] == ORIGINAL  # a refusal never moved it


@pytest.mark.parametrize("user, reason", [
    (VIEWER, "ext_role_request"), (LEADER, "ext_role_request"), (None, "ext_role_request"),
    (WEST_STAFF, "case_not_in_scope"),
])
def test_a_request_is_refused_without_the_role_or_outside_the_jurisdiction(engine, user, reason):
    with pytest.raises(WriteRefused) as e:
        ex.request_extension(engine, user, _req(), now=NOW)
    assert e.value.reason == reason
    assert ext_q.case_extension_history(engine, STAFF, "t2").rows.empty


@pytest.mark.parametrize("user, reason", [
    (VIEWER, "ext_role_decide"), (WEST_LEADER, "case_not_in_scope"), (WEST_STAFF, "case_not_in_scope"), (STAFF, "own_request"),
])
def test_a_decision_is_refused_without_the_role_outside_the_jurisdiction_or_on_ones_own_request(engine, user,
                                                                                                reason):
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    with pytest.raises(WriteRefused) as e:
        ex.decide_extension(engine, user, eid, approve=True, now=NOW)
    assert e.value.reason == reason
    assert _cases(engine)["t2"][0] == ORIGINAL


def test_only_the_decider_withdraws_and_a_decision_is_taken_once(engine):
    eid = _approved(engine)
    with pytest.raises(WriteRefused, match="extension_id: .* was already decided") as e:
        ex.decide_extension(engine, OTHER_LEADER, eid, approve=False, now=NOW)
    assert e.value.reason == "decided"
    with pytest.raises(WriteRefused, match="only 市领导") as e:
        ex.withdraw_decision(engine, OTHER_LEADER, eid, now=NOW)
    assert e.value.reason == "not_decider"
    with pytest.raises(WriteRefused) as e:
        ex.withdraw_decision(engine, WEST_LEADER, eid, now=NOW)
    assert e.value.reason == "case_not_in_scope"
    assert _cases(engine)["t2"][0] == EXTENDED
    with pytest.raises(WriteRefused) as e:
        ex.decide_extension(engine, LEADER, "EX-nope", approve=True, now=NOW)
    assert str(e.value) == "extension_id: no extension request 'EX-nope'"


@pytest.mark.parametrize("req, message", [
    (_req(days=0), "days: must be a whole number from 1 to 90, got 0"),
    (_req(days=91), "days: must be a whole number from 1 to 90, got 91"),
    (_req(days=61, kind="working_days"), "days: must be a whole number from 1 to 60, got 61"),
    (_req(days=None), "days: must be a whole number from 1 to 90, got None"),
    (_req(days=True), "days: must be a whole number from 1 to 90, got True"),
    (_req(days="3"), "days: must be a whole number from 1 to 90, got '3'"),
    (_req(kind="weeks"), "day_kind: must be one of days, working_days"),
    (_req(reason="  \x00 "), "reason: required"),
    (_req(reason="长" * 501), "reason: 501 characters, at most 500"),
    (_req(case_no="t1"), "case_no: t1 is already closed"),
    (_req(case_no="t5"), "case_no: t5 has no handling unit yet (not dispatched)"),
    (_req(case_no="nope"), "case_no: no case 'nope' in your jurisdiction"),
])
def test_bad_input_is_refused_with_its_field_and_nothing_is_written(engine, req, message):
    with pytest.raises(WriteRefused) as e:
        ex.request_extension(engine, STAFF, req, now=NOW)
    assert str(e.value) == message
    with engine.connect() as conn:
        assert conn.execute(select(case_extensions)).all() == []


def test_a_second_request_waits_for_the_first(engine):
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    with pytest.raises(WriteRefused, match=f"already has a request awaiting a decision \\({eid}\\)"):
        ex.request_extension(engine, STAFF, _req(3), now=NOW)


def test_the_extension_survives_a_rule_change_a_reload_and_a_sync(engine, tmp_path):
    _approved(engine)
    assert tl.set_rule(engine, "B", working_days=3) >= 1
    assert _cases(engine)["t2"][0] == datetime(2025, 10, 17, 23, 59, 59)  # 10-11 23:59:59 + 6 days
    _assert_rollups_are_a_rebuild(engine)
    tl.set_rule(engine, "B", working_days=None)
    assert _cases(engine)["t2"][0] == EXTENDED

    load_dataset(FIXTURES / "extensions", engine, replace=True)
    assert _cases(engine)["t2"][0] == EXTENDED
    assert _kpis(engine)[-1] == 0
    assert len(ext_q.case_extension_history(engine, STAFF, "t2").rows) == 1

    # a batch from the source changes t2 (its title): the due time keeps the extension
    from data_access.ingest.sync import sync_batch
    from test_sync import _set, read_csv, write_batch
    h, rows = read_csv(FIXTURES / "extensions" / "cases.csv")
    t2 = _set(h, next(r for r in rows if r[0] == "t2"), title="国庆前报的在办纠纷（已补充材料）")
    sync_batch(write_batch(tmp_path / "b1", "b1", "2025-10-08T13:00:00+08:00", {"cases.csv": (h, [t2])}), engine)
    assert _cases(engine)["t2"][0] == EXTENDED
    _assert_rollups_are_a_rebuild(engine)


def test_a_batch_may_not_delete_a_case_with_extension_requests(engine, tmp_path):
    from data_access.ingest.sync import BatchRefused, sync_batch
    from test_sync import write_batch

    eid = _approved(engine)
    folder = write_batch(tmp_path / "b1", "b1", "2025-10-08T13:00:00+08:00", {}, deletions=[("cases", "t2")])
    with pytest.raises(BatchRefused) as e:
        sync_batch(folder, engine)
    assert (f"deletions.csv:2 key: case 't2' has extension requests made in the dashboard ({eid}); a case with "
            "the dashboard's extension requests is never deleted") in e.value.problems
    assert _cases(engine)["t2"][0] == EXTENDED


def test_a_reload_without_the_extended_case_is_refused_naming_it(engine, tmp_path):
    _approved(engine)
    folder = tmp_path / "data"
    shutil.copytree(FIXTURES / "extensions", folder)
    for name in ("cases.csv", "case_events.csv"):
        p = folder / name
        p.write_text("".join(l for l in p.read_text(encoding="utf-8").splitlines(keepends=True)
                             if not l.startswith("t2,")), encoding="utf-8")
    with pytest.raises(DatasetInvalid) as e:
        load_dataset(folder, engine, replace=True)
    assert "case 't2' is not in this dataset, but the extension request" in str(e.value)
    assert _cases(engine)["t2"][0] == EXTENDED  # nothing changed


# --- the case panel (AppTest) ---------------------------------------------------------------------------------

def _panel(url: str, role: str, scope: str | None, name: str):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT, sign_in

    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), url, role, scope, name=name)
    at.query_params["case"] = "t2"
    at.run()
    at.switch_page("pages/cases.py").run()
    assert not at.exception, at.exception
    return at


def test_the_case_panel_requests_and_approves_an_extension(db_kind, tmp_path, monkeypatch):
    from conftest import serve_fixture

    from data_access.core.db import make_engine

    url = serve_fixture(db_kind, tmp_path, monkeypatch, "extensions", NOW)
    at = _panel(url, "staff", "110", "东县综治中心")
    assert any("延期申请" in m.value for m in at.markdown)
    assert not any(b.label == "批准" for b in at.button)  # staff may request; nobody decides their own request
    submit = next(b for b in at.button if b.label == "提交延期申请")
    submit.click().run()  # nothing filled in: refused with the field, nothing written
    assert any("延期天数须为 1 至 60 的整数" in e.value for e in at.error), [e.value for e in at.error]
    at.number_input(key="ext_days_t2").set_value(2)
    at.text_area(key="ext_reason_t2").input("需等待鉴定结果")
    next(b for b in at.button if b.label == "提交延期申请").click().run()
    assert not at.error, [e.value for e in at.error]
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(case_extensions.c.status, case_extensions.c.days, case_extensions.c.day_kind,
                                   case_extensions.c.requested_by)).all() == [
            ("requested", 2, "working_days", "东县综治中心")]
    assert not any(b.label == "提交延期申请" for b in at.button)  # one request at a time
    assert not any(b.label == "批准" for b in at.button)

    leader = _panel(url, "leader", "100", "市领导")
    assert not any(b.label == "提交延期申请" for b in leader.button)  # a leader decides, never requests
    next(b for b in leader.button if b.label == "批准").click().run()
    assert not leader.error, [e.value for e in leader.error]
    assert any("已批准" in s.value for s in leader.success)
    assert _cases(engine)["t2"][0] == datetime(2025, 10, 10, 9)  # 10-03 is a holiday: 10-09, 10-10
    assert any("原办理时限 2025-10-03 09:00，批准延期后 2025-10-10 09:00" in c.value for c in leader.caption)
    assert any(b.label.startswith("撤回对 EX") for b in leader.button)
    assert "延期批准" in " ".join(str(n) for n in leader.dataframe[-2].value.get("note", []))  # the case log
    engine.dispose()


def test_a_viewer_sees_the_history_and_no_form(db_kind, tmp_path, monkeypatch):
    from conftest import serve_fixture

    url = serve_fixture(db_kind, tmp_path, monkeypatch, "extensions", NOW)
    at = _panel(url, "viewer", "111", "观察员")
    assert not any(m.value == "**延期申请**" for m in at.markdown)  # no history yet, nothing to show a viewer
    assert not any(b.label in ("提交延期申请", "批准", "不予批准") for b in at.button)


# --- the supervision centre's view by unit ------------------------------------------------------------------

def test_extensions_by_unit_counts_requests_days_and_refusals(engine):
    _approved(engine)  # D1: 6 days approved
    eid = ex.request_extension(engine, STAFF, _req(3, "working_days", "再等一周"), now=NOW)
    ex.decide_extension(engine, LEADER, eid, approve=False, now=NOW)
    ex.request_extension(engine, STAFF, _req(2), now=NOW)  # pending
    df = ext_q.extensions_by_unit(engine, SEP_OCT, NOW)
    assert df.to_dict("records") == [dict(unit_code="D1", unit_name="东县司法局", requested=3, approved=1, refused=1,
                                          pending=1, days_granted=6, avg_days_granted=6.0, share_refused=0.5)]
    west = CaseFilter(scope_code="120", date_from=date(2025, 9, 1), date_to=date(2025, 10, 31))
    assert ext_q.extensions_by_unit(engine, west, NOW).empty  # another county's jurisdiction sees none
    before_period = CaseFilter(region_code="100", date_from=date(2025, 9, 1), date_to=date(2025, 9, 29))
    assert ext_q.extensions_by_unit(engine, before_period, NOW).empty  # t2 was reported on 09-30
    assert ext_q.case_extension_history(engine, WEST_LEADER, "t2").rows.empty  # nor its history


def test_the_supervision_centre_shows_extensions_by_unit(db_kind, tmp_path, monkeypatch):
    from conftest import open_app_page, serve_fixture

    from data_access.core.db import make_engine

    url = serve_fixture(db_kind, tmp_path, monkeypatch, "extensions", NOW)
    engine = make_engine(url)
    _approved(engine)
    engine.dispose()
    at = open_app_page(url, "supervision", {"view": "extensions", "from": "2025-09-01", "to": "2025-10-31"})
    table = at.dataframe[0].value
    row = table.iloc[0].to_dict()
    assert len(table) == 1 and row["unit_name"] == "东县司法局", row
    assert (row["requested"], row["approved"], row["days_granted"], row["share_refused"]) == (1, 1, 6, 0.0), row
