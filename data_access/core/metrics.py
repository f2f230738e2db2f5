"""The one definition of each measure the dashboard shows.

Every view computes its numbers from these, whether the counts come from the
``case_summary`` roll-up or straight from ``cases``; a help text in the UI
quotes the same wording (ui/i18n.py keys ``help.*``).  The columns of ``cases``
these measures are computed from, where they are derived rather than given by
the dataset (hours to close, closed late, late hours, step hours, …), are
defined once in data_access/core/derived.py: a Python function per value and
its SQL twin beside it.  Where each measure and each derived column is used:
the section "Where they are used" at the end.

- **case**: a case *reported* in the selected period and region.
- **closed** (办结): ``status = 'closed'``.  **open**: any other status.
- **closure rate** (办结率) = closed ÷ cases.
- **on time** (按时办结): closed, and ``closed_at <= due_at``.
  **on-time rate** = on time ÷ closed.
- **overdue** (超期): open with ``due_at`` before now, or closed after ``due_at``.
  **open overdue** (在办超期): open with ``due_at`` before now.
  ``due_at`` is the *approved* due time: the time-limit rule's, moved by the case's approved extensions
  (延期, see **due time** below), so on time, overdue, open overdue and overdue by all use it.
- **settled on the spot** (就地化解): closed with ``on_the_spot``;
  its share = settled on the spot ÷ closed.
- **response rate** (响应率, 三率 of 接诉即办) = accepted within the 受理 step's limit ÷ (cases that reached
  acceptance (``accepted_at`` set) + open cases not accepted whose 受理 limit has already passed, as of now).
  The 受理 limit is the step's share (``STEP_SHARES["accept"]``) of the case's allowed time, as the supervision
  centre's step time and the escalation rules read it (core/escalation.step_limit_sql); within = ``accept_hours``
  ≤ that limit.  An open case not accepted and past its limit is plainly not accepted within it: it counts as a
  failure now, before anyone accepts it (then it stays a failure, accepted late).  An open case not accepted and
  still within its limit is left out until it is accepted or its limit passes; a case closed without ever being
  accepted (on the spot) is left out too.  The accepted counts are roll-up counts; the open unaccepted cases past
  their limit depend on the clock, so they are counted live (core/counting.unaccepted_late: the roll-ups' open
  unaccepted cases less those still within the limit, read through ``ix_cases_open_by_due`` from now on) and
  added in that one place for the Overview, the ranking and the bulletin.
- **resolution rate** (解决率) = resolved ÷ cases, shown beside the closure rate; **resolved**: closed, never
  reopened (no ``reopen`` event), and not rated **unsatisfied** when a rating exists.  Ratings are the
  dataset's ``satisfaction`` 1–5 (docs/DATA_CONTRACT.md): **unsatisfied** = 1–2 (``UNSATISFIED_MAX``), 3
  neutral, **satisfied** = 4–5 (``SATISFIED_MIN``).
- **satisfaction rate** (满意率) = cases rated 4–5 ÷ cases rated (the **mean satisfaction** beside it is the
  mean score of the rated cases).
- **against the siblings** (与同级比较): a region's three rates beside the mean of the same rates of its
  siblings (the other children of its parent: a county against the other counties of its city; a city
  against the other cities at the top of the tree), each sibling's rate weighing the same, siblings without
  the rate's denominator left out; only siblings inside the user's jurisdiction (queries/overview.py).
- **resolution level** (化解层级): the level a closed case was settled at:
  grid, village, township, county, city.
- **median hours to close** (办结用时中位数): the median of
  ``closed_at - reported_at`` in hours over closed cases, read from a
  histogram with the bucket edges below and linear interpolation inside the
  bucket (exact to within one bucket: ≤ 1 h below 4 h, ≤ 12 h below 2 days).
  The same histogram is used for every selection, so a region's median
  and the city's are computed the same way at any scale.
- **overdue by** (超期时长): hours from ``due_at`` to now (open) or to
  ``closed_at`` (closed); positive = overdue.
- **step time** (环节用时): hours from entering the previous step to entering
  this one (受理 counts from the report); each step's limit is its share
  (``STEP_SHARES``) of the case's allowed time (``due_at - reported_at``: the
  category's limit in calendar hours, or in working days where a rule says so,
  see data_access/core/time_limits.py), and the shares add up to 1.  A step is
  **within its limit** when its time ≤ its limit.
- **due time** (办理时限, ``due_at``): calendar-hours categories keep the due
  time of the dataset (report + the category's limit); a category configured
  in working days is due at the end of the N-th working day after the report
  day (Chinese public holidays off, 调休 make-up days on).  An approved extension
  request (延期, data_access/writes/extensions.py) moves it by its days or working
  days; the time without extensions is the **original due time** (原办理时限).
  One definition: core/time_limits.apply_rules.
- **returned** (回退): a case with at least one ``return`` event;
  **bounced** (反复退回): returned ``BOUNCE_RETURNS`` (2) or more times, i.e.
  dispatched, returned and re-dispatched at least twice.  **reassigned** (改派):
  ``reassign`` events.  **reopened** (重新打开): at least one ``reopen`` event.
- **integrity checks on the closure rate** (办结质量核查), each on closed cases:
  **closed implausibly fast** (异常速办): closed less than ``FAST_CLOSE_HOURS``
  (1 h) after the report without being settled on the spot;
  **closed without feedback** (未反馈即办结): not settled on the spot and no
  反馈 step (``feedback_at`` empty); **reopened** (see above);
  **re-reported** (办结后重复上报): a later case from the same reporter (phone),
  grid and category, not a patrol report, within ``REREPORT_DAYS`` (30) days
  after closing.  A closed case with any of these is **flagged**; the
  **verified closure rate** (核实办结率) = (closed − flagged) ÷ cases, shown
  beside the official closure rate.
- **open backlog** (在办积案): cases open now, whatever their report date;
  **overdue backlog at a moment** (超期积压): open at that moment and past
  their due time then (``filters.open_overdue_at_condition``); buckets of age
  and of days overdue: data_access/queries/supervision/backlog.py.
- **monthly ranking** (月度排名): units scored on the Wilson lower bounds of
  the closure and on-time rates, the overdue backlog at month end and
  satisfaction, with weights; the exact rules: data_access/queries/supervision/ranking.py.
- **supervision-order effect** (督办成效): orders issued in the period, hours
  from the order to the case's close by grade, repeat orders, orders past
  their own deadline: data_access/queries/supervision/effect.py.  **bounce pairs**
  (部门间退转): the department that returned a case → the one it went to
  next: data_access/queries/supervision/process.py.
- **grid staffing** (网格力量): active posts by role (a former holder counts
  for nothing); **residents per grid worker** = residents of the grids ÷
  active grid workers; **coverage** = grids with an active worker ÷ grids;
  the **3+1+N** checks (townships without a chief grid leader, grids without
  a grid leader, an active worker or a liaison, micro-grids without a leader,
  villages without a volunteer team) and the grid workers' **workload**
  (cases reported in the grid ÷ its active workers ÷ months of the period,
  with overloaded and quiet grids against the median): data_access/queries/staffing.py.
- **volunteer teams** (志愿服务): members, the period's activities,
  participants and volunteer hours (participants × hours), **inactive
  teams** (no activity in the last N days and founded more than N days ago):
  data_access/queries/volunteers.py.
- **idle-asset revitalisation** (三资盘活): quantities per kind in their own
  units, revenue (what the owner received, 万元), the 保底+分成 check (each
  recorded month owes the yearly guarantee ÷ 12; above it the share, below it
  the shortfall), visitors per day, projects not operating yet:
  data_access/queries/assets.py.
- **clean-governance units** (清廉单元): units against the eligible villages and
  townships, the monthly ranking by score with rank change, rated good, named
  in the bulletin, a unit's history: data_access/queries/clean_units.py.

Where they are used
-------------------

Measures (the constants and functions of this module in brackets):

- **case, closed, open, closure rate, on time, on-time rate, settled on the spot, resolution level**
  [``STATUSES``, ``RESOLUTION_LEVELS``, :class:`CaseKpis`, :func:`ratio`]: counted per slice by the roll-ups
  (core/rollups.py → ``case_summary``, ``case_summary_county``) or straight from ``cases`` where they
  cannot answer (queries/overview.py); :class:`CaseKpis` carries them to the Overview (ui/data.py,
  pages/overview.py), the monthly ranking (queries/supervision/ranking.py) and the bulletin (ui/bulletin.py);
  the closure rate beside the verified one in queries/supervision/integrity.py.
- **overdue, open overdue, overdue by**: the conditions and hours in core/filters.py
  (``open_overdue_condition``, ``open_overdue_at_condition``, ``overdue_hours_expr``), used by
  queries/overview.py, queries/cases.py (the workbench's sort and column), queries/case_export.py,
  queries/supervision/backlog.py, process.py and ranking.py.
- **overdue by, in days** [:func:`overdue_days`]: the workbench list's 超期（天） (ui/case_list.py), the case's
  badge (ui/case_panel.py) and the export's column (queries/case_export.py).
- **median hours to close** [``HOUR_BUCKET_EDGES``, ``BUCKET_COLUMNS``, :func:`hour_bucket_sql`,
  :func:`median_from_histogram`]: the histogram columns of the roll-ups (core/rollups.py; their number is
  schema.N_HOUR_BUCKETS), read by queries/overview.py; the same histogram and median in
  queries/supervision/effect.py (hours from an order to the close) and process.py.
- **step time, its limit, within the limit** [``STEPS``, ``STEP_SHARES``, ``EDGE_SLACK_HOURS``,
  ``RATIO_BUCKET_EDGES``]: core/rollups.py (``step_limit_expr``, ``within_limit_sql``, ``ratio_bucket_sql`` →
  ``process_summary``), queries/supervision/process.py, the case detail's step table
  (queries/cases.py ``step_times``), pages/supervision.py; migration 0010 rebuilt ``process_summary`` when
  ``EDGE_SLACK_HOURS`` came in.
- **due time**: core/time_limits.py (the working-day rule and the approved extensions; applied after a load,
  a sync, by ``set_rule`` and by writes/extensions.py, ``due_at_for`` for a new case), derived.calendar_due_at
  (calendar hours); every overdue measure reads it.  The extension requests are read by queries/extensions.py
  (the case panel's history, the supervision centre's extensions by unit).
- **returned, bounced, reassigned, reopened** [``BOUNCE_RETURNS``]: the event counts on ``cases`` (see
  below), added up by core/rollups.py (``process_flags``, ``integrity_flags``), read by
  queries/supervision/process.py and pages/supervision.py.
- **integrity checks, verified closure rate** [``FAST_CLOSE_HOURS``, ``REREPORT_DAYS``]: core/rollups.py
  (``integrity_flags``, ``integrity_measures`` → ``case_summary``), queries/supervision/integrity.py; the
  re-report rule is derived.rereports_sql, run by core/derive.py after a load and by writes/workflow.py
  when a new report or a close may make one.
- **repeat cases (重复件)** [``DUP_WINDOW_DAYS``, ``DUP_MIN_SCORE``, ``DUP_MIN_MATTER``, ``DUP_MAX_COMPARE``]: core/duplicates.py
  (detection: the same village and category within the window, the titles' numbers agreeing, text similar by
  character bigrams, or a re-call on the same matter, derived.same_matter), writes/duplicates.py (confirm,
  reject, undo), queries/supervision/duplicates.py and ui/supervision/duplicates.py; **chronic places and reporters**
  [``CHRONIC_DAYS``, ``CHRONIC_MIN_CASES``]: queries/supervision/duplicates.py.
- **open backlog, monthly ranking, supervision-order effect, bounce pairs, staffing, volunteers, assets,
  clean units**: only in the modules named with their definitions above, which use :func:`ratio` for
  every rate (as do all queries/ modules).
- The vocabularies [``STATUSES``, ``RESOLUTION_LEVELS``, ``SOURCES``, ``REGION_LEVELS``]: the interchange
  format (core/contract.py, and so the loader's checks in ingest/), the writes (writes/workflow.py), the
  derived ancestor codes (core/derived.py), the UI's labels and exports (ui/charts.py, ui/export.py,
  pages/cases.py).

Derived columns of ``cases`` (defined in core/derived.py; "set" = computed and stored, "read" = used):

- **ancestor codes** (``province_code`` … ``village_code``, ``top_grid_code``): set by the loader
  (ingest/, once per grid) and writes/workflow.report_case; read by core/filters.py (the region selection),
  core/rollups.py (the roll-ups' dimensions), queries/staffing.py.
- **report_month**: set by the loader and report_case; read by core/rollups.py (the month of a slice) and
  queries/overview.py.
- **hours_to_close**: set by the loader and writes/workflow.close_case (cleared by reopen_case); read by
  core/rollups.py (the histogram, ``sum_seconds``, closed implausibly fast), queries/overview.py,
  queries/supervision/integrity.py, queries/case_export.py.
- **closed_late, late_hours**: set by the loader, close_case (cleared by reopen_case) and, in SQL, by
  core/time_limits.apply_rules when the due time moves; read by core/filters.py (overdue, overdue by),
  core/rollups.py (``n_closed_late``, on time), queries/overview.py, queries/cases.py (sort by time
  overdue), queries/supervision/backlog.py and ranking.py.
- **source_due_at**: set by the loader (the dataset's due time as read) and report_case
  (derived.calendar_due_at); read by core/time_limits.apply_rules (back to calendar hours) and
  ingest/exporter.py (a dataset exports its own due time).
- **allowed_hours** and the **step hours** (``accept_hours`` … ``feedback_hours``): set by the loader (Python),
  by core/derive.derive_step_hours after every workflow write (SQL), and ``allowed_hours`` by
  core/time_limits.apply_rules (SQL); read by core/rollups.py (``process_summary``: step time against its
  limit, summed as whole seconds ``<step>_seconds``), and so queries/supervision/process.py (:func:`mean_hours`).
- **n_returns, n_reassigns, n_reopens, rereported** (SQL only: they depend on other rows): set by
  core/derive.py after a load and after the writes that change them (writes/workflow.py); read by
  core/rollups.py, queries/supervision/process.py and integrity.py.

Rates and where they are used
-----------------------------

Every rate that more than one place shows is computed by one function below
(each a :func:`ratio`: None when there is nothing to divide by); the places
call it instead of dividing on their own.  "Shown by" names the pages and ui
modules that display the computed value.

- :func:`on_time_count` (closed − closed late): core/counting.py (CaseKpis),
  queries/overview.py (child ranking), queries/supervision/ranking.py.
- :func:`closure_rate`: CaseKpis.closure_rate (here; core/counting.py fills
  it), queries/overview.py (child_region_ranking),
  queries/supervision/integrity.py (IntegrityReport and the table by child
  region), queries/supervision/ranking.py (the point estimate beside its
  Wilson bounds).  Shown by pages/overview.py, pages/cases.py,
  pages/supervision.py, ui/bulletin.py.
- :func:`on_time_rate`: CaseKpis.on_time_rate, queries/overview.py,
  queries/supervision/ranking.py, queries/supervision/process.py (a
  department's ``on_time_share``).  Shown by pages/overview.py,
  pages/supervision.py, ui/bulletin.py.
- :func:`on_the_spot_share`: CaseKpis.on_the_spot_share.  Shown by
  pages/overview.py.
- :func:`mean_satisfaction`: core/counting.py (CaseKpis.satisfaction_avg),
  queries/supervision/ranking.py (``satisfaction_avg`` and its component).
  Shown by pages/overview.py, ui/bulletin.py.
- :func:`response_rate`, :func:`resolution_rate`, :func:`satisfaction_rate` (三率) from the roll-ups'
  ``n_accepted``, ``n_accepted_in_time``, ``n_resolved``, ``n_satisfied`` (core/rollups.outcome_flags, kept by
  the loader, the writes, the sync and the rebuild through the roll-ups), the response rate's live
  ``n_unaccepted_late`` added to them by core/counting.unaccepted_late (case_counts' column): CaseKpis (here;
  core/counting.py fills it), queries/overview.py (child ranking and ``outcome_rates_vs_siblings``),
  queries/supervision/ranking.py (the columns and the score's optional components).  Shown by
  pages/overview.py, ui/supervision/ranking.py, ui/bulletin.py.
- :func:`verified_closure_rate` and :func:`flagged_share` (the gap):
  queries/supervision/integrity.py, the report and the table by child region.
  Shown by pages/supervision.py.
- :func:`per_1000`: queries/overview.py (``cases_per_1000``),
  queries/volunteers.py (``members_per_1000``, summary and table by child
  region).  Shown by pages/overview.py, pages/volunteers.py.
- :func:`per_grid_worker` (residents and households per grid worker),
  :func:`party_share`: queries/staffing.py, the summary and the table by
  child region.  Shown by pages/staffing.py.
- :func:`coverage`: queries/staffing.py (grids with a worker ÷ grids, summary
  and table), queries/clean_units.py (eligible villages / townships with a
  unit ÷ eligible).  Shown by pages/staffing.py, pages/clean_units.py.

Rates computed in one place only keep their own :func:`ratio` call there: the
integrity share of closed cases per check, the backlog's ``share_overdue``,
the process steps' within-limit share, the supervision orders' shares, the
assets' operating share and guarantee coverage, the clean units' good share.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy import case as sql_case

from data_access.core.schema import N_HOUR_BUCKETS, REGION_LEVELS  # noqa: F401 (REGION_LEVELS: read from here too)

STATUSES = ("reported", "accepted", "dispatched", "handling", "feedback", "closed")
OPEN_STATUSES = STATUSES[:-1]
RESOLUTION_LEVELS = ("grid", "village", "township", "county", "city")
# The workflow after the report, each step with its share of the category's time limit.
STEPS = ("accept", "dispatch", "handle", "feedback", "close")
# Hours and limits are floats (seconds ÷ 3600, times a share, times a bucket edge), so a step that takes
# exactly 25 % of its limit can compare as 0.6 < 0.6000000000000001 and land one bucket low.  Times are
# recorded to the second (1 s = 0.00028 h): comparing with a slack of 1e-6 h (3.6 ms) puts every exact edge
# where the definition says and never moves a time that really differs (tests/test_summary_oracle.py).
EDGE_SLACK_HOURS = 1e-6
STEP_SHARES = {"accept": 0.1, "dispatch": 0.1, "handle": 0.5, "feedback": 0.2, "close": 0.1}
# Integrity checks and process measures (see the docstring).
FAST_CLOSE_HOURS = 1.0
REREPORT_DAYS = 30
BOUNCE_RETURNS = 2
# Repeat cases (重复件, core/duplicates.py) and chronic places (积案, queries/supervision/duplicates.py).
DUP_WINDOW_DAYS = 7  # a later report within this many days of an earlier one may repeat it
# character-bigram Jaccard (of the titles, or of title + description: the higher) from which two cases are proposed
DUP_MIN_SCORE = 0.5
# …and, when both titles name a place (numbers), the bigram Jaccard of what each says after its last number (the
# matter, not the place) from which they are one matter: two matters of one household share the place's bigrams
DUP_MIN_MATTER = 0.2
DUP_MAX_COMPARE = 50  # each case is compared with at most this many earlier cases of its block (skewed blocks)
CHRONIC_DAYS = 90  # the chronic lists count the cases of the last this many days
CHRONIC_MIN_CASES = 3  # a place or a reporter is listed from this many cases in CHRONIC_DAYS
# Lower edges of the buckets of step time ÷ step limit (≤ 1 is within the limit); the last is open-ended.
RATIO_BUCKET_EDGES: tuple[float, ...] = (0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
# The satisfaction scale of the data (1–5, docs/DATA_CONTRACT.md): 4–5 satisfied, 1–2 unsatisfied, 3 neutral.
SATISFIED_MIN = 4
UNSATISFIED_MAX = 2
SOURCES = ("patrol", "hotline", "walk_in", "online", "meeting", "petition", "other")

# Lower edges of the hours-to-close buckets; the last bucket is open-ended.
HOUR_BUCKET_EDGES: tuple[float, ...] = (
    0, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 60, 72, 96, 120, 168, 240, 360, 480, 720, 1080, 1440,
)
assert len(HOUR_BUCKET_EDGES) == N_HOUR_BUCKETS
BUCKET_COLUMNS = tuple(f"h{i}" for i in range(N_HOUR_BUCKETS))


def hour_bucket(hours: float) -> int:
    """Index of the bucket that ``hours`` falls in (Python twin of :func:`hour_bucket_sql`)."""
    b = 0
    for i, edge in enumerate(HOUR_BUCKET_EDGES):
        if hours >= edge:
            b = i
    return b


def hour_bucket_sql(hours: ColumnElement) -> ColumnElement:
    """SQL expression giving the bucket index of an hours column (NULL stays NULL)."""
    whens = [(hours < HOUR_BUCKET_EDGES[i + 1], i) for i in range(N_HOUR_BUCKETS - 1)]
    return sql_case(*whens, else_=N_HOUR_BUCKETS - 1)


def median_from_histogram(counts: Sequence[float]) -> float | None:
    """Median of a distribution given as counts per bucket (None when empty)."""
    total = float(sum(counts))
    if total <= 0:
        return None
    half = total / 2.0
    cum = 0.0
    for i, c in enumerate(counts):
        if c and cum + c >= half:
            lo = HOUR_BUCKET_EDGES[i]
            if i + 1 >= len(HOUR_BUCKET_EDGES):
                return float(lo)
            hi = HOUR_BUCKET_EDGES[i + 1]
            return lo + (hi - lo) * (half - cum) / c
        cum += c
    return float(HOUR_BUCKET_EDGES[-1])


def overdue_days(overdue_hours: float | None) -> float | None:
    """**overdue by, in days** (超期天数) as the workbench's list and its export show it: the overdue-by hours ÷ 24
    when positive; None when the case is not overdue (or the hours are unknown)."""
    if overdue_hours is None or overdue_hours != overdue_hours or overdue_hours <= 0:  # None, NaN, not overdue
        return None
    return overdue_hours / 24


def ratio(num: float, den: float) -> float | None:
    """num ÷ den, or None when there is nothing to divide by (never a ZeroDivisionError)."""
    if not den:
        return None
    r = float(num) / float(den)
    return None if math.isnan(r) else r


def mean_hours(sum_seconds: float, n: float) -> float | None:
    """Mean time in hours from a sum of whole seconds (the roll-ups keep times as seconds, core/rollups.seconds_sql:
    integers add up the same in any order) over ``n`` cases; None when there are none."""
    r = ratio(sum_seconds, n)
    return None if r is None else r / 3600


# --- rates: each one's single computation (see "Rates and where they are used" above) ---------------------

def on_time_count(closed: int, closed_late: int) -> int:
    """On time (按时办结) = closed − closed late."""
    return closed - closed_late


def closure_rate(closed: int, cases: int) -> float | None:
    """Closure rate (办结率) = closed ÷ cases."""
    return ratio(closed, cases)


def on_time_rate(on_time: int, closed: int) -> float | None:
    """On-time rate = on time ÷ closed."""
    return ratio(on_time, closed)


def on_the_spot_share(on_the_spot: int, closed: int) -> float | None:
    """Settled on the spot (就地化解) ÷ closed."""
    return ratio(on_the_spot, closed)


def mean_satisfaction(total: float, scored: int) -> float | None:
    """Mean satisfaction score (1–5) = sum of the scores ÷ the cases with a score."""
    return ratio(total, scored)


def response_rate(accepted_in_time: int, accepted: int, unaccepted_late: int = 0) -> float | None:
    """Response rate (响应率) = accepted within the 受理 step's limit ÷ (cases that reached acceptance + open cases
    not accepted whose 受理 limit has passed, ``unaccepted_late``: core/counting.unaccepted_late)."""
    return ratio(accepted_in_time, accepted + unaccepted_late)


def resolution_rate(resolved: int, cases: int) -> float | None:
    """Resolution rate (解决率) = resolved (closed, never reopened, not rated 1–2) ÷ cases."""
    return ratio(resolved, cases)


def satisfaction_rate(satisfied: int, rated: int) -> float | None:
    """Satisfaction rate (满意率) = cases rated 4–5 ÷ cases rated."""
    return ratio(satisfied, rated)


def verified_closure_rate(closed: int, flagged: int, cases: int) -> float | None:
    """Verified closure rate (核实办结率) = (closed − flagged) ÷ cases."""
    return ratio(closed - flagged, cases)


def flagged_share(flagged: int, cases: int) -> float | None:
    """Official minus verified closure rate = flagged ÷ cases (the integrity gap)."""
    return ratio(flagged, cases)


def per_1000(n: float, population: int) -> float | None:
    """``n`` per 1,000 residents (cases, volunteer team members)."""
    return ratio(n * 1000, population)


def per_grid_worker(n: int, grid_workers: int) -> float | None:
    """``n`` (residents, households) per active grid worker."""
    return ratio(n, grid_workers)


def party_share(party_members: int, staff: int) -> float | None:
    """Party members ÷ active staff."""
    return ratio(party_members, staff)


def coverage(covered: int, eligible: int) -> float | None:
    """Covered ÷ eligible: grids with an active grid worker ÷ grids; villages (townships) with a clean unit
    of their kind ÷ villages (townships)."""
    return ratio(covered, eligible)


@dataclass(frozen=True)
class CaseKpis:
    """The Overview's headline numbers for one selection and period."""

    cases: int = 0
    closed: int = 0
    on_time: int = 0
    closed_late: int = 0
    open: int = 0
    open_overdue: int = 0
    on_the_spot: int = 0
    median_hours_to_close: float | None = None
    satisfaction_avg: float | None = None
    accepted: int = 0
    accepted_in_time: int = 0
    unaccepted_late: int = 0     # open, not accepted, past the 受理 limit as of now (counting.unaccepted_late)
    resolved: int = 0
    rated: int = 0
    satisfied: int = 0

    @property
    def closure_rate(self) -> float | None:
        return closure_rate(self.closed, self.cases)

    @property
    def response_rate(self) -> float | None:
        return response_rate(self.accepted_in_time, self.accepted, self.unaccepted_late)

    @property
    def resolution_rate(self) -> float | None:
        return resolution_rate(self.resolved, self.cases)

    @property
    def satisfaction_rate(self) -> float | None:
        return satisfaction_rate(self.satisfied, self.rated)

    @property
    def on_time_rate(self) -> float | None:
        return on_time_rate(self.on_time, self.closed)

    @property
    def overdue(self) -> int:
        return self.closed_late + self.open_overdue

    @property
    def on_the_spot_share(self) -> float | None:
        return on_the_spot_share(self.on_the_spot, self.closed)
