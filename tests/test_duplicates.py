"""Repeat cases (重复件) and chronic places (积案), issue 22: the exact groups of the hand-computable fixture
(tests/fixtures/duplicates/README.md), their storage, the scoped and audited decisions, and the supervision
centre's lists — on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from data_access.core.access import User
from data_access.core.duplicates import (
    candidate_pairs,
    detect_duplicates,
    group_pairs,
    jaccard,
    lead,
    leads_agree,
    matter,
    matters_agree,
    ngrams,
    numbers,
    numbers_agree,
    places_agree,
    precision_recall,
    similarity,
    store_proposals,
)
from data_access.core.filters import Scope
from data_access.core.schema import audit_log, duplicate_groups
from data_access.queries.supervision import duplicates as q
from data_access.writes.duplicates import confirm_group, reject_group, undo_decision
from data_access.writes.workflow import WriteRefused
from tests.conftest import load_fixture

NOW = datetime(2026, 3, 20, 12, 0)
LEADER = User("领导", "leader", None, "lead")
STAFF = User("办事员", "staff", None, "staff")
EAST_STAFF = User("东县办事员", "staff", "110", "east")
VIEWER = User("观察员", "viewer", None, "view")


@pytest.fixture(params=["sqlite", "pg"])
def engine(request, tmp_path):
    eng = load_fixture(request.param, tmp_path, "duplicates")
    yield eng
    eng.dispose()


def _summary(groups):
    return [(g.primary, g.members, g.score, g.same_caller, g.village_code, g.category) for g in groups]


# --- the text measure -----------------------------------------------------------------------------------------

def test_bigrams_drop_spaces_punctuation_and_fold_width():
    assert ngrams("污水 外溢，") == frozenset({"污水", "水外", "外溢"})
    assert ngrams("ＡＢ") == ngrams("ab") == frozenset({"ab"})
    assert ngrams("漏") == frozenset({"漏"}) and ngrams("  ") == frozenset()
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_similarity_of_the_fixture_texts():
    # title + description: d1's 13 bigrams all in d2's 17, d3's 11 all in d1's: 13/17, 11/13, 11/17 (README);
    # the higher of that and the titles' own index: d1 and d2 have the same title (1), d1–d3's titles 7/12
    assert similarity("丙村3号楼下水道堵塞", "污水外溢", "丙村3号楼下水道堵塞", "污水外溢，气味很大") == 1.0
    assert similarity("丙村3号楼下水道堵塞", "", "丙村3号楼下水道堵塞", "污水外溢，气味很大") == 1.0
    assert similarity("丙村3号楼下水道堵塞", "污水外溢", "3号楼下水道堵塞 污水外溢", "") == 11 / 13
    assert similarity("乙社区路灯不亮", "", "乙社区路灯损坏需维修", "") == 4 / 11  # below DUP_MIN_SCORE


def test_a_channel_formula_in_the_description_does_not_hide_a_repeat():
    hot, walk = "群众通过12345热线反映，平台转办至所在网格核实处理。", "当事人到村（社区）综治中心来访反映，工作人员登记受理。"
    title = "炉观村5组夫妻因家庭琐事发生争吵"
    # the same title through two channels: the whole texts share only 16 of 63 bigrams, the titles all 15
    assert jaccard(ngrams(title + hot), ngrams(title + walk)) == 16 / 63
    assert similarity(title, hot, title, walk) == 1.0


def test_numbers_of_the_titles_must_agree():
    assert numbers("幸福小区５栋3单元") == ("5", "3") and numbers("第05组") == ("5",)
    assert numbers("6组6号") == ("6", "6")
    assert numbers_agree(("5",), ("5", "3")) and numbers_agree((), ("7",)) and numbers_agree(("3",), ("12", "3"))
    assert not numbers_agree(("5",), ("7",))
    # in order and with repeats (as sets, each pair here agreed: false pairs of the 100k benchmark)
    assert not numbers_agree(numbers("思乐村6组6号"), numbers("思乐村6组37号"))
    assert not numbers_agree(numbers("桂花园14栋1单元"), numbers("桂花园1栋1单元"))
    assert not numbers_agree(numbers("5栋4单元"), numbers("4栋5单元"))
    g1, g2 = {"grid_code": "G1"}, {"grid_code": "G2"}
    assert places_agree(g1, ("5",), g2, ("5",)) and places_agree(g1, (), g1, ())
    assert not places_agree(g1, (), g2, ("5",))
    t0 = datetime(2026, 3, 1, 8, 0)
    rows = [_row("a", t0, "鹅坪村1组小区停车管理引发业主不满"),
            _row("b", t0 + timedelta(hours=1), "鹅坪村10组小区停车管理引发业主不满"),  # text 5/6, another place
            _row("c", t0 + timedelta(hours=2), "又有群众反映鹅坪村1组小区停车管理引发业主不满"),
            _row("d", t0 + timedelta(hours=3), "催办")]  # no number: agrees with any; shares no bigram
    assert [(p.earlier, p.later) for p in candidate_pairs(rows)] == [("a", "c")]


def test_the_place_before_the_numbers_must_agree():
    assert lead("涟水名城社区梅苑小区14栋2单元居民楼下水道堵塞") == "涟水名城社区梅苑小区"
    assert lead("再次反映：源竹村1组…") == "再次反映源竹村" and lead("催办") is None
    assert leads_agree("源竹村", "又有群众反映源竹村") and leads_agree("", "锦绣花园") and leads_agree(None, "x")
    assert not leads_agree("涟水名城社区梅苑小区", "涟水名城社区锦绣花园")
    t0 = datetime(2026, 3, 1, 8, 0)
    rows = [_row("a", t0, "涟水名城社区梅苑小区14栋2单元居民楼下水道堵塞污水外溢"),
            _row("b", t0 + timedelta(days=1), "涟水名城社区锦绣花园14栋2单元居民楼下水道堵塞污水外溢"),  # 0.69
            _row("c", t0 + timedelta(days=2), "再次反映：涟水名城社区梅苑小区14栋2单元居民楼下水道堵塞")]
    assert [(p.earlier, p.later) for p in candidate_pairs(rows)] == [("a", "c")]


def test_two_matters_of_one_household_are_not_one_matter():
    """A pair the 1.07 M benchmark proposed, one household's two quarrels (whole texts 0.518 by the place's bigrams
    and the patrol's formula); what each title says after its last number shares no bigram (0 < 0.2)."""
    noise, land = "象茶村9组3号邻居因噪音扰民产生矛盾", "象茶村9组3号两户村民因宅基地界址发生口角"
    formula = "网格员巡查走访中发现该问题，现场了解情况后录入平台。"
    assert matter(noise) == "号邻居因噪音扰民产生矛盾" and matter("催办") is None and matter("3组12号") == "号"
    assert similarity(noise, formula, land, formula) >= 0.5
    assert jaccard(ngrams(matter(noise)), ngrams(matter(land))) == 0.0
    # reported again in other words: 群众反映有人聚众赌博 / 居民投诉有人聚众赌博，请尽快处理 share 有人 人聚 聚众 众赌 赌博
    # (号群众反映… 10 bigrams, 号居民投诉…请尽快处理 15, punctuation dropped): 5 / (10 + 15 - 5) = 0.25
    gamble, again = "义溪村15组33号群众反映有人聚众赌博", "义溪村15组33号居民投诉有人聚众赌博，请尽快处理"
    assert jaccard(ngrams(matter(gamble)), ngrams(matter(again))) == 0.25
    assert matters_agree(ngrams(matter(gamble)), ngrams(matter(again)))
    assert matters_agree(None, ngrams("x")) and matters_agree(frozenset(), ngrams("号邻居"))   # nothing to tell by
    t0 = datetime(2026, 3, 1, 8, 0)
    rows = [{**_row("a", t0, noise, source="patrol"), "description": formula},
            {**_row("b", t0 + timedelta(days=5), land, source="patrol"), "description": formula},
            {**_row("c", t0 + timedelta(days=6), "象茶村9组3号群众反映有人聚众赌博"), "description": ""},
            {**_row("d", t0 + timedelta(days=6, hours=1), "象茶村9组3号居民反映有人聚众赌博"), "description": ""}]
    # c–d: titles 13 / 19 = 0.684, matters 7 / 13 = 0.538 (号群众反映… / 号居民反映…): one matter
    assert [(p.earlier, p.later, p.score) for p in candidate_pairs(rows)] == [("c", "d", 0.6842)]
    assert [(p.earlier, p.later) for p in candidate_pairs(rows, min_matter=0.0)] == [("a", "b"), ("c", "d")]


