"""Property tests of the sync (data_access/ingest/sync.py): generated sequences of small batches (issue 21).

The hand-computable fixture (tests/fixtures/metrics) is split into batches by time, as bench/sync.py does, into a
number of windows Hypothesis draws; between them it interleaves what a real source sends: the same batch again,
a copy of it under another id, a batch taken earlier arriving late (its rows older than the stored ones), two
batches swapped, a case row changed (title, grid, category, reporter's phone: the roll-up slices and re-reports
move) and changed back, a case reported and later withdrawn (deletions.csv; one of them re-reports a closed case the
batch does not carry), and batches the sync must refuse
(a bad cell or reference among good rows).  The properties:

- after the sequence every table a load fills, derived columns and roll-ups included, equals a full load of the
  end state (tests/test_sync.py ``contents``, the comparison of the equality test there), and after every batch
  the roll-ups equal a rebuild from the cases as they stand (a slice left behind by a case that moved back
  would not show at the end);
- a batch applied again (same id, or the same rows under another id, or older rows) changes nothing;
- a refused batch leaves the database as it was.

Profiles: tests/conftest.py ("ci" by default: a few examples per backend, the same every run).
"""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bench.sync import split_into_batches
from data_access.ingest.loader import load_dataset
from data_access.ingest.sync import BatchRefused, sync_batch
from tests.conftest import FIXTURES, examples, fresh_engine
from tests.test_sync import _rollups_equal_a_rebuild, contents, read_csv, write_csv

METRICS = FIXTURES / "metrics"
FIRST = datetime(2026, 3, 21, 0, 0)      # the first batch's produced_at; batch i is i minutes later
GRIDS = ("G1", "G2", "G3", "G3-01")
CATEGORIES = ("A", "B")
PHONES = ("", "13900001234", "13800000001")
BAD_CELLS = {   # column → a value the sync refuses, and the start of its problem
    "grid_code": ("GX", "cases.csv:2 grid_code: unknown grid 'GX'"),
    "title": ("楼道\x00堆物", "cases.csv:2 title: contains the control character U+0000"),
    "due_at": ("9999-12-31T23:59:59", "cases.csv:2 due_at: year 9999 is outside 1900–2200"),
    "category": ("ZZ", "cases.csv:2 category: unknown category 'ZZ'"),
    "reported_at": ("2026-02-30T10:00:00", "cases.csv:2 reported_at: not a valid date/time"),
}


