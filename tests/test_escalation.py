"""Escalation rules (issue 23): a rule reaches exactly the open cases past its threshold, once; a dry run writes
nothing; rules are an admin's, within the admin's jurisdiction; every order goes through the hand-issued write.

The tiny fixture's open cases at NOW = 2024-07-01 12:00 (calendar hours; allowed = due − reported; a step's
limit = its share of it: accept 0.1, dispatch 0.1, handle 0.5, feedback 0.2):

| case | category, allowed | in step (since) | hours in it / limit | case: hours / past due |
|---|---|---|---|---|
| …07 | neighbour 72 h | close (feedback 06-05 09:00) | – | 723 / 651 |
| …08 | sewer 24 h | feedback (handled 06-10 16:00) | 500 / 4.8 | 507 / 483 |
| …09 | property 120 h | handle (dispatched 06-16 09:00) | 363 / 60 | 387 / 267 |
| …10 | neighbour 72 h | dispatch (accepted 06-20 11:00) | 265 / 7.2 | 267 / 195 |
| …11 | sewer 24 h, 新化县 | accept (reported 06-28 20:00) | 64 / 2.4 | 64 / 40 |
| …12 | neighbour 72 h, 新化县 micro-grid | accept (reported 06-30 10:00) | 26 / 7.2 | 26 / −46 |
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from data_access.core import escalation as esc
from data_access.core.access import User
from data_access.core.filters import CaseFilter
from data_access.core.schema import audit_log, case_events, cases, escalation_rules, rule_upgrades, supervisions
from data_access.queries.supervision import effect
from data_access.writes import escalation
from data_access.writes.workflow import WriteRefused
from tests.conftest import load_fixture

NOW = datetime(2024, 7, 1, 12, 0)
ADMIN = User("管理员", role="admin", username="admin")
C = "LD2024{}".format
CASE = {n: C(x) for n, x in {7: "0601000007", 8: "0610000008", 9: "0615000009", 10: "0620000010",
                             11: "0628000011", 12: "0630000012"}.items()}


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def tiny(request, tmp_path_factory):
    """The tiny fixture, loaded once per backend; the tests that issue orders take a fresh copy (``fresh``)."""
    eng = load_fixture(request.param, tmp_path_factory.mktemp("tiny"), "tiny")
    yield eng
    eng.dispose()


@pytest.fixture
def engine(tiny):
    """The shared database with no rules (the shipped defaults are disabled; each test sets its own)."""
    with tiny.begin() as conn:
        conn.execute(escalation_rules.delete())
    return tiny


@pytest.fixture
def fresh(db_kind, tmp_path):
    eng = load_fixture(db_kind, tmp_path, "tiny")
    with eng.begin() as conn:
        conn.execute(escalation_rules.delete())
    yield eng
    eng.dispose()


def _rule(engine, **kw):
    spec = dict(name="r", measure="share", threshold=1.0, grade="yellow", enabled=True) | kw
    return escalation.add_rule(engine, ADMIN, **spec)


def _reached(engine, **kw) -> list[str]:
    rid = _rule(engine, **kw)
    run = escalation.escalate(engine, NOW, dry_run=True)
    return sorted(p["case_no"] for p in run.planned if p["rule_id"] == rid)


@pytest.mark.parametrize("rule, cases", [
    (dict(step="accept"), [11, 12]),
    (dict(step="accept", threshold=5.0), [11]),                       # 64/2.4 = 26.7; 26/7.2 = 3.6
    (dict(step="dispatch"), [10]),
    (dict(step="handle"), [9]),
    (dict(step="feedback"), [8]),
    (dict(step="case", measure="hours_past", threshold=0.0), [7, 8, 9, 10, 11]),
    (dict(step="case", measure="hours_past", threshold=300.0), [7, 8]),  # 651, 483; not 267
    (dict(step="case", measure="hours_past", threshold=483.0), [7, 8]),  # exactly at the threshold counts
    (dict(step="case", measure="hours_past", threshold=484.0), [7]),
    (dict(step="case", measure="hours_past", threshold=0.0, category="sewer"), [8, 11]),
    (dict(step="accept", scope_code="431322"), [11, 12]),               # 新化县, its micro-grid included
    (dict(step="accept", scope_code="431302"), []),
    (dict(step="handle", measure="hours_past", threshold=303.0), [9]),  # 363 − 60 = 303
    (dict(step="handle", measure="hours_past", threshold=304.0), []),
])
def test_a_rule_reaches_exactly_the_cases_past_its_threshold(engine, rule, cases):
    assert _reached(engine, **rule) == [CASE[n] for n in cases]


def _orders(engine):
    with engine.connect() as conn:
        return conn.execute(select(supervisions.c.case_no, supervisions.c.rule_id, supervisions.c.grade,
                                   supervisions.c.issued_by, supervisions.c.origin)
                            .where(supervisions.c.rule_id.is_not(None)).order_by(supervisions.c.case_no)).all()


def test_the_pass_issues_once_per_case_and_rule_through_the_order_write(fresh):
    engine = fresh
    red = _rule(engine, name="逾期 300 小时 红牌", step="case", measure="hours_past", threshold=300.0, grade="red")
    acc = _rule(engine, name="受理超时", step="accept", scope_code="431322")
    _rule(engine, name="off", step="handle", enabled=False)  # disabled: reaches nothing
    with engine.connect() as conn:
        events_before = conn.execute(select(func.count()).select_from(case_events)).scalar_one()

    dry = escalation.escalate(engine, NOW, dry_run=True)
    assert len(dry.planned) == 4 and dry.issued == [] and _orders(engine) == []  # a dry run writes nothing

    run = escalation.escalate(engine, NOW)
    assert len(run.issued) == 4
    assert _orders(engine) == [(CASE[7], red, "red", "431300", "app"), (CASE[8], red, "red", "431300", "app"),
                               (CASE[11], acc, "yellow", "431322", "app"), (CASE[12], acc, "yellow", "431322", "app")]
    with engine.connect() as conn:
        log = conn.execute(select(case_events.c.note).where(case_events.c.action == "supervise",
                                                            case_events.c.case_no == CASE[8])).scalars().all()
        assert conn.execute(select(func.count()).select_from(case_events)).scalar_one() == events_before + 4
        audited = conn.execute(select(func.count()).select_from(audit_log)
                               .where(audit_log.c.detail.like('%"rule_id"%'),
                                      audit_log.c.detail.like('%issue_supervision%'))).scalar_one()
    assert log == [f"红牌督办：自动督办（规则 {red}「逾期 300 小时 红牌」）：办结已用 507 小时，时限 24 小时"]
    assert audited == 4

    by = effect.supervision_effect_by_issuer(engine, CaseFilter(region_code="431300"), NOW).set_index("issuer")
    assert by["orders"].to_dict() == {"source": 2, "hand": 0, "rule": 4}   # the fixture's SV0001-2, then the pass
    assert by.loc["rule", "still_open"] == 4 and by.loc["source", "closed_after"] == 2
    by_grade = effect.supervision_effect_by_grade(engine, CaseFilter(region_code="431300"), NOW).set_index("grade")
    assert by_grade["orders"].to_dict() == {"normal": 1, "yellow": 2, "red": 3}

    again = escalation.escalate(engine, NOW)   # the same clock, or later: nothing new for these rules
    later = escalation.escalate(engine, datetime(2024, 7, 2, 12, 0))
    assert again.planned == [] and later.planned == [] and len(_orders(engine)) == 4


def test_rules_are_an_admins_within_the_jurisdiction(engine):
    for role in ("staff", "leader", "viewer"):
        with pytest.raises(WriteRefused, match="only an admin"):
            escalation.add_rule(engine, User("x", role=role), name="r", step="accept", measure="share",
                                threshold=1.0, grade="yellow")
    county_admin = User("县管理员", role="admin", scope_code="431322", username="xh")
    rid = escalation.add_rule(engine, county_admin, name="r", step="accept", measure="share", threshold=1.0,
                              grade="red")
    with engine.connect() as conn:
        assert conn.execute(select(escalation_rules.c.scope_code, escalation_rules.c.enabled)
                            .where(escalation_rules.c.rule_id == rid)).one() == ("431322", False)
    with pytest.raises(WriteRefused, match="scope"):
        escalation.add_rule(engine, county_admin, name="r", step="accept", measure="share", threshold=1.0,
                            grade="red", scope_code="431302")
    city_rule = _rule(engine, step="accept")
    with pytest.raises(WriteRefused, match="no rule"):
        escalation.set_rule_enabled(engine, county_admin, city_rule, False)
    escalation.set_rule_enabled(engine, county_admin, rid, True)
    assert [p["case_no"] for p in escalation.escalate(engine, NOW, dry_run=True).planned
            if p["rule_id"] == rid] == [CASE[11], CASE[12]]


@pytest.mark.parametrize("bad, reason", [
    (dict(step="close"), "step"), (dict(measure="percent"), "measure"), (dict(threshold=0.0), "threshold"),
    (dict(threshold=-1.0, measure="hours_past"), "threshold"), (dict(grade="purple"), "grade"),
    (dict(name="  "), "name"), (dict(name="规" * 101), "name"), (dict(category="nope"), "category"),
    (dict(scope_code="999"), "scope"),
])
def test_bad_rules_are_refused_and_nothing_is_saved(engine, bad, reason):
    with pytest.raises(WriteRefused, match=reason):
        _rule(engine, **(dict(step="accept") | bad))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(escalation_rules)).scalar_one() == 0


def test_the_defaults_ship_disabled():
    assert len(esc.DEFAULT_RULES) == 4
    assert all(not esc.rule_problems(r["step"], r["measure"], r["threshold"], r["grade"]) for r in esc.DEFAULT_RULES)


def test_a_fresh_database_holds_the_defaults_disabled(empty_engine):
    eng = empty_engine
    with eng.connect() as conn:
        rows = conn.execute(select(*[escalation_rules.c[k] for k in esc.DEFAULT_RULES[0]], escalation_rules.c.enabled)
                            .order_by(escalation_rules.c.rule_id)).mappings().all()
    assert [dict(r) for r in rows] == [dict(r, enabled=False) for r in esc.DEFAULT_RULES]
    assert escalation.escalate(eng, NOW).planned == []


def test_a_disabled_rule_is_previewed_by_id_but_never_applied(engine):
    rid = _rule(engine, step="accept", enabled=False)
    assert escalation.escalate(engine, NOW, dry_run=True).planned == []
    assert [p["case_no"] for p in escalation.escalate(engine, NOW, dry_run=True, rule_ids=[rid]).planned] == [
        CASE[11], CASE[12]]
    with pytest.raises(WriteRefused, match=f"no enabled rule {rid}"):
        escalation.escalate(engine, NOW, rule_ids=[rid])
    with pytest.raises(WriteRefused, match="no rule 999"):
        escalation.escalate(engine, NOW, dry_run=True, rule_ids=[999])


def test_the_command_line_adds_previews_and_applies(tmp_path, capsys):
    from data_access.cli import main

    eng = load_fixture("sqlite", tmp_path, "tiny")
    db = ["--db", str(eng.url)]
    assert main([*db, "rules", "add", "--name", "受理超时", "--step", "accept", "--threshold", "1", "--grade",
                 "yellow", "--scope", "431322"]) == 0
    out = capsys.readouterr().out
    rid = int(out.split()[2])
    assert "disabled" in out and rid == len(esc.DEFAULT_RULES) + 1
    assert main([*db, "escalate", "--dry-run", "--rule", str(rid), "--as-of", "2024-07-01T12:00:00"]) == 0
    out = capsys.readouterr().out
    assert CASE[11] in out and CASE[12] in out and "would issue 2 order(s)" in out and "nothing was written" in out
    assert main([*db, "escalate", "--as-of", "2024-07-01T12:00:00", "--rule", str(rid)]) == 1
    assert "no enabled rule" in capsys.readouterr().err
    assert main([*db, "rules", "enable", str(rid)]) == 0
    assert main([*db, "escalate", "--as-of", "2024-07-01T12:00:00"]) == 0
    assert "issued 2 order(s) as of 2024-07-01 12:00" in capsys.readouterr().out
    assert main([*db, "rules", "add", "--name", "x", "--step", "accept", "--threshold", "0", "--grade", "red"]) == 1
    assert "threshold" in capsys.readouterr().err
    assert main([*db, "escalate", "--as-of", "2024-13-01"]) == 1
    assert "--as-of" in capsys.readouterr().err
    assert main([*db, "rules", "list"]) == 0
    assert "受理超时" in capsys.readouterr().out


# --- 升级: a rule that moves a case one level up (grid → village → township → county → city) ----------------
# The tiny fixture's open cases have no ``escalate`` log entry: their grid is responsible.  Their regions:
# …07 G1 and …08 G2 in 石井社区 431302001001 (乐坪街道 431302001, 娄星区 431302); …11 G5 and …12 (micro-grid M1 of G5)
# in 梅苑社区 431322100001 (上梅镇 431322100, 新化县 431322).  The closed …04 and …06 were escalated by the source to
# 娄星区 431302 and 新化县 431322: their county is responsible.

def _escalations(engine):
    with engine.connect() as conn:
        return conn.execute(select(case_events.c.case_no, case_events.c.seq, case_events.c.action,
                                   case_events.c.org_code, case_events.c.actor)
                            .where(case_events.c.action == "escalate", case_events.c.case_no.like("LD202406%"))
                            .order_by(case_events.c.case_no, case_events.c.seq)).all()


def _upgrade_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(rule_upgrades.c.rule_id, rule_upgrades.c.case_no, rule_upgrades.c.from_level,
                                   rule_upgrades.c.to_level, rule_upgrades.c.to_code)
                            .order_by(rule_upgrades.c.rule_id, rule_upgrades.c.case_no)).all()


def _levels(engine, nos):
    from data_access.core.regions import region_tree

    with engine.connect() as conn:
        return esc.responsible_levels(conn, [CASE[n] if isinstance(n, int) else n for n in nos], region_tree(engine))


def test_the_level_now_responsible_is_the_last_escalation_or_the_grid(engine):
    got = _levels(engine, ["LD20240210000004", "LD20240305000006", 7, 11])
    assert list(got.values()) == ["county", "county", "grid", "grid"]


def test_an_upgrade_rule_moves_exactly_the_cases_past_its_threshold_once(fresh):
    from tests.test_workflow_writes import assert_rollups_exact

    engine = fresh
    up = _rule(engine, name="逾期300小时升级", step="case", measure="hours_past", threshold=300.0, grade="upgrade")
    with engine.connect() as conn:
        events_before = conn.execute(select(func.count()).select_from(case_events)).scalar_one()

    dry = escalation.escalate(engine, NOW, dry_run=True)   # 651 and 483 h past due; …09 267 h is not reached
    assert [(p["case_no"], p["from_level"], p["to_level"], p["to_code"]) for p in dry.planned] == [
        (CASE[7], "grid", "village", "431302001001"), (CASE[8], "grid", "village", "431302001001")]
    assert dry.upgraded == [] and _upgrade_rows(engine) == [] and _escalations(engine) == []  # nothing written

    run = escalation.escalate(engine, NOW)
    assert run.upgraded == [CASE[7], CASE[8]] and run.issued == [] and run.skipped == []
    assert _upgrade_rows(engine) == [(up, CASE[7], "grid", "village", "431302001001"),
                                     (up, CASE[8], "grid", "village", "431302001001")]
    # through the write that moves a case, numbered in the app's own run (…07 had 5 steps, …08 4: untouched)
    assert _escalations(engine) == [(CASE[7], 1_000_000, "escalate", "431302001001", f"自动督办规则 {up}"),
                                    (CASE[8], 1_000_000, "escalate", "431302001001", f"自动督办规则 {up}")]
    assert list(_levels(engine, [7, 8, 9]).values()) == ["village", "village", "grid"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(case_events)).scalar_one() == events_before + 2
        note = conn.execute(select(case_events.c.note).where(case_events.c.action == "escalate",
                                                             case_events.c.case_no == CASE[8])).scalar_one()
        audited = conn.execute(select(func.count()).select_from(audit_log)
                               .where(audit_log.c.detail.like('%"upgrade_case"%'))).scalar_one()
        statuses = conn.execute(select(cases.c.status).where(cases.c.case_no.in_([CASE[7], CASE[8]]))
                                .order_by(cases.c.case_no)).scalars().all()
    assert note == f"自动升级（规则 {up}「逾期300小时升级」）：办结已用 507 小时，时限 24 小时，由网格升级至村（社区）"
    assert audited == 2 and statuses == ["feedback", "handling"]   # the step stays; the level moves
    assert_rollups_exact(engine)

    again = escalation.escalate(engine, NOW)                          # once per rule and case
    later = escalation.escalate(engine, datetime(2024, 7, 2, 12, 0))
    assert again.planned == [] and later.planned == [] and len(_escalations(engine)) == 2

    # another upgrade rule moves them on from where the first left them: village → township
    up2 = _rule(engine, name="逾期480小时升级", step="case", measure="hours_past", threshold=480.0, grade="upgrade")
    run2 = escalation.escalate(engine, NOW)
    assert [(p["case_no"], p["from_level"], p["to_level"], p["to_code"]) for p in run2.planned] == [
        (CASE[7], "village", "township", "431302001"), (CASE[8], "village", "township", "431302001")]
    assert run2.upgraded == [CASE[7], CASE[8]]
    assert list(_levels(engine, [7, 8]).values()) == ["township", "township"]
    assert_rollups_exact(engine)

    by_rule = effect.rule_upgrades_by_rule(engine, CaseFilter(region_code="431300"), NOW)
    assert by_rule.values.tolist() == [[up, "逾期300小时升级", 2, 0, 2], [up2, "逾期480小时升级", 2, 0, 2]]
    assert effect.rule_upgrades_by_rule(engine, CaseFilter(region_code="431322"), NOW).empty
    from data_access.core.filters import Scope
    from data_access.queries.escalation import rule_order_counts
    assert rule_order_counts(engine, Scope(region_code="431302")) == {"issued": 0, "open": 0, "upgraded": 4,
                                                                      "upgraded_open": 4}
    assert rule_order_counts(engine, Scope(region_code="431322"))["upgraded"] == 0


def test_a_case_climbs_level_by_level_to_the_city_and_no_further(fresh):
    from data_access.writes.workflow import upgrade_case

    engine = fresh
    steps = [upgrade_case(engine, CASE[11], NOW, actor="x") for _ in range(4)]
    assert steps == [("grid", "village"), ("village", "township"), ("township", "county"), ("county", "city")]
    assert [e[3] for e in _escalations(engine)] == ["431322100001", "431322100", "431322", "431300"]
    with pytest.raises(WriteRefused, match="already with the city"):
        upgrade_case(engine, CASE[11], NOW)
    with pytest.raises(WriteRefused, match="'closed'"):
        upgrade_case(engine, "LD20240105000001", NOW)
    with pytest.raises(WriteRefused, match="earlier than the case's last step"):
        upgrade_case(engine, CASE[12], datetime(2024, 6, 30, 10, 1))   # its note at 10:05
    assert len(_escalations(engine)) == 4                               # the refusals wrote nothing


def test_upgrade_rules_are_an_admins_and_stay_in_the_jurisdiction(fresh):
    engine = fresh
    for role in ("staff", "leader", "viewer"):
        with pytest.raises(WriteRefused, match="only an admin"):
            escalation.add_rule(engine, User("x", role=role), name="r", step="accept", measure="share",
                                threshold=1.0, grade="upgrade")
    county_admin = User("县管理员", role="admin", scope_code="431322", username="xh")
    with pytest.raises(WriteRefused, match="scope"):
        escalation.add_rule(engine, county_admin, name="r", step="case", measure="hours_past", threshold=0.0,
                            grade="upgrade", scope_code="431302")
    rid = escalation.add_rule(engine, county_admin, name="县内逾期升级", step="case", measure="hours_past",
                              threshold=0.0, grade="upgrade", enabled=True)
    run = escalation.escalate(engine, NOW)   # …07–10 are past due too, but in 娄星区
    assert run.upgraded == [CASE[11]] and _upgrade_rows(engine) == [(rid, CASE[11], "grid", "village", "431322100001")]
    assert [e[0] for e in _escalations(engine)] == [CASE[11]]


def test_the_command_line_adds_and_runs_an_upgrade_rule(tmp_path, capsys):
    from data_access.cli import main

    eng = load_fixture("sqlite", tmp_path, "tiny")
    db = ["--db", str(eng.url)]
    assert main([*db, "rules", "add", "--name", "逾期升级", "--step", "case", "--measure", "hours_past",
                 "--threshold", "300", "--action", "upgrade", "--enable"]) == 0
    rid = int(capsys.readouterr().out.split()[2])
    assert main([*db, "escalate", "--dry-run", "--rule", str(rid), "--as-of", "2024-07-01T12:00:00"]) == 0
    out = capsys.readouterr().out
    assert "would issue 0 order(s), would move 2 case(s) one level up" in out and "grid→village" in out
    assert main([*db, "escalate", "--as-of", "2024-07-01T12:00:00", "--rule", str(rid)]) == 0
    assert "issued 0 order(s), moved 2 case(s) one level up as of 2024-07-01 12:00" in capsys.readouterr().out
    assert main([*db, "rules", "list"]) == 0
    assert "upgrade" in capsys.readouterr().out


def test_migration_0022_makes_the_table_of_the_schema(empty_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from data_access.core.schema import metadata

    with empty_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if "rule_upgrades" in repr(d)] == []


def test_order_ids_of_one_pass_never_collide(fresh, monkeypatch):
    """A pass issues all its orders with one issue time, so their ids differ in their 6 random hex digits only:
    8,997 orders at 1.07 M cases (bench/escalation.py) drew the same digits twice (a birthday collision, expected
    2.4 times) and the whole pass failed on the unique key.  Drawn here to collide on purpose."""
    import data_access.writes.orders as orders

    draws = iter(["aaaaaa", "aaaaaa", "bbbbbb", "aaaaaa", "bbbbbb", "cccccc"])
    monkeypatch.setattr(orders.secrets, "token_hex", lambda n: next(draws))
    _rule(fresh, step="case", measure="hours_past", threshold=300.0, grade="red")     # …07, …08
    assert sorted(escalation.escalate(fresh, NOW).issued) == ["DB20240701120000AAAAAA", "DB20240701120000BBBBBB"]
    _rule(fresh, step="handle")                                                         # …09, the same second
    assert escalation.escalate(fresh, NOW).issued == ["DB20240701120000CCCCCC"]


def test_two_upgrade_rules_in_one_pass_move_a_case_twice_each_under_its_rule(fresh):
    engine = fresh
    r1 = _rule(engine, name="a", step="case", measure="hours_past", threshold=300.0, grade="upgrade")
    r2 = _rule(engine, name="b", step="case", measure="hours_past", threshold=480.0, grade="upgrade")
    run = escalation.escalate(engine, NOW)
    assert run.upgraded == [CASE[7], CASE[8], CASE[7], CASE[8]]
    assert _upgrade_rows(engine) == [(r1, CASE[7], "grid", "village", "431302001001"),
                                     (r1, CASE[8], "grid", "village", "431302001001"),
                                     (r2, CASE[7], "village", "township", "431302001"),
                                     (r2, CASE[8], "village", "township", "431302001")]
    assert [(e[0], e[1], e[3]) for e in _escalations(engine)] == [
        (CASE[7], 1_000_000, "431302001001"), (CASE[7], 1_000_001, "431302001"),
        (CASE[8], 1_000_000, "431302001001"), (CASE[8], 1_000_001, "431302001")]


def test_an_upgrade_survives_a_replacing_load_and_the_sources_next_event(fresh, tmp_path):
    """An 升级 changes no column of the case: its ``escalate`` log entry is the app's record (the level now
    responsible is read from it), numbered in the app's own run (from APP_SEQ_BASE) like an order's entries, so a
    replacing load keeps it (ingest/app_rows.py) and the source's next event of the case (…07's 6th, a note)
    takes its own number.  Before: the entry took the case's step number 6, ``load --replace`` dropped it (the
    rule_upgrades row stayed, the case was back with its grid) and the source's event 6 was refused as a rewrite."""
    from data_access.core.contract import APP_SEQ_BASE
    from data_access.ingest.loader import load_dataset
    from data_access.ingest.sync import sync_batch
    from data_access.writes.workflow import upgrade_case
    from tests.conftest import FIXTURES
    from tests.test_sync import write_batch

    engine = fresh
    up = _rule(engine, name="逾期300小时升级", step="case", measure="hours_past", threshold=300.0, grade="upgrade")
    assert escalation.escalate(engine, NOW).upgraded == [CASE[7], CASE[8]]
    assert upgrade_case(engine, CASE[7], NOW, actor="张三", note="手动升级") == ("village", "township")
    entries = [(CASE[7], APP_SEQ_BASE, "escalate", "431302001001", f"自动督办规则 {up}"),
               (CASE[7], APP_SEQ_BASE + 1, "escalate", "431302001", "张三"),
               (CASE[8], APP_SEQ_BASE, "escalate", "431302001001", f"自动督办规则 {up}")]
    assert _escalations(engine) == entries
    load_dataset(FIXTURES / "tiny", engine, replace=True)
    assert _escalations(engine) == entries
    assert list(_levels(engine, [7, 8]).values()) == ["township", "village"]
    assert [r[1] for r in _upgrade_rows(engine)] == [CASE[7], CASE[8]]
    # a second pass changes nothing (once per rule and case), the levels stay
    assert escalation.escalate(engine, NOW).planned == []
    # the source goes on with …07: its event 6, applied beside the app's entries
    header = ["case_no", "seq", "at", "action", "actor", "org_code", "note"]
    r = sync_batch(write_batch(tmp_path / "b1", "b1", "2024-07-01T13:00:00+08:00", {"case_events.csv": (
        header, [[CASE[7], "6", "2024-07-01T12:30:00+08:00", "note", "李红", "431302001001001", "已联系"]])}), engine)
    assert r.counts["case_events"].inserted == 1
    assert _escalations(engine) == entries and _levels(engine, [7])[CASE[7]] == "township"
    with pytest.raises(WriteRefused, match="earlier than the case's last step"):   # the app's run keeps its order
        upgrade_case(engine, CASE[8], datetime(2024, 7, 1, 11, 0))