def test_a_title_naming_no_place_pairs_only_inside_its_grid():
    t0 = datetime(2026, 3, 1, 8, 0)
    rows = [_row("a", t0, "清水溪村8组沟渠淤积产生异味", grid="G1"),
            _row("b", t0 + timedelta(hours=1), "清水溪村沟渠淤积产生异味", grid="G2-01"),  # no number, another grid
            _row("c", t0 + timedelta(hours=2), "清水溪村沟渠淤积产生异味", grid="G1"),     # no number, a's grid
            _row("d", t0 + timedelta(hours=3), "又有群众反映清水溪村沟渠淤积产生异味", grid="G2-01")]
    assert [(p.earlier, p.later) for p in candidate_pairs(rows)] == [("a", "c"), ("b", "d")]


def test_a_recall_naming_another_place_is_not_a_recall():
    t0 = datetime(2026, 3, 1, 8, 0)
    rows = [_row("a", t0, "资江花园19栋停车管理引发业主不满", phone="139"),
            _row("b", t0 + timedelta(days=2), "金色家园17栋电梯长期故障", phone="139"),  # the same caller, 17栋
            _row("c", t0 + timedelta(days=3), "19栋的事还没人来", phone="139")]
    assert [(p.earlier, p.later, p.score, p.same_caller) for p in candidate_pairs(rows)] == [
        ("a", "c", 1.0, True)]