class Run:
    """One generated sequence on one database: the batches, what each case's row was last sent as, the checks."""

    def __init__(self, engine, folder: Path, split: list[Path]):
        self.engine, self.folder, self.split = engine, folder, split
        self.ids = count(1)
        self.latest: dict[str, list[str]] = {}
        self.header = read_csv(METRICS / "cases.csv")[0]
        self.withdrawn: list[str] = []
        self.log: list[str] = []

    def produced(self, i: int, seconds: int = 0) -> datetime:
        return FIRST + timedelta(minutes=i, seconds=seconds)

    def batch(self, produced: datetime, files: dict, deletions=()) -> Path:
        n = next(self.ids)
        folder = self.folder / f"x{n:03d}"
        folder.mkdir(parents=True)
        for name, (header, rows) in files.items():
            write_csv(folder / name, header, rows)
        if deletions:
            write_csv(folder / "deletions.csv", ["table", "key"], [list(d) for d in deletions])
        (folder / "batch.json").write_text(json.dumps({"batch_id": f"x{n:03d}", "produced_at": produced.isoformat()}),
                                           encoding="utf-8")
        return folder

    def copy(self, folder: Path, produced: datetime | None = None) -> Path:
        """``folder`` under a new id (and, given, another produced_at)."""
        n = next(self.ids)
        out = self.folder / f"x{n:03d}"
        shutil.copytree(folder, out)
        meta = json.loads((out / "batch.json").read_text(encoding="utf-8"))
        meta["batch_id"] = f"x{n:03d}"
        if produced is not None:
            meta["produced_at"] = produced.isoformat()
        (out / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
        return out

    def apply(self, folder: Path):
        result = sync_batch(folder, self.engine)
        if not result.already_applied:   # after every batch, not only at the end: the roll-ups are a rebuild's
            _rollups_equal_a_rebuild(self.engine)
        if (folder / "cases.csv").is_file() and not result.already_applied:
            h, rows = read_csv(folder / "cases.csv")
            produced = json.loads((folder / "batch.json").read_text(encoding="utf-8"))["produced_at"]
            for r in rows:
                if produced >= self.latest.get(r[0], ("", None))[0]:
                    self.latest[r[0]] = (produced, r)
        return result

    def unchanged(self, folder: Path, what: str) -> None:
        before = contents(self.engine)
        self.apply(folder)
        assert contents(self.engine) == before, what

    def refused(self, folder: Path, expected: str) -> None:
        before = contents(self.engine)
        with pytest.raises(BatchRefused) as exc:
            sync_batch(folder, self.engine)
        assert any(p.startswith(expected) for p in exc.value.problems), exc.value.problems
        assert contents(self.engine) == before, "a refused batch changed the database"

    def withdraw(self, case_no: str, produced: datetime) -> None:
        self.apply(self.batch(produced, {}, deletions=[("cases", case_no)]))
        del self.latest[case_no]

    def row(self, key: str, /, **values) -> list[str]:
        row = list(self.latest[key][1])
        for k, v in values.items():
            row[self.header.index(k)] = v
        return row


@st.composite
def plans(draw):
    """How many windows, and for each batch the extras that follow it."""
    n = draw(st.integers(2, 9))
    extras = st.lists(st.sampled_from(["again", "copy", "stale", "swap", "changed", "withdrawn", "rereport", "bad"]),
                      max_size=2, unique=True)
    return n, [draw(extras) for _ in range(n)], draw(st.randoms(use_true_random=False))


def run_plan(engine, folder: Path, plan, expected: dict) -> None:
    n, extras, rnd = plan
    split = split_into_batches(METRICS, folder / "split", n, FIRST)
    run = Run(engine, folder / "extra", split)
    waiting: list[tuple[int, str]] = []   # withdrawn cases: (batch index after which to delete, case_no)
    i = 0
    pending_swap = None
    while i < len(split):
        if pending_swap is not None:   # the later batch came first; now the one before it, then the later again
            run.apply(split[i])
            run.apply(split[pending_swap])
            i, pending_swap = pending_swap + 1, None
            continue
        todo = extras[i] if i < len(extras) else []
        if "swap" in todo and i + 1 < len(split):
            before = contents(engine)
            try:
                run.apply(split[i + 1])
            except BatchRefused:   # it needs the one before (a case's first events): refused, nothing changed
                event("swap: the later batch refused")
                assert contents(engine) == before, "a refused batch changed the database"
            event("extra: swap")
            pending_swap = i + 1
            continue
        run.apply(split[i])
        for kind in todo:
            if kind == "again":
                event("extra: again")
                again = run.apply(split[i])
                assert again.already_applied and again.rows == 0
            elif kind == "copy":
                event("extra: copy")
                run.unchanged(run.copy(split[i]), "the same rows under another id")
            elif kind == "stale" and i > 1:
                event("extra: stale")
                j = rnd.randrange(1, i)
                run.unchanged(run.copy(split[j], run.produced(j, 30)), f"batch {j} arriving after batch {i}")
            elif kind == "changed" and run.latest:
                event("extra: changed")
                case_no = rnd.choice(sorted(run.latest))
                wrong = run.row(case_no, title="录错的标题", grid_code=rnd.choice(GRIDS),
                                category=rnd.choice(CATEGORIES), reporter_phone=rnd.choice(PHONES))
                right = run.row(case_no)
                run.apply(run.batch(run.produced(i, 10), {"cases.csv": (run.header, [wrong])}))
                run.apply(run.batch(run.produced(i, 20), {"cases.csv": (run.header, [right])}))
            elif kind == "withdrawn" and run.latest:
                event("extra: withdrawn")
                template = rnd.choice(sorted(run.latest))
                case_no = f"w{i:02d}"
                row = run.row(template, case_no=case_no, status="reported", accepted_at="", dispatched_at="",
                              handled_at="", feedback_at="", closed_at="", resolution_level="", satisfaction="",
                              on_the_spot="false", reporter_phone=rnd.choice(PHONES), department_code="")
                at = row[run.header.index("reported_at")]
                eh = read_csv(METRICS / "case_events.csv")[0]
                run.apply(run.batch(run.produced(i, 30), {
                    "cases.csv": (run.header, [row]),
                    "case_events.csv": (eh, [[case_no, "1", at, "report", "", row[1], ""]])}))
                waiting.append((rnd.randrange(i, len(split)), case_no))
            elif kind == "rereport" and "c01" in run.latest and run.row("c01")[run.header.index("closed_at")]:
                # a hotline report by c01's reporter on its grid and category 27 days after it closed (the next
                # month): c01, a case the batch does not carry, becomes re-reported (its roll-up slice must follow),
                # then not again once the report is withdrawn
                event("extra: rereport")
                closed = datetime.fromisoformat(run.row("c01")[run.header.index("closed_at")])
                at = (closed + timedelta(days=27)).isoformat()   # within 30 days, in the next month
                case_no = f"r{i:02d}"
                row = run.row("c01", case_no=case_no, source="hotline", status="reported", accepted_at="",
                              dispatched_at="", handled_at="", feedback_at="", closed_at="", resolution_level="",
                              satisfaction="", on_the_spot="false", reported_at=at,
                              due_at=(closed + timedelta(days=28)).isoformat())
                eh = read_csv(METRICS / "case_events.csv")[0]
                run.apply(run.batch(run.produced(i, 35), {
                    "cases.csv": (run.header, [row]),
                    "case_events.csv": (eh, [[case_no, "1", at, "report", "", row[1], ""]])}))
                waiting.append((rnd.randrange(i, len(split)), case_no))
            elif kind == "bad" and run.latest:
                event("extra: bad")
                col = rnd.choice(sorted(BAD_CELLS))
                value, problem = BAD_CELLS[col]
                good = [run.row(c, title="改过的标题") for c in sorted(run.latest)[:2]]
                bad = run.row(sorted(run.latest)[-1], **{col: value})
                run.refused(run.batch(run.produced(i, 40), {"cases.csv": (run.header, [bad, *good])}),
                            problem)
        for when, case_no in [w for w in waiting if w[0] == i]:
            run.withdraw(case_no, run.produced(i, 50))
            waiting.remove((when, case_no))
        i += 1
    for _when, case_no in waiting:   # those whose batch was passed over by a swap
        run.withdraw(case_no, run.produced(len(split), 50))
    got = contents(engine)
    for name in expected:
        assert got[name] == expected[name], name


@pytest.fixture(scope="module")
def full_load(tmp_path_factory):
    """Per backend: the contents of a full load of the end state, and an empty migrated database to start from."""
    cache = {}

    def get(kind: str):
        if kind not in cache:
            folder = tmp_path_factory.mktemp(f"full-{kind}")
            eng = fresh_engine(kind, folder)
            if kind == "sqlite":
                eng.dispose()
                shutil.copy(folder / "test.db", folder / "empty.db")
                eng = fresh_engine(kind, folder)
            load_dataset(METRICS, eng)
            cache[kind] = (contents(eng), folder / "empty.db")
            eng.dispose()
        return cache[kind]
    return get




@settings(max_examples=examples(10))
@given(plan=plans())
def test_sqlite_a_sequence_of_batches_ends_where_a_full_load_is(full_load, tmp_path_factory, plan):
    from data_access.core.db import make_engine

    expected, empty = full_load("sqlite")
    folder = tmp_path_factory.mktemp("seq")
    shutil.copy(empty, folder / "test.db")
    eng = make_engine(f"sqlite:///{folder / 'test.db'}")
    try:
        run_plan(eng, folder, plan, expected)
    finally:
        eng.dispose()


@settings(max_examples=examples(2))
@given(plan=plans())
def test_postgresql_a_sequence_of_batches_ends_where_a_full_load_is(full_load, tmp_path_factory, plan):
    expected, _ = full_load("pg")
    folder = tmp_path_factory.mktemp("seq")
    eng = fresh_engine("pg", folder)
    try:
        run_plan(eng, folder, plan, expected)
    finally:
        eng.dispose()
