"""The roll-ups against an oracle in plain Python, recomputed from the raw rows — on SQLite and PostgreSQL.

``tests/test_workflow_writes.py`` checks that the incrementally maintained roll-ups equal
``summary.rebuild_all_summaries``: the same SQL twice, so a wrong definition in that SQL passes.  Here every
row of the four roll-ups is recomputed in Python from what a dataset or a write actually records, reading
the definitions of data_access/core/metrics.py (and the README's "Definitions"), never the SQL of
data_access/core/rollups.py nor the columns that data_access/core/derive.py, the loader or the writes store on ``cases``:

- **raw inputs**: ``cases``' own columns (grid, category, source, reporter phone, status, the step
  timestamps reported … closed, the effective ``due_at``, department, resolution level, on the spot,
  satisfaction); ``case_events`` (returns, reassignments, reopenings are counted from the log);
  ``regions`` and ``grids`` (each case's province … village and top grid, walked up the tree).
- **derived here**: report month (of ``reported_at``), hours to close (closed_at − reported_at), closed late
  (closed_at > due_at), allowed hours (due_at − reported_at), each step's hours and limit (its share of the
  allowed hours), the re-report flag (a later non-patrol report by the same phone in the same grid and
  category within 30 days after the close), the hour buckets and the step-time ÷ limit buckets.
- **compared**: every row and every column of ``case_summary`` (month × township × category × status ×
  resolution level), ``case_summary_county`` (the same without the township), ``process_summary`` (month ×
  township × category × department) and ``grid_summary`` (month × village × top grid): missing rows, extra
  rows, duplicated keys and each measure — counts exactly, float sums to rel 1e-9.  A measure column that
  the oracle does not define is reported too, so a new roll-up column cannot go unchecked.

Scenarios, each on a fresh copy of the hand-computable fixture (tests/fixtures/metrics): right after the
load; after each of a series of workflow writes (reports at month edges and in both townships, accept …
close, returns, reassignments, reopenings, re-reports, cases exactly on the edges of the definitions); every
15 steps of the live demo feed (sample_data/live.py) run across a month end; after supervision orders are
issued and resolved; after a category's time limit is switched to working days and back.  Negative controls
(right after the load) corrupt a roll-up row, or a raw row behind the roll-ups' back, inside a rolled-back
transaction and check that the comparison reports exactly that.  The oracle found that a step of exactly
25 % of its limit landed in the ratio bucket below (float products; fixed with metrics.EDGE_SLACK_HOURS and
kept as test_a_step_exactly_on_a_ratio_edge_…).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import Float, delete, insert, select, update

from data_access.core import time_limits
from data_access.core.access import User
from data_access.core.metrics import (
    BOUNCE_RETURNS,
    FAST_CLOSE_HOURS,
    HOUR_BUCKET_EDGES,
    RATIO_BUCKET_EDGES,
    REREPORT_DAYS,
    SATISFIED_MIN,
    STEP_SHARES,
    UNSATISFIED_MAX,
)
from data_access.core.schema import (
    case_events,
    case_summary,
    case_summary_county,
    cases,
    departments,
    grid_summary,
    grids,
    process_summary,
    regions,
)
from data_access.writes.orders import (
    SupervisionOrder,
    issue_supervision,
    resolve_supervision,
)
from data_access.writes.workflow import (
    NewCase,
    accept_case,
    close_case,
    dispatch_case,
    feedback_case,
    handle_case,
    reassign_case,
    reopen_case,
    report_case,
    return_case,
)
from sample_data import live

LEVELS = ("province", "city", "county", "township", "village")
REGION_DIMS = tuple(f"{lv}_code" for lv in LEVELS)

# Each roll-up's grouping columns (the rest of its columns are measures).
CASE_DIMS = ("month", *REGION_DIMS[:4], "category", "status", "resolution_level")
COUNTY_DIMS = ("month", *REGION_DIMS[:3], "category", "status", "resolution_level")
PROCESS_DIMS = ("month", *REGION_DIMS[:4], "category", "department_code")
GRID_DIMS = ("month", *REGION_DIMS, "top_grid_code")

# The process steps the supervision centre measures: (timestamp entering the step before, timestamp entering
# this one); 受理 counts from the report (metrics.py, "step time").
STEP_SPANS = {"accept": ("reported_at", "accepted_at"), "dispatch": ("accepted_at", "dispatched_at"),
              "handle": ("dispatched_at", "handled_at"), "feedback": ("handled_at", "feedback_at")}

# What a dataset or a write records on a case (no column that the loader, derive.py or a write derives).
RAW_CASE_COLUMNS = ("case_no", "grid_code", "category", "source", "reporter_phone", "status", "reported_at",
                    "accepted_at", "dispatched_at", "handled_at", "feedback_at", "closed_at", "due_at",
                    "department_code", "resolution_level", "on_the_spot", "satisfaction")


# --- the oracle: facts per case, from the raw rows ------------------------------------------------------------

@dataclass(frozen=True)
class CaseFacts:
    """One case as the roll-ups see it, derived in Python from its raw row, its events and the region tree."""

    case_no: str
    month: str
    path: dict  # province_code … village_code, top_grid_code
    category: str
    source: str
    status: str
    resolution_level: str | None
    department_code: str | None
    closed: bool
    on_the_spot: bool
    satisfaction: int | None
    close_seconds: Fraction | None  # report → close, None while open
    closed_late: bool | None
    no_feedback_step: bool
    allowed_seconds: Fraction  # report → due
    step_seconds: dict  # step -> seconds spent reaching it, or None when the step was not reached
    n_returns: int
    n_reassigns: int
    n_reopens: int
    rereported: bool


def seconds_between(a: datetime | None, b: datetime | None) -> Fraction | None:
    """Seconds from ``a`` to ``b``, exactly (None when either is missing)."""
    if a is None or b is None:
        return None
    return Fraction((b - a) // timedelta(microseconds=1), 1_000_000)


def exact(x: float) -> Fraction:
    """A constant of metrics.py as its decimal reads (0.1 is one tenth, not the binary float next to it)."""
    return Fraction(str(x))


def whole_seconds(seconds: Fraction | None) -> int:
    """A span in whole seconds (the roll-ups sum times as integers: core/rollups.seconds_sql; 0 for a missing span:
    SQL's SUM skips NULL)."""
    return 0 if seconds is None else int(round(seconds))


def region_paths(conn) -> dict[str, dict]:
    """Each grid's ancestors: province … village (None where the tree has no such level) and its top grid
    (a micro-grid's parent grid, else the grid itself), walked up ``regions`` in Python."""
    level_of, parent_of = {}, {}
    for code, level, parent in conn.execute(select(regions.c.code, regions.c.level, regions.c.parent_code)):
        level_of[code], parent_of[code] = level, parent
    out = {}
    for code, village, parent_grid in conn.execute(select(grids.c.code, grids.c.village_code,
                                                           grids.c.parent_grid_code)):
        path = dict.fromkeys(REGION_DIMS)
        node = village
        while node is not None:
            path[f"{level_of[node]}_code"] = node
            node = parent_of[node]
        path["top_grid_code"] = parent_grid or code
        out[code] = path
    return out


def event_counts(conn) -> dict[str, Counter]:
    """Per case, how many events of each action its log holds."""
    out: dict[str, Counter] = defaultdict(Counter)
    for case_no, action in conn.execute(select(case_events.c.case_no, case_events.c.action)):
        out[case_no][action] += 1
    return out


def rereported_case_nos(raw: list[dict]) -> set[str]:
    """Closed cases (with a reporter phone) that a later report re-reports: the same phone, grid and category,
    not a patrol report, reported after the close and at most REREPORT_DAYS days after it."""
    later_by_matter: dict[tuple, list[datetime]] = defaultdict(list)
    for c in raw:
        if c["reporter_phone"] and c["source"] != "patrol":
            later_by_matter[(c["reporter_phone"], c["grid_code"], c["category"])].append(c["reported_at"])
    window = timedelta(days=REREPORT_DAYS)
    out = set()
    for c in raw:
        if c["status"] != "closed" or not c["reporter_phone"]:
            continue
        closed_at = c["closed_at"]
        if any(closed_at < t <= closed_at + window
               for t in later_by_matter[(c["reporter_phone"], c["grid_code"], c["category"])]):
            out.add(c["case_no"])
    return out


def case_facts(conn) -> list[CaseFacts]:
    """Every case's facts, from ``cases``' raw columns, ``case_events``, ``regions`` and ``grids``."""
    raw = [dict(r) for r in conn.execute(select(*[cases.c[c] for c in RAW_CASE_COLUMNS])).mappings()]
    paths = region_paths(conn)
    counts = event_counts(conn)
    rereported = rereported_case_nos(raw)
    out = []
    for c in raw:
        closed = c["status"] == "closed"
        ev = counts[c["case_no"]]
        out.append(CaseFacts(
            case_no=c["case_no"],
            month=f"{c['reported_at']:%Y-%m}",
            path=paths[c["grid_code"]],
            category=c["category"],
            source=c["source"],
            status=c["status"],
            resolution_level=c["resolution_level"],
            department_code=c["department_code"],
            closed=closed,
            on_the_spot=bool(c["on_the_spot"]),
            satisfaction=c["satisfaction"],
            close_seconds=seconds_between(c["reported_at"], c["closed_at"]),
            closed_late=None if c["closed_at"] is None else c["closed_at"] > c["due_at"],
            no_feedback_step=c["feedback_at"] is None,
            allowed_seconds=seconds_between(c["reported_at"], c["due_at"]),
            step_seconds={step: seconds_between(c[a], c[b]) for step, (a, b) in STEP_SPANS.items()},
            n_returns=ev["return"],
            n_reassigns=ev["reassign"],
            n_reopens=ev["reopen"],
            rereported=c["case_no"] in rereported,
        ))
    return out


# --- the oracle: buckets and measures ------------------------------------------------------------------------

# Every comparison below is exact (seconds as fractions, constants as their decimals read), so a case exactly
# on an edge falls where the definition puts it, whatever the binary floats of the SQL would round to.

def hour_bucket_index(seconds: Fraction) -> int:
    """Bucket i holds HOUR_BUCKET_EDGES[i] <= hours < HOUR_BUCKET_EDGES[i + 1]; the last is open-ended, and
    anything below the second edge (negative hours included) is bucket 0."""
    for i in range(len(HOUR_BUCKET_EDGES) - 1, 0, -1):
        if seconds >= exact(HOUR_BUCKET_EDGES[i]) * 3600:
            return i
    return 0


def step_limit(f: CaseFacts, step: str) -> Fraction:
    """The step's limit in seconds: its share (STEP_SHARES) of the case's allowed time."""
    return f.allowed_seconds * exact(STEP_SHARES[step])


def ratio_bucket_index(seconds: Fraction, limit: Fraction) -> int:
    """Bucket of time ÷ limit by RATIO_BUCKET_EDGES (lower edges): bucket i holds edge[i] <= ratio < edge[i + 1],
    except that a ratio of exactly 1 is within the limit and so stays in the bucket below 1; the last is
    open-ended.  Compared as time against limit × edge (no division: a limit of 0 needs no special case)."""
    for i in range(1, len(RATIO_BUCKET_EDGES)):
        upper = limit * exact(RATIO_BUCKET_EDGES[i])
        if seconds < upper or (RATIO_BUCKET_EDGES[i] == 1.0 and seconds == upper):
            return i - 1
    return len(RATIO_BUCKET_EDGES) - 1


def integrity_flags(f: CaseFacts) -> dict[str, int]:
    """The integrity checks on the closure rate (metrics.py), each 0/1 on closed cases, and the process counts."""
    fast = f.closed and not f.on_the_spot and f.close_seconds < exact(FAST_CLOSE_HOURS) * 3600
    no_feedback = f.closed and not f.on_the_spot and f.no_feedback_step
    reopened = f.closed and f.n_reopens > 0
    rereported = f.closed and f.rereported
    return {
        "n_fast_close": int(fast),
        "n_no_feedback": int(no_feedback),
        "n_reopened": int(reopened),
        "n_rereported": int(rereported),
        "n_flagged": int(fast or no_feedback or reopened or rereported),
        "n_returned": int(f.n_returns > 0),
        "n_bounced": int(f.n_returns >= BOUNCE_RETURNS),
        "sum_returns": f.n_returns,
        "sum_reassigns": f.n_reassigns,
    }


def case_measures(f: CaseFacts) -> dict[str, float]:
    """One case's contribution to a case_summary row."""
    m = {
        "n": 1,
        "n_on_the_spot": int(f.closed and f.on_the_spot),
        "n_closed_late": int(f.closed and bool(f.closed_late)),
        "sum_seconds": whole_seconds(f.close_seconds),
        "n_satisfaction": int(f.satisfaction is not None),
        "sum_satisfaction": f.satisfaction or 0,
    }
    m.update({f"h{i}": 0 for i in range(len(HOUR_BUCKET_EDGES))})
    if f.closed and f.close_seconds is not None:
        m[f"h{hour_bucket_index(f.close_seconds)}"] = 1
    m.update(integrity_flags(f))
    m.update(outcome_flags(f))
    return m


def outcome_flags(f: CaseFacts) -> dict[str, int]:
    """The outcome rates' counts (三率, metrics.py): reached acceptance, accepted within the 受理 step's limit,
    resolved (closed, never reopened, not rated 1–2), rated 4–5."""
    accept = f.step_seconds["accept"]
    unsatisfied = f.satisfaction is not None and f.satisfaction <= UNSATISFIED_MAX
    return {
        "n_accepted": int(accept is not None),
        "n_accepted_in_time": int(accept is not None and accept <= step_limit(f, "accept")),
        "n_resolved": int(f.closed and f.n_reopens == 0 and not unsatisfied),
        "n_satisfied": int(f.satisfaction is not None and f.satisfaction >= SATISFIED_MIN),
    }


def process_measures(f: CaseFacts) -> dict[str, float]:
    """One case's contribution to a process_summary row: closed, on time, returns, reassignments, and per step
    whether it was reached, its hours, within its limit and its hours ÷ limit bucket; the handle-hours
    histogram."""
    m = {
        "n": 1,
        "n_closed": int(f.closed),
        "n_on_time": int(f.closed and not f.closed_late),
        "sum_returns": f.n_returns,
        "sum_reassigns": f.n_reassigns,
        "n_returned": int(f.n_returns > 0),
        "n_bounced": int(f.n_returns >= BOUNCE_RETURNS),
    }
    for step in STEP_SPANS:
        seconds, limit = f.step_seconds[step], step_limit(f, step)
        m[f"{step}_n"] = int(seconds is not None)
        m[f"{step}_within"] = int(seconds is not None and seconds <= limit)
        m[f"{step}_seconds"] = whole_seconds(seconds)
        m.update({f"{step}_r{i}": 0 for i in range(len(RATIO_BUCKET_EDGES))})
        if seconds is not None:
            m[f"{step}_r{ratio_bucket_index(seconds, limit)}"] = 1
    m.update({f"hh{i}": 0 for i in range(len(HOUR_BUCKET_EDGES))})
    if f.step_seconds["handle"] is not None:
        m[f"hh{hour_bucket_index(f.step_seconds['handle'])}"] = 1
    return m


def grid_measures(f: CaseFacts) -> dict[str, float]:
    """One case's contribution to a grid_summary row: a case, and a patrol report if the grid's patrol made it."""
    return {"n": 1, "n_patrol": int(f.source == "patrol")}


def dims_of(f: CaseFacts, dims: Iterable[str]) -> tuple:
    values = {**f.path, "month": f.month, "category": f.category, "status": f.status,
              "resolution_level": f.resolution_level, "department_code": f.department_code}
    return tuple(values[d] for d in dims)


def group_sum(facts: list[CaseFacts], dims: tuple[str, ...], measures: Callable[[CaseFacts], dict]) -> dict:
    """{dims: {measure: sum}} over the cases, one row per combination that holds at least one case."""
    out: dict[tuple, dict] = {}
    for f in facts:
        row = out.setdefault(dims_of(f, dims), {})
        for k, v in measures(f).items():
            row[k] = row.get(k, 0) + v
    return out


def expected_rollups(conn) -> dict[str, dict]:
    """Every roll-up as the definitions make it from the raw rows."""
    facts = case_facts(conn)
    return {
        case_summary.name: group_sum(facts, CASE_DIMS, case_measures),
        case_summary_county.name: group_sum(facts, COUNTY_DIMS, case_measures),
        process_summary.name: group_sum(facts, PROCESS_DIMS, process_measures),
        grid_summary.name: group_sum(facts, GRID_DIMS, grid_measures),
    }


# --- the comparison --------------------------------------------------------------------------------------------

ROLLUPS = ((case_summary, CASE_DIMS), (case_summary_county, COUNTY_DIMS), (process_summary, PROCESS_DIMS),
           (grid_summary, GRID_DIMS))


def rollup_differences(conn, table, dims: tuple[str, ...], expected: dict) -> list[str]:
    """What in ``table`` differs from ``expected``: missing, extra and duplicated rows, measure columns the
    oracle does not define, and each measure that differs (counts exactly, floats to rel 1e-9)."""
    measures = [c for c in table.columns if c.name not in dims]
    floats = {c.name for c in measures if isinstance(c.type, Float)}
    diffs = []
    if expected:  # (an empty table defines nothing)
        defined = set().union(*(row.keys() for row in expected.values()))
        for name in sorted({c.name for c in measures} - defined):
            diffs.append(f"{table.name}: column {name} has no definition in the oracle")
        for name in sorted(defined - {c.name for c in measures}):
            diffs.append(f"{table.name}: the oracle defines {name}, which the table does not have")
    actual: dict[tuple, dict] = {}
    for row in conn.execute(select(table)).mappings():
        key = tuple(row[d] for d in dims)
        if key in actual:
            diffs.append(f"{table.name} {key}: row duplicated")
        actual[key] = {c.name: row[c.name] for c in measures}
    for key in sorted(expected.keys() - actual.keys(), key=repr):
        diffs.append(f"{table.name} {key}: row missing (expected {_nonzero(expected[key])})")
    for key in sorted(actual.keys() - expected.keys(), key=repr):
        diffs.append(f"{table.name} {key}: unexpected row {_nonzero(actual[key])}")
    for key in sorted(actual.keys() & expected.keys(), key=repr):
        want, got = expected[key], actual[key]
        for name in sorted(want.keys() & got.keys()):
            ok = got[name] == pytest.approx(want[name], rel=1e-9) if name in floats else got[name] == want[name]
            if not ok:
                diffs.append(f"{table.name} {key}: {name} = {got[name]!r}, the definition gives {want[name]!r}")
    return diffs


def _nonzero(row: dict) -> dict:
    return {k: v for k, v in row.items() if v}


def oracle_differences(conn) -> list[str]:
    """Every difference between the four roll-ups and the oracle, all read on ``conn`` (so inside its transaction)."""
    expected = expected_rollups(conn)
    return [d for table, dims in ROLLUPS for d in rollup_differences(conn, table, dims, expected[table.name])]


def assert_rollups_match_the_definitions(engine, when: str = "") -> None:
    with engine.connect() as conn:
        diffs = oracle_differences(conn)
    assert not diffs, f"{when}: {len(diffs)} difference(s)\n" + "\n".join(diffs[:40])


# --- scenarios ----------------------------------------------------------------------------------------------

LEADER = User(name="测试督办员", role="leader", scope_code=None)


def T(month, day, hour, minute=0, second=0):
    return datetime(2026, month, day, hour, minute, second)


@pytest.fixture
def engine(loaded_engine):
    """The hand-computable fixture (tests/fixtures/metrics), fresh per test, with a second department in each
    county (东县 D2, 西县 D3) so that cases can be reassigned."""
    with loaded_engine.begin() as conn:
        conn.execute(insert(departments), [{"code": "D2", "name": "东县住建局", "region_code": "110"},
                                           {"code": "D3", "name": "西县住建局", "region_code": "120"}])
    return loaded_engine


def test_right_after_the_load_and_the_negative_controls(engine):
    with engine.connect() as conn:
        expected = expected_rollups(conn)
    # the oracle sees the fixture as its README tells it: 10 cases, 3 reported in January 2026 (c01–c03),
    # 3 under the top grid G3 (c05 and c09 in G3, c06 in its micro-grid G3-01), 1 closed late (c02)
    assert sum(r["n"] for r in expected["case_summary"].values()) == 10
    assert sum(r["n"] for k, r in expected["grid_summary"].items() if k[0] == "2026-01") == 3
    assert sum(r["n"] for k, r in expected["grid_summary"].items() if k[-1] == "G3") == 3
    assert sum(r["n_closed_late"] for r in expected["case_summary"].values()) == 1  # c02
    assert sum(r["n_flagged"] for r in expected["case_summary"].values()) == 0
    assert_rollups_match_the_definitions(engine, "after the load")
    assert_each_corruption_is_reported(engine)


# A series of workflow writes: (what, write).  Reports at month edges (the last second of March; 00:00 of
# 1 April in Shanghai given as a UTC time of 31 March), in both townships and a micro-grid; every transition,
# returns up to a bounce, reassignments, reopenings of a case of another month (c10, December 2025) and of one
# settled on the spot, a fast close, re-reports that flag a case in another month's slice, a patrol report
# that is not a re-report.  Each state in between is compared with the definitions.
WRITES: list[tuple[str, Callable]] = [
    ("report e1 at 23:59:59 on 31 March (东镇, G2)", lambda e: report_case(e, NewCase(
        "e1", "G2", "B", "hotline", "楼上漏水", T(3, 31, 23, 59, 59), reporter_phone="13800000001"))),
    ("report e2 at 00:00 on 1 April Shanghai, given in UTC (西镇, micro-grid G3-01)", lambda e: report_case(
        e, NewCase("e2", "G3-01", "A", "online", "楼道堆物", datetime(2026, 3, 31, 16, 0, tzinfo=UTC),
                   reporter_phone="13800000002"))),
    ("report e3 re-reporting c01 (January) in February", lambda e: report_case(e, NewCase(
        "e3", "G1", "A", "hotline", "又吵起来了", T(2, 1, 9), reporter_phone="13900001234"))),
    ("accept c07", lambda e: accept_case(e, "c07", T(3, 20, 13))),
    ("dispatch c07 to D1", lambda e: dispatch_case(e, "c07", "D1", T(3, 20, 14))),
    ("return c07", lambda e: return_case(e, "c07", T(3, 20, 15), note="不属于本部门")),
    ("dispatch c07 to D1 again", lambda e: dispatch_case(e, "c07", "D1", T(3, 20, 16))),
    ("handle c07", lambda e: handle_case(e, "c07", T(3, 20, 17))),
    ("return c07 while handling (bounced)", lambda e: return_case(e, "c07", T(3, 20, 18))),
    ("dispatch c07 to D2", lambda e: dispatch_case(e, "c07", "D2", T(3, 20, 19))),
    ("reassign c07 to D1", lambda e: reassign_case(e, "c07", "D1", T(3, 20, 20))),
    ("handle c07", lambda e: handle_case(e, "c07", T(3, 21, 8))),
    ("feedback c07", lambda e: feedback_case(e, "c07", T(3, 21, 9))),
    ("close c07 in time", lambda e: close_case(e, "c07", T(3, 21, 10), "township", satisfaction=4)),
    ("reassign c06 (handling, no department) to D3", lambda e: reassign_case(e, "c06", "D3", T(3, 20, 13))),
    ("feedback c06", lambda e: feedback_case(e, "c06", T(3, 20, 14))),
    ("close c06 late", lambda e: close_case(e, "c06", T(3, 20, 15), "grid")),
    ("reopen c06", lambda e: reopen_case(e, "c06", T(3, 22, 9), note="未解决")),
    ("reopen c10 (reported 31 December 2025)", lambda e: reopen_case(e, "c10", T(3, 21, 9))),
    ("feedback c10", lambda e: feedback_case(e, "c10", T(3, 21, 10))),
    ("close c10", lambda e: close_case(e, "c10", T(3, 21, 11), "village", satisfaction=5)),
    ("dispatch c08 to the grid itself", lambda e: dispatch_case(e, "c08", None, T(3, 20, 13))),
    ("accept e1 on 1 April", lambda e: accept_case(e, "e1", T(4, 1, 0, 0, 1))),
    ("dispatch e1", lambda e: dispatch_case(e, "e1", "D1", T(4, 1, 0, 10))),
    ("handle e1", lambda e: handle_case(e, "e1", T(4, 1, 0, 20))),
    ("feedback e1", lambda e: feedback_case(e, "e1", T(4, 1, 0, 30))),
    ("close e1 within the hour (fast)", lambda e: close_case(e, "e1", T(4, 1, 0, 40), "township")),
    ("report e4 re-reporting e1 (March slice flagged from April)", lambda e: report_case(e, NewCase(
        "e4", "G2", "B", "walk_in", "还是漏水", T(4, 5, 9), reporter_phone="13800000001"))),
    ("report e5 by patrol, same phone (no re-report)", lambda e: report_case(e, NewCase(
        "e5", "G2", "B", "patrol", "巡查发现漏水", T(4, 6, 9), reporter_phone="13800000001"))),
    ("accept e2", lambda e: accept_case(e, "e2", T(4, 1, 8))),
    ("dispatch e2 to D3", lambda e: dispatch_case(e, "e2", "D3", T(4, 1, 9))),
    ("reopen c09 (closed at city level)", lambda e: reopen_case(e, "c09", T(3, 20, 13))),
    ("reopen c01 (settled on the spot, re-reported)", lambda e: reopen_case(e, "c01", T(3, 20, 13))),
    # exactly on the edges: x1 (B, 72 h) accepted and dispatched each exactly at its step's limit (7.2 h:
    # within, last bucket ≤ 1), closed exactly at its due time (on time; 72 h is a lower edge of the hour
    # histogram); x2 (A) closed exactly 1 h after its report (not implausibly fast); x3 re-reports x1 exactly
    # 30 days after its close (still a re-report)
    ("report x1", lambda e: report_case(e, NewCase(
        "x1", "G1", "B", "hotline", "噪音扰民", T(3, 20, 8), reporter_phone="13700000001"))),
    ("accept x1 at its step limit", lambda e: accept_case(e, "x1", T(3, 20, 15, 12))),
    ("dispatch x1 at its step limit", lambda e: dispatch_case(e, "x1", "D2", T(3, 20, 22, 24))),
    ("handle x1", lambda e: handle_case(e, "x1", T(3, 22, 8, 24))),
    ("feedback x1", lambda e: feedback_case(e, "x1", T(3, 22, 20))),
    ("close x1 at its due time", lambda e: close_case(e, "x1", T(3, 23, 8), "township", satisfaction=5)),
    ("report x2", lambda e: report_case(e, NewCase("x2", "G3", "A", "meeting", "占道经营", T(3, 20, 9)))),
    ("accept x2", lambda e: accept_case(e, "x2", T(3, 20, 9, 10))),
    ("dispatch x2", lambda e: dispatch_case(e, "x2", None, T(3, 20, 9, 20))),
    ("handle x2", lambda e: handle_case(e, "x2", T(3, 20, 9, 30))),
    ("feedback x2", lambda e: feedback_case(e, "x2", T(3, 20, 9, 40))),
    ("close x2 one hour after its report", lambda e: close_case(e, "x2", T(3, 20, 10), "grid")),
    ("report x3 30 days after x1 closed", lambda e: report_case(e, NewCase(
        "x3", "G1", "B", "walk_in", "噪音又来了", T(4, 22, 8), reporter_phone="13700000001"))),
]


def test_after_each_workflow_write(engine):
    for what, write in WRITES:
        write(engine)
        assert_rollups_match_the_definitions(engine, f"after {what}")
    with engine.connect() as conn:
        expected = expected_rollups(conn)
    total = Counter()
    for row in expected["case_summary"].values():
        total.update(row)
    # the series reached what it was written for (else the comparisons above proved less than they claim)
    assert total["n"] == 18 and total["n_fast_close"] == 1 and total["n_bounced"] == 1
    assert total["n_reopened"] == 1 and total["n_rereported"] == 2 and total["sum_reassigns"] == 2
    x1 = expected["process_summary"][("2026-03", None, "100", "110", "111", "B", "D2")]
    assert (x1["accept_within"], x1["accept_r3"], x1["dispatch_within"], x1["dispatch_r3"], x1["n_on_time"]) == \
        (1, 1, 1, 1, 1)
    assert {k[0] for k in expected["case_summary"]} >= {"2025-12", "2026-01", "2026-02", "2026-03", "2026-04"}


def test_a_step_exactly_on_a_ratio_edge_is_in_the_bucket_it_starts(engine):
    report_case(engine, NewCase("r1", "G1", "A", "hotline", "噪音扰民", T(3, 20, 10)))
    accept_case(engine, "r1", T(3, 20, 10, 36))  # 36 min = 25 % of the 2.4 h accept limit of a 24 h case
    assert_rollups_match_the_definitions(engine, "after a step of exactly a quarter of its limit")


def fake_clock(start: datetime, step: timedelta):
    """A clock that moves on ``step`` each time it is read (a run does not depend on the machine's speed)."""
    t = [start]

    def now():
        t[0] += step
        return t[0]
    return now


def test_every_few_steps_of_the_live_feed(engine):
    # 2 × 15 deterministic steps, 61 minutes apart from 31 March 10:00 to 1 April 16:30: the feed reports and
    # moves cases across the end of March (on SQLite it also returns, re-reports and supervises; PostgreSQL's
    # collation orders the case numbers otherwise, so its picks differ)
    clock = fake_clock(T(3, 31, 10), timedelta(minutes=61))
    taken: Counter = Counter()
    for seed in (9, 109):
        taken += live.run(engine, rate=0, steps=15, seed=seed, clock=clock, out=None)
        assert_rollups_match_the_definitions(engine, f"after the live feed's run with seed {seed} ({dict(taken)})")
    for action in ("report", "accept", "dispatch", "close"):
        assert taken[action] > 0, taken
    with engine.connect() as conn:
        months = set(conn.execute(select(cases.c.report_month).where(cases.c.case_no.like("LD%"))).scalars())
    assert months == {"2026-03", "2026-04"}


def test_after_supervision_orders_and_a_time_limit_change(engine):
    first = issue_supervision(engine, LEADER, SupervisionOrder("c07", "red", T(3, 25, 12), "限期办结"),
                              now=T(3, 20, 12))
    issue_supervision(engine, LEADER, SupervisionOrder("c06", "normal", T(3, 25, 12), "请尽快处置"),
                      now=T(3, 20, 13))
    assert_rollups_match_the_definitions(engine, "after issuing orders on c07 and c06")
    # the case moves on under its order, then the orders are resolved (the fixture's SV1 on c08 as well)
    accept_case(engine, "c07", T(3, 20, 14))
    dispatch_case(engine, "c07", "D2", T(3, 20, 15))
    resolve_supervision(engine, LEADER, first, now=T(3, 20, 16))
    resolve_supervision(engine, LEADER, "SV1", now=T(3, 20, 17))
    assert_rollups_match_the_definitions(engine, "after resolving the orders on c07 and c08")

    # A to 3 working days and back: c02 (A, reported Saturday 10 January, closed 01-11 10:00, 2 h after its
    # 24 h limit) is in time under the rule (due Wednesday 14 January 23:59:59); every A case's step limits move
    report_case(engine, NewCase("t1", "G3", "A", "hotline", "噪音扰民", T(3, 20, 9)))
    for working_days in (3, None):
        time_limits.set_rule(engine, "A", working_days=working_days)
        assert_rollups_match_the_definitions(engine, f"after set_rule('A', working_days={working_days})")
        with engine.connect() as conn:
            due = conn.execute(select(cases.c.reported_at, cases.c.due_at).where(cases.c.category == "A")).all()
            late = sum(r["n_closed_late"] for r in expected_rollups(conn)["case_summary"].values())
        if working_days:  # due_at is a raw input of the oracle: check it against the calendar's definition
            assert all(d == time_limits.working_deadline(r, working_days) for r, d in due)
        assert late == (0 if working_days else 1)
        if working_days:
            accept_case(engine, "t1", T(3, 20, 10))
            dispatch_case(engine, "t1", "D3", T(3, 20, 11))
            assert_rollups_match_the_definitions(engine, "after moving a case of A under the rule")


# --- negative controls: the comparison must be able to fail ----------------------------------------------------

# (what, the roll-ups it must show in, a phrase one of the differences must hold, the corrupting statement)
CORRUPTIONS = [
    ("case_summary: one more case in c02's row", ("case_summary",), "n = 2, the definition gives 1",
     lambda: update(case_summary).where(case_summary.c.month == "2026-01", case_summary.c.township_code == "111",
                                        case_summary.c.resolution_level == "village").values(n=case_summary.c.n + 1)),
    ("case_summary_county: c02 (26 h) moved to the hour bucket below", ("case_summary_county",), "h9 = 1",
     lambda: update(case_summary_county).where(case_summary_county.c.month == "2026-01",
                                               case_summary_county.c.resolution_level == "village")
     .values(h9=case_summary_county.c.h9 + 1, h10=case_summary_county.c.h10 - 1)),
    ("process_summary: c09's handle hours off by one second", ("process_summary",), "handle_seconds =",
     lambda: update(process_summary).where(process_summary.c.month == "2026-03",
                                           process_summary.c.township_code == "121", process_summary.c.category == "B")
     .values(handle_seconds=process_summary.c.handle_seconds + 1)),
    ("grid_summary: a row missing", ("grid_summary",), "row missing",
     lambda: delete(grid_summary).where(grid_summary.c.month == "2026-02", grid_summary.c.top_grid_code == "G3")),
    ("grid_summary: a row duplicated", ("grid_summary",), "row duplicated",
     lambda: insert(grid_summary).from_select([c.name for c in grid_summary.columns], select(grid_summary).where(
         grid_summary.c.month == "2026-02", grid_summary.c.top_grid_code == "G3"))),
    ("cases: c02's satisfaction changed behind the roll-ups' back", ("case_summary", "case_summary_county"),
     "sum_satisfaction = 3, the definition gives 1",
     lambda: update(cases).where(cases.c.case_no == "c02").values(satisfaction=1)),
    ("case_events: a return of c09 logged behind the roll-ups' back",
     ("case_summary", "case_summary_county", "process_summary"), "sum_returns = 0, the definition gives 1",
     lambda: insert(case_events).values(case_no="c09", seq=7, at=T(3, 7, 0), action="return")),
]


def assert_each_corruption_is_reported(engine) -> None:
    """The negative control: each corruption, made and rolled back in one transaction, shows as differences in
    exactly the roll-ups it touches, one of them naming what was changed; afterwards nothing differs."""
    with engine.connect() as conn:
        for what, tables, phrase, corruption in CORRUPTIONS:
            trans = conn.begin()
            try:
                conn.execute(corruption())
                diffs = oracle_differences(conn)
            finally:
                trans.rollback()
            assert diffs, what
            assert {d.split(" ")[0] for d in diffs} == set(tables), (what, diffs)
            assert any(phrase in d for d in diffs), (what, diffs)
            assert not oracle_differences(conn), f"{what}: not rolled back"
            conn.rollback()  # end the reading transaction the check began