# --- detection on rows (no database) ----------------------------------------------------------------------------

def _row(no, at, title="路口积水严重", village="V", cat="A", grid="G", source="hotline", phone=""):
    return {"case_no": no, "village_code": village, "category": cat, "grid_code": grid, "source": source,
            "reporter_phone": phone, "reported_at": at, "title": title, "description": ""}


def test_the_window_is_inclusive_at_exactly_seven_days():
    t0 = datetime(2026, 3, 1, 8, 0)
    rows = [_row("a", t0), _row("b", t0 + timedelta(days=7)), _row("c", t0 + timedelta(days=14, seconds=1))]
    assert [(p.earlier, p.later) for p in candidate_pairs(rows)] == [("a", "b")]


def test_a_skewed_block_compares_each_case_with_at_most_max_compare_earlier_ones():
    t0 = datetime(2026, 3, 1)
    rows = [_row(f"c{i:03d}", t0 + timedelta(minutes=i)) for i in range(100)]  # one text, one block, 100 cases
    pairs = list(candidate_pairs(rows, max_compare=5))
    assert len(pairs) == 5 * 95 + sum(range(5))  # never 100 × 99 / 2
    assert {p.earlier for p in pairs if p.later == "c099"} == {"c094", "c095", "c096", "c097", "c098"}


def test_a_recall_pairs_whatever_the_text_but_a_patrol_report_does_not():
    t0 = datetime(2026, 3, 1)
    rows = [_row("a", t0, "楼上漏水", phone="139"), _row("b", t0 + timedelta(days=1), "催办", phone="139"),
            _row("c", t0 + timedelta(days=2), "巡查发现杂物", phone="139", source="patrol")]
    assert [(p.earlier, p.later, p.score, p.text_score, p.same_caller) for p in candidate_pairs(rows)] == [
        ("a", "b", 1.0, 0.0, True)]


# --- the fixture's groups ---------------------------------------------------------------------------------------

def test_the_fixture_groups_exactly(engine):
    groups = detect_duplicates(engine)
    assert _summary(groups) == [
        ("d1", {"d2": 1.0, "d3": 0.8462}, 0.8462, False, "1211", "A"),
        ("p1", {"p2": 1.0}, 1.0, True, "1111", "B"),
    ]
    assert group_pairs(groups) == {frozenset(p) for p in [("d1", "d2"), ("d1", "d3"), ("d2", "d3"), ("p1", "p2")]}


def test_precision_and_recall_over_pairs():
    found = {frozenset(p) for p in [("a", "b"), ("a", "c"), ("b", "c"), ("x", "y")]}
    truth = {frozenset(p) for p in [("a", "b"), ("a", "c"), ("b", "c"), ("p", "q"), ("p", "r"), ("q", "r")]}
    assert precision_recall(found, truth) == (3 / 4, 3 / 6)
    assert precision_recall(set(), truth) == (None, 0.0) and precision_recall(found, set()) == (0.0, None)


def test_detection_follows_the_place_and_the_dates(engine):
    assert [g.primary for g in detect_duplicates(engine, Scope("110"))] == ["p1"]
    assert [g.primary for g in detect_duplicates(engine, Scope(None, "1211"))] == ["d1"]
    # from 03-02 on, d1 is not read: d2 is the primary of d2–d3 (11/17)
    assert _summary(detect_duplicates(engine, since=datetime(2026, 3, 2).date())) == [
        ("d2", {"d3": 0.6471}, 0.6471, False, "1211", "A"), ("p1", {"p2": 1.0}, 1.0, True, "1111", "B")]


