"""``Scope``: the place of a filter (jurisdiction and region), what the views that select no cases take, and how
``resolve`` reads it: as the filter of every case of the place, with the same checks (tests/fixtures/staffing)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from data_access.core.filters import ALL_TIME, CaseFilter, OutOfScope, Scope, resolve
from tests.conftest import load_fixture


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = load_fixture("sqlite", tmp_path_factory.mktemp("scope"), "staffing")
    yield eng
    eng.dispose()


def test_a_filters_scope_and_period_are_only_its_place_and_dates():
    f = CaseFilter(scope_code="110", region_code="111", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31),
                   categories=("X",), statuses=("closed",), text="漏水")
    assert f.scope == Scope("110", "111") and f.period == (date(2026, 1, 1), date(2026, 3, 31))
    assert f.with_(categories=(), text="").scope == f.scope  # what the user narrows leaves the place alone
    assert CaseFilter().scope == Scope() and CaseFilter().period == ALL_TIME == (None, None)
    assert hash(f.scope) == hash(Scope("110", "111"))  # frozen: usable as a cache key


def test_a_scope_moves_inside_its_jurisdiction_and_names_every_case_of_its_place():
    s = Scope("110", "111")
    assert s.at("1111") == Scope("110", "1111") and s.at(None) == Scope("110")
    assert s.cases() == CaseFilter(scope_code="110", region_code="111")
    assert s.cases((date(2026, 1, 1), None)) == CaseFilter(scope_code="110", region_code="111",
                                                            date_from=date(2026, 1, 1))


def test_resolve_reads_a_scope_as_the_filter_of_every_case_of_its_place(engine):
    for scope in (Scope(), Scope("110"), Scope("110", "111"), Scope(None, "G3-01"), Scope("110", "nope")):
        r, rf = resolve(engine, scope), resolve(engine, scope.cases())
        assert (r.f, r.code, r.level) == (rf.f, rf.code, rf.level)
        assert isinstance(r.f, CaseFilter)
    assert resolve(engine, Scope("110", "nope")).code == "110"  # an unknown region falls back to the scope
    assert resolve(engine, Scope("110", "G3-01")).level == "micro_grid"
    with pytest.raises(OutOfScope):
        resolve(engine, Scope("110", "121"))  # 西镇 lies in 西县
    with pytest.raises(OutOfScope):
        resolve(engine, Scope("110").at("120"))
    with pytest.raises(OutOfScope):
        resolve(engine, Scope("999"))  # a jurisdiction gone from the data sees nothing, never everything


def test_the_child_level_is_the_level_of_the_regions_children(engine):
    """RegionTree.child_level: what every "by child region" view groups by (one definition for all of them)."""
    from data_access.core.regions import region_tree

    tree = region_tree(engine)
    assert [tree.child_level(c) for c in (None, "100", "110", "111", "1111", "G3")] == \
        ["city", "county", "township", "village", "grid", "micro_grid"]
    assert tree.child_level("G2") is None and tree.child_level("nope") is None  # no children: nothing to group by
    for code in (None, *tree.nodes):
        assert tree.child_level(code) == (tree.children(code)[0].level if tree.children(code) else None)


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_a_second_load_in_the_same_second_is_a_new_data_version(kind, tmp_path, monkeypatch):
    """The region tree and every cached query key on the data's version (``regions.data_version``,
    ``meta.data_updated_at``).  A load stamped its time to the second, so a second dataset loaded within the same
    second kept the first one's version and its tree: CI's test workers, which load one fixture after another,
    resolved county 110 against another fixture's tree (OutOfScope) and wrote other regions into roll-ups."""
    from data_access.core import meta, regions
    from data_access.ingest import writing
    from data_access.ingest.loader import load_dataset
    from tests.conftest import FIXTURES, fresh_engine

    ticks = iter([datetime(2026, 12, 7, 14, 50, 1, 100000), datetime(2026, 12, 7, 14, 50, 1, 700000)])

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(ticks).replace(tzinfo=tz)

    monkeypatch.setattr(writing, "datetime", Clock)
    eng = fresh_engine(kind, tmp_path)
    load_dataset(FIXTURES / "tiny", eng)
    first = meta.data_updated_at(eng)
    assert "431300" in regions.region_tree(eng).nodes
    load_dataset(FIXTURES / "metrics", eng, replace=True)
    assert meta.data_updated_at(eng) != first
    tree = regions.region_tree(eng)
    assert "110" in tree.nodes and "431300" not in tree.nodes
    eng.dispose()