# --- storage and decisions --------------------------------------------------------------------------------------

def _states(engine):
    with engine.connect() as conn:
        return sorted(conn.execute(select(duplicate_groups.c.primary_case_no, duplicate_groups.c.state)).all())


def _gid(engine, primary):
    with engine.connect() as conn:
        return conn.execute(select(duplicate_groups.c.group_id)
                            .where(duplicate_groups.c.primary_case_no == primary)).scalar_one()


def _audit(engine):
    with engine.connect() as conn:
        return [(u, t, json.loads(d)["action"]) for u, t, d in conn.execute(
            select(audit_log.c.username, audit_log.c.target, audit_log.c.detail)
            .where(audit_log.c.event == "write").order_by(audit_log.c.id))]


def test_storing_again_keeps_the_decisions(engine):
    assert store_proposals(engine, detect_duplicates(engine), now=NOW) == {"proposed": 2, "decided": 0, "skipped": 0}
    assert store_proposals(engine, detect_duplicates(engine), now=NOW)["proposed"] == 2  # replaced, not added
    assert _states(engine) == [("d1", "proposed"), ("p1", "proposed")]
    confirm_group(engine, STAFF, _gid(engine, "d1"), "同一下水道", now=NOW)
    assert store_proposals(engine, detect_duplicates(engine), now=NOW) == {"proposed": 1, "decided": 1, "skipped": 1}
    assert _states(engine) == [("d1", "confirmed"), ("p1", "proposed")]


def _members_by_group(engine) -> list[tuple[str, float, list[tuple[str, float | None]]]]:
    from data_access.core.schema import duplicate_members

    g, m = duplicate_groups.c, duplicate_members.c
    with engine.connect() as conn:
        rows = conn.execute(select(g.group_id, g.primary_case_no, g.score, m.case_no, m.score)
                            .join(duplicate_members, m.group_id == g.group_id).order_by(g.group_id, m.case_no)).all()
    out: dict[int, tuple] = {}
    for gid, primary, score, case_no, member_score in rows:
        out.setdefault(gid, (primary, score, []))[2].append((case_no, member_score))
    return sorted(out.values())


def test_each_stored_group_holds_its_own_members_even_when_two_share_a_primary(engine):
    """Groups go in with one statement and their new ids come back matched to their rows (PostgreSQL: by primary
    case); two groups of one primary (never from a detection, but store_proposals takes any list) take the other way,
    and neither gets the other's members."""
    from data_access.core.duplicates import DuplicateGroup

    store_proposals(engine, detect_duplicates(engine), now=NOW)
    assert _members_by_group(engine) == [
        ("d1", 0.8462, [("d1", None), ("d2", 1.0), ("d3", 0.8462)]),
        ("p1", 1.0, [("p1", None), ("p2", 1.0)])]
    same_primary = [DuplicateGroup("d1", {"d2": 0.9}, "1211", "A"), DuplicateGroup("d1", {"d3": 0.7}, "1211", "A")]
    store_proposals(engine, same_primary, now=NOW)
    assert _members_by_group(engine) == [
        ("d1", 0.7, [("d1", None), ("d3", 0.7)]), ("d1", 0.9, [("d1", None), ("d2", 0.9)])]


def test_confirm_reject_undo_are_audited_and_reversible(engine):
    store_proposals(engine, detect_duplicates(engine), now=NOW)
    d1, p1 = _gid(engine, "d1"), _gid(engine, "p1")
    confirm_group(engine, STAFF, d1, "同一下水道", now=NOW)
    reject_group(engine, LEADER, p1, now=NOW)
    assert _states(engine) == [("d1", "confirmed"), ("p1", "rejected")]
    assert q.case_links(engine, "d2") == {"primary": "d1", "duplicates": []}
    assert q.case_links(engine, "d1") == {"primary": None, "duplicates": ["d2", "d3"]}
    assert q.case_links(engine, "p2") == {"primary": None, "duplicates": []}  # rejected: no link
    c = q.counts(engine, Scope())
    assert (c.proposed, c.confirmed, c.rejected, c.confirmed_cases, c.duplicates) == (0, 1, 1, 3, 2)
    with pytest.raises(WriteRefused) as e:
        confirm_group(engine, STAFF, d1)
    assert e.value.reason == "dup_decided"
    undo_decision(engine, STAFF, d1)
    assert _states(engine) == [("d1", "proposed"), ("p1", "rejected")]
    assert q.case_links(engine, "d2") == {"primary": None, "duplicates": []}
    with pytest.raises(WriteRefused) as e:
        undo_decision(engine, STAFF, d1)
    assert e.value.reason == "dup_not_decided"
    assert _audit(engine) == [("staff", "d1", "confirm_duplicates"), ("lead", "p1", "reject_duplicates"),
                              ("staff", "d1", "undo_duplicates")]


def test_decisions_are_scoped_and_refused_writes_write_nothing(engine):
    store_proposals(engine, detect_duplicates(engine), now=NOW)
    d1, p1 = _gid(engine, "d1"), _gid(engine, "p1")
    for user, gid, reason in [(VIEWER, p1, "dup_role"), (None, p1, "dup_role"),
                              (EAST_STAFF, d1, "dup_unknown"),  # 丙村 lies in 西县, outside 东县
                              (STAFF, 99999, "dup_unknown"), (STAFF, "x; drop", "dup_unknown")]:
        with pytest.raises(WriteRefused) as e:
            confirm_group(engine, user, gid)
        assert e.value.reason == reason
    with pytest.raises(WriteRefused) as e:
        reject_group(engine, STAFF, p1, "长" * 501)
    assert e.value.reason == "dup_note_too_long"
    assert _states(engine) == [("d1", "proposed"), ("p1", "proposed")] and _audit(engine) == []
    confirm_group(engine, EAST_STAFF, p1, now=NOW)  # inside 东县
    assert _states(engine) == [("d1", "proposed"), ("p1", "confirmed")]


def test_a_case_is_the_duplicate_of_one_primary_only(engine):
    store_proposals(engine, detect_duplicates(engine), now=NOW)
    confirm_group(engine, STAFF, _gid(engine, "d1"), now=NOW)
    # the matter detected again from 03-02 on: d2–d3, whose cases are already in the confirmed group d1
    groups = detect_duplicates(engine, Scope(None, "1211"), since=datetime(2026, 3, 2).date())
    assert store_proposals(engine, groups, Scope(None, "1211"), now=NOW)["skipped"] == 1
    groups[0].members["n3"] = 0.9  # a group that takes d2 and more: proposed, but may not be confirmed
    store_proposals(engine, groups, Scope(None, "1211"), now=NOW)
    with pytest.raises(WriteRefused) as e:
        confirm_group(engine, STAFF, _gid(engine, "d2"))
    assert e.value.reason == "dup_taken" and e.value.params["case_no"] == "d2"


# --- the supervision centre's lists -----------------------------------------------------------------------------

def test_group_rows_side_by_side_with_phones_masked(engine):
    store_proposals(engine, detect_duplicates(engine), now=NOW)
    rows = q.groups(engine, Scope(), LEADER)
    assert list(zip(rows["case_no"], rows["dup_case_no"], rows["member_score"])) == [
        ("p1", "p2", 1.0), ("d1", "d2", 1.0), ("d1", "d3", 0.8462)]
    assert list(rows["reporter_phone"]) == ["139****0001", "136****0001", "136****0001"]
    assert list(zip(rows["grid_name"], rows["dup_grid_name"])) == [("甲村第1网格", "甲村第1网格"),
                                                                  ("丙村第1网格", "丙村1栋1单元"),
                                                                  ("丙村第1网格", "丙村第1网格")]
    assert list(q.groups(engine, Scope(), STAFF)["reporter_phone"])[0] == "13900000001"
    assert list(q.groups(engine, Scope("110"), STAFF)["case_no"]) == ["p1"]
    assert q.groups(engine, Scope(), LEADER, "confirmed").empty


def test_chronic_places_reporters_and_matters_reported_again(engine):
    grids = q.chronic_places(engine, Scope(), NOW, "grid")
    assert list(zip(grids["code"], grids["name"], grids["cases"])) == [("G1", "甲村第1网格", 5),
                                                                       ("G3", "丙村第1网格", 5)]
    villages = q.chronic_places(engine, Scope(), NOW, "village")
    assert list(zip(villages["name"], villages["cases"])) == [("甲村", 5), ("丙村", 5)]
    assert list(q.chronic_places(engine, Scope("120"), NOW, "grid")["code"]) == ["G3"]
    # 90 days back from 05-21 12:00 is 02-20 12:00: p0 (02-20 10:00) drops out, G1 keeps 4
    later = q.chronic_places(engine, Scope(), datetime(2026, 5, 21, 12), "grid")
    assert list(zip(later["code"], later["cases"])) == [("G3", 5), ("G1", 4)]
    # 06-09 12:00 − 90 d = 03-11 12:00: only n3 (03-12)
    # (03-12) is left of G3 and p2, n4 of G1: below CHRONIC_MIN_CASES, nothing listed
    assert q.chronic_places(engine, Scope(), datetime(2026, 6, 9, 12), "grid").empty
    reporters = q.frequent_reporters(engine, Scope(), LEADER, NOW)
    assert list(zip(reporters["phone"], reporters["cases"])) == [("139****0001", 3)]  # p0, p1, p2; not n4
    assert list(q.frequent_reporters(engine, Scope(), STAFF, NOW)["phone"]) == ["13900000001"]
    assert q.frequent_reporters(engine, Scope("120"), LEADER, NOW).empty
    again = q.reported_again(engine, Scope(), NOW)
    assert list(again["case_no"]) == ["p0"]  # closed 02-21, p1 on 03-10 (same phone, grid, category)
    assert q.reported_again(engine, Scope("120"), NOW).empty
    with pytest.raises(ValueError):
        q.chronic_places(engine, Scope(), NOW, "county")


def test_chronic_places_from_the_day_roll_up_equal_a_count_of_the_cases(engine, monkeypatch):
    """The whole days of the window come from case_day_counts, its two ends from the cases: for every place of the
    fixture, both levels and windows whose ends fall at midnight, mid-day and on a case's own report time, the
    list equals counting the cases straight (the definition), with the threshold at 1 so that every place shows."""
    from sqlalchemy import func

    from data_access.core.filters import CASE_LEVEL_COLUMN, resolve
    from data_access.core.schema import cases

    monkeypatch.setattr(q, "CHRONIC_MIN_CASES", 1)
    with engine.connect() as conn:
        places = [None, *conn.execute(select(func.distinct(cases.c.county_code))).scalars(),
                  *conn.execute(select(func.distinct(cases.c.top_grid_code))).scalars()]
        times = sorted(conn.execute(select(cases.c.reported_at)).scalars())
    nows = [datetime(2026, 3, 20), datetime(2026, 3, 20, 12), datetime(2026, 5, 21, 12), times[-1],
            times[len(times) // 2] + timedelta(days=q.CHRONIC_DAYS)]
    for code in places:
        scope = Scope(code) if code is not None else Scope()
        r = resolve(engine, scope)
        for level in ("grid", "village"):
            col = CASE_LEVEL_COLUMN[level]
            for now in nows:
                start = now - timedelta(days=q.CHRONIC_DAYS)
                place = [] if r.code is None else [CASE_LEVEL_COLUMN[r.level] == r.code]
                with engine.connect() as conn:
                    want = sorted(((c, n) for c, n in conn.execute(
                        select(col, func.count()).where(*place, cases.c.reported_at > start,
                                                        cases.c.reported_at <= now, col.is_not(None))
                        .group_by(col))), key=lambda x: (-x[1], x[0]))[:q.CHRONIC_ROWS]
                got = q.chronic_places(engine, scope, now, level)
                assert list(zip(got["code"], got["cases"])) == want, (code, level, now)
    assert any(len(q.chronic_places(engine, Scope(), now, "grid")) for now in nows)


# --- the command line and the migration -------------------------------------------------------------------------

def test_cli_prints_and_stores_the_groups(engine, capsys):
    from data_access.cli import main

    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "duplicates", "--format", "csv", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["group,primary,case_no,score,same_caller,village,category",
                                "1,d1,d1,0.8462,,1211,A", "1,d1,d2,1.0000,,1211,A", "1,d1,d3,0.8462,,1211,A",
                                "2,p1,p1,1.0000,yes,1111,B", "2,p1,p2,1.0000,yes,1111,B"]
    assert "2 groups, 5 cases" in err and "nothing was written" in err and _states(engine) == []
    assert main(["--db", url, "duplicates", "--region", "110"]) == 0
    out, err = capsys.readouterr()
    assert out.split() == ["group", "primary", "case_no", "score", "same_caller", "village", "category",
                           "1", "p1", "p1", "1.0000", "yes", "1111", "B", "1", "p1", "p2", "1.0000", "yes", "1111", "B"]
    assert "stored 1 proposed groups" in err and _states(engine) == [("p1", "proposed")]
    assert main(["--db", url, "duplicates", "--as-of", "2026-03-04", "--since", "2026-03-02"]) == 0  # d2 alone
    assert _states(engine) == [("p1", "proposed")]


@pytest.mark.parametrize("argv, message", [
    (["--as-of", "2026-13-01"], "--as-of: not a date YYYY-MM-DD: '2026-13-01'"),
    (["--since", "yesterday"], "--since: not a date YYYY-MM-DD: 'yesterday'"),
    (["--since", "2026-03-05", "--as-of", "2026-03-01"], "--since: 2026-03-05 is after --as-of 2026-03-01"),
    (["--region", "'; drop table cases"], "--region: no region or grid"),
])
def test_cli_refuses_bad_arguments_and_writes_nothing(engine, capsys, argv, message):
    from data_access.cli import main

    assert main(["--db", engine.url.render_as_string(hide_password=False), "duplicates", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "nothing was written" in err and "Traceback" not in err
    assert _states(engine) == []


def test_migration_0014_makes_the_tables_of_the_schema(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from data_access.core.schema import metadata

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diffs if "duplicate_" in repr(d)]
    assert ours == []


def test_every_read_stays_inside_the_jurisdiction(engine):
    from data_access.core.filters import OutOfScope

    store_proposals(engine, detect_duplicates(engine), now=NOW)
    confirm_group(engine, STAFF, _gid(engine, "d1"), now=NOW)
    east, west = Scope("110"), Scope("120")
    assert (q.counts(engine, east).proposed, q.counts(engine, east).confirmed) == (1, 0)
    assert (q.counts(engine, west).proposed, q.counts(engine, west).confirmed_cases) == (0, 3)
    assert q.groups(engine, east, STAFF, "confirmed").empty
    assert list(q.groups(engine, west, STAFF, "confirmed")["dup_case_no"]) == ["d2", "d3"]
    assert q.case_links(engine, "d1", "110") == {"primary": None, "duplicates": []}
    assert q.case_links(engine, "d2", "110") == {"primary": None, "duplicates": []}
    assert q.case_links(engine, "d2", "120") == {"primary": "d1", "duplicates": []}
    assert q.case_links(engine, "d1", "1211") == {"primary": None, "duplicates": ["d2", "d3"]}
    # a grid below the village: d2 lies on the micro-grid G3-01, which belongs to G3
    assert q.case_links(engine, "d1", "G3-01") == {"primary": None, "duplicates": ["d2"]}
    for read in (lambda s: q.groups(engine, s, STAFF), lambda s: q.counts(engine, s),
                 lambda s: q.chronic_places(engine, s, NOW), lambda s: q.frequent_reporters(engine, s, STAFF, NOW),
                 lambda s: q.reported_again(engine, s, NOW), lambda s: detect_duplicates(engine, s)):
        with pytest.raises(OutOfScope):
            read(Scope("110", "1211"))  # 丙村 from a 东县 jurisdiction
        with pytest.raises(OutOfScope):
            read(Scope("999"))  # a jurisdiction gone from the data sees nothing


# --- after a sync: the proposals of the villages the batch touched (core/duplicates.refresh_after_sync) ---------

def _sync_case(tmp_path, batch_id: str, **values):
    """A batch of one case: d1's row with ``values`` (case_no, reported_at, due_at ...)."""
    import csv as csv_

    from tests.conftest import FIXTURES
    from tests.test_sync import write_batch

    with open(FIXTURES / "duplicates" / "cases.csv", encoding="utf-8") as f:
        rows = list(csv_.reader(f))
    header, d1 = rows[0], next(r for r in rows[1:] if r[0] == "d1")
    row = [values.get(h, v) for h, v in zip(header, d1)]
    return write_batch(tmp_path / batch_id, batch_id, "2026-03-19T13:00:00+08:00", {"cases.csv": (header, [row])})


def _groups(engine):
    from data_access.core.schema import duplicate_members

    g, m = duplicate_groups.c, duplicate_members.c
    with engine.connect() as conn:
        rows = conn.execute(select(g.group_id, g.primary_case_no, g.state, m.case_no)
                            .join(duplicate_members, m.group_id == g.group_id).order_by(g.primary_case_no, m.case_no))
        out: dict = {}
        for gid, primary, state, case_no in rows:
            out.setdefault((primary, state), (gid, []))[1].append(case_no)
    return out


def test_a_sync_proposes_the_groups_of_the_villages_it_touched(engine, tmp_path, monkeypatch):
    """d4 (丙村 G3, A, 03-06 09:00, d1's title) joins d1's group, and brings n3 (03-12 09:00, 6 days after it,
    the same title) with it; p1's group (village 1111, not touched), confirmed by staff, keeps its row.""" 
    from data_access.ingest.sync import sync_batch

    monkeypatch.setenv("GOV_WARNINGS_AUTO", "0")
    store_proposals(engine, detect_duplicates(engine), now=NOW)
    before = _groups(engine)
    assert {k: v[1] for k, v in before.items()} == {("d1", "proposed"): ["d1", "d2", "d3"],
                                                   ("p1", "proposed"): ["p1", "p2"]}
    confirmed = before[("p1", "proposed")][0]
    confirm_group(engine, STAFF, confirmed, "同一处漏水", now=NOW)
    sync_batch(_sync_case(tmp_path, "b1", case_no="d4", reported_at="2026-03-06T09:00:00",
                          due_at="2026-03-07T09:00:00", reporter_phone="13600000010"), engine)
    after = _groups(engine)
    assert {k: v[1] for k, v in after.items()} == {("d1", "proposed"): ["d1", "d2", "d3", "d4", "n3"],
                                                  ("p1", "confirmed"): ["p1", "p2"]}
    assert after[("p1", "confirmed")][0] == confirmed
    with engine.connect() as conn:
        score = conn.execute(select(duplicate_groups.c.score).where(duplicate_groups.c.primary_case_no == "d1")
                             ).scalar_one()
    assert score == 0.8462  # d3's: d1–d3 11/13; d4 and n3 pair with identical titles (1.0)
    # d4 corrected to category B: d1's group is as before the batch (n3 is 7 days 1 hour after d3), and d4
    # repeats n1 (G3, B, 03-01 10:00, d1's title)
    sync_batch(_sync_case(tmp_path, "b2", case_no="d4", reported_at="2026-03-06T09:00:00",
                          due_at="2026-03-07T09:00:00", reporter_phone="13600000010", category="B"), engine)
    assert {k: v[1] for k, v in _groups(engine).items()} == {("d1", "proposed"): ["d1", "d2", "d3"],
                                                            ("n1", "proposed"): ["d4", "n1"],
                                                            ("p1", "confirmed"): ["p1", "p2"]}


def test_the_after_sync_refresh_reads_only_recent_cases_of_the_batch(engine):
    """A stamp no case carries: nothing.  The load's stamp (every case): the newest is n4 (03-13 10:00), so
    every case counts (p0, 02-20, is 21 days before it), the three villages with cases (1111, 1112, 1211), from
    02-13 (7 days before p0): the two groups of the fixture."""
    from data_access.core.duplicates import SYNC_RECENT_DAYS, refresh_after_sync
    from data_access.core.schema import cases

    assert SYNC_RECENT_DAYS == 30
    assert refresh_after_sync(engine, datetime(1999, 1, 1)) is None
    with engine.connect() as conn:
        stamp = conn.execute(select(cases.c.changed_at).limit(1)).scalar_one()
    done = refresh_after_sync(engine, stamp, now=NOW)
    assert done == {"proposed": 2, "decided": 0, "skipped": 0, "villages": 3}


def test_a_sync_case_joining_a_stored_group_by_a_chain_extends_it(engine, tmp_path, monkeypatch):
    """d5 (G3, A, 03-11 09:00, d3's words) repeats d3 (03-05) and n3 (03-12): the days re-read start 7 days
    before it (03-04), but d1's stored group reaches into them (d3), so it is re-read from d1 (03-01): one group
    d1 … n3, not d1's beside a second one of d3, d5 and n3."""
    from data_access.ingest.sync import sync_batch

    monkeypatch.setenv("GOV_WARNINGS_AUTO", "0")
    store_proposals(engine, detect_duplicates(engine), now=NOW)
    sync_batch(_sync_case(tmp_path, "b1", case_no="d5", reported_at="2026-03-11T09:00:00", title="3号楼下水道堵塞",
                          due_at="2026-03-12T09:00:00", reporter_phone="13600000011"), engine)
    assert {k: v[1] for k, v in _groups(engine).items()} == {("d1", "proposed"): ["d1", "d2", "d3", "d5", "n3"],
                                                            ("p1", "proposed"): ["p1", "p2"]}
