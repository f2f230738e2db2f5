"""The early-warning engine (风险预警): what is unusual in the cases of each place, as of a day.

Four kinds of warning (``KINDS``), each decided on daily case counts per place and category at four levels
(county, township, village, top grid; the ancestor codes every case carries, core/derived.py):

- ``surge`` (激增): a day's count beyond chance against what that place and category would expect on that
  day.  The expectation is the trimmed mean (scipy.stats.trim_mean, a quarter cut at each end, so that last
  month's spike does not hide this month's) of the same weekday over the last ``HISTORY_WEEKS`` weeks, taking
  only days of the same kind: a working day against working days, a holiday or weekend against rest days (the
  working-day calendar of core/time_limits.py, holidays and 调休 included); a holiday on a Monday is compared
  with the rest days of the last eight weeks.  The count is modelled as negative binomial (scipy.stats.nbinom)
  around it, the over-dispersion estimated once per level from every series of the window (Poisson when there
  is none); a p-value per series and day, the smallest of the day alone and the last 2 … ``MAX_WINDOW`` days
  added up, times ``MAX_WINDOW`` (:func:`window_p`: a sustained rise accumulates); the false discoveries
  controlled across the series tested that day (Benjamini–Hochberg, statsmodels.stats.multitest.multipletests)
  at ``SURGE_FDR``, separately in two families decided from the past only (:func:`_test_level`): *regular*
  series expecting at least ``MIN_EXPECTED_WINDOW`` cases in the window, and *sparse* ones expecting fewer that
  had a case in the ``HISTORY_WEEKS`` weeks before; and a surge must also be material: at least
  ``MIN_OBSERVED`` cases and ``MIN_RATIO`` × the expected count in its window.
- ``backlog`` / ``overdue`` (积压/超期上升): a township's or county's open (or open and overdue) cases at the
  end of each of the last ``TREND_WEEKS`` weeks rise steadily: Kendall's tau (scipy.stats.kendalltau, one-sided)
  across the weeks, controlled for false discoveries like surges, and by at least ``TREND_MIN_RISE`` cases and
  ``TREND_MIN_RATIO`` × the first week.
- ``new_category`` (新类别): at least ``NEW_MIN_CASES`` cases of a category in the last ``WINDOW_DAYS`` days in a
  place that had none in the ``NEW_HISTORY_DAYS`` before, while it did report other cases (``NEW_MIN_HISTORY``).
- ``silent`` (静默): a place that used to report has reported nothing for the last days: the chance of that many
  empty days at its usual rate (scipy.stats.poisson) is beyond chance after the same control.  A silent grid
  may be under-reporting, not calm.

Each is reported at the highest level that explains it (:func:`explain_by_hierarchy`): a rise carried by one
child is reported at the child (one village, not its township); a wider rise at the parent, its children's
warnings dropped where the parent's rise accounts for them (a township-wide rise: one warning, not thirty).

The daily counts are read from the ``case_day_counts`` roll-up (report day × place × category, kept by difference by
the loader, the app's writes and the sync through core/rollups.py), never from ``cases``: a refresh reads the
window's and the year's rows of it, whatever the size of the data; the backlog trends alone read ``cases`` (the cases
open at the week ends, two ranges of ``ix_cases_closed_at``).

A short or empty history gives no warning: a series is tested only from ``MIN_HISTORY_DAYS`` days after the
first case of the data and with at least ``MIN_HISTORY_CASES`` cases in its reference days.

:func:`compute` returns the warnings as of a day (the CLI prints them); :func:`refresh` stores them in the
``warnings`` table keeping the states staff set (the page reads them; :func:`store`: a warning continuing a stored
one of its series keeps that row and its earliest first day, and an open one unseen for ``EXPIRE_DAYS`` expires); the
loader and sync call :func:`refresh_quietly` after committing.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import Engine, and_, delete, func, insert, or_, select, union_all, update
from sqlalchemy import case as sql_case
from statsmodels.stats.multitest import multipletests

from data_access.core import settings
from data_access.core.clock import wall_now
from data_access.core.schema import case_day_counts, cases, data_meta
from data_access.core.schema import warnings as warnings_table
from data_access.core.time_limits import is_workday

log = logging.getLogger(__name__)

KINDS = ("surge", "backlog", "overdue", "new_category", "silent")
STATES = ("new", "acknowledged", "handled", "false_alarm", "expired")
OPEN_STATES = ("new", "acknowledged")  # still waiting for someone; the others are closed
# An open warning last seen more than this many days before the as-of day is no longer current: store() sets it
# to 'expired' (two weeks: a surge over, a silence ended, with nothing renewing them; a recurrence is a new
# warning).  Staff may still close an expired warning as handled or a false alarm.
EXPIRE_DAYS = 14
# The levels tested, top down, with the column of ``cases`` that holds each place's code.
LEVELS = ("county", "township", "village", "grid")
LEVEL_COLUMN = {"county": "county_code", "township": "township_code", "village": "village_code",
                "grid": "top_grid_code"}

HISTORY_WEEKS = 8  # the reference: the same weekday over this many weeks before the day
WINDOW_DAYS = 7  # the days evaluated as of a day (a surge seen in them is current; its first day is "since")
MIN_HISTORY_DAYS = 28  # a day is tested only this long after the data's first case
MIN_HISTORY_CASES = 3  # … and a series only with this many cases in its reference days
MIN_REFERENCE_DAYS = 4  # fewer days of the same weekday and kind: every day of that kind in the 8 weeks
TRIM = 0.25  # trimmed at each end (scipy.stats.trim_mean)
FDR = 0.01  # false-discovery rate (Benjamini–Hochberg) of silences (trends: 5 ×)
SURGE_FDR = 0.05  # … and of surges, across the series tested on a day
MAX_WINDOW = 3  # a surge is tested on the day and on the last 2 and 3 days together (a sustained rise adds up)
MIN_EXPECTED_WINDOW = 1.5  # a series expecting this many cases in MAX_WINDOW days is "regular" …
# … one expecting fewer is "sparse": tested, in a family of its own, only if it had a case in the HISTORY_WEEKS
# weeks before the days evaluated (else it is empty, and a first case is new_category's question)
FAMILIES = ("regular", "sparse")
MIN_OBSERVED = 4  # a surge has at least this many cases in its days …
MIN_RATIO = 2.0  # … and at least this many times the expected count
EXPECTED_FLOOR = 0.2  # the expected count of a day is never below this (a rare category is still rare)
LOCAL_SHARE = 0.7  # one child carrying this share of its parent's excess: the rise is the child's, not wider
BAND = 0.95  # the usual range shown beside a count

TREND_WEEKS = 6  # week ends of the backlog trend (as of the day and 1 … 5 weeks before)
TREND_MIN_RISE = 10  # at least this many more open cases than the first week end …
TREND_MIN_RATIO = 1.25  # … and this many times as many
TREND_LEVELS = ("county", "township")

NEW_HISTORY_DAYS = 365  # a category "new" in a place: none of it in this many days before the window
NEW_MIN_CASES = 2  # at least this many cases of it in the window
NEW_MIN_HISTORY = 20  # the place reported at least this many other cases in the history (it is not new itself)

SILENT_MIN_DAYS = 3  # at least this many empty days in a row up to the day
SILENT_MAX_DAYS = 14  # the silence measured back at most this far
SILENT_LEVELS = ("county", "township", "village", "grid")


@dataclass(frozen=True)
class Warning:
    kind: str
    region_code: str
    level: str
    category: str  # '' = every category (backlog, overdue, silent)
    first_day: date
    last_day: date
    observed: float
    expected: float
    lower: float | None
    upper: float | None
    p_value: float | None
    q_value: float | None
    severity: float


def severity(observed: float, expected: float, q: float | None) -> float:
    """The ranking score: how far from expected (log2 of the ratio, or of the deficit for a silence) times how
    sure (−log10 q, at most 12).  Larger is worse; the page ranks by it."""
    ratio = (observed + 1.0) / (expected + 1.0)
    far = abs(float(np.log2(ratio)))
    sure = min(12.0, -float(np.log10(max(q, 1e-12)))) if q is not None else 2.0
    return round(far * sure, 3)


# --- reading -------------------------------------------------------------------------------------------------

def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def data_days(engine: Engine) -> tuple[date, date] | None:
    """The first and last report day of the data (None without cases): the ends of the day-count roll-up's index
    (at 1.07 M cases, min and max of ``cases.reported_at`` cost 0.6 s each on SQLite)."""
    d = case_day_counts.c.day
    with engine.connect() as conn:
        lo = conn.execute(select(d).order_by(d).limit(1)).scalar()
        hi = conn.execute(select(d).order_by(d.desc()).limit(1)).scalar()
    if lo is None:
        return None
    return date.fromisoformat(lo), date.fromisoformat(hi)


def _frame(conn, stmt, columns: list[str]) -> pd.DataFrame:
    """The rows of ``stmt`` as a frame (built from plain tuples: pandas probes a Row's attributes, slowly)."""
    return pd.DataFrame.from_records([tuple(r) for r in conn.execute(stmt)], columns=columns)


def _read_counts(engine: Engine, d_from: date, d_to: date) -> pd.DataFrame:
    """The cases reported from ``d_from`` to ``d_to`` as rows of the day-count roll-up (``case_day_counts``,
    core/rollups.py): day, category, the four places and ``n`` cases (the window's rows only, read from the
    roll-up's covering index), as a frame: the benchmark's naive rule (bench/warnings.py) reads it;
    :func:`compute` reads the same rows as arrays (:func:`_read_window`)."""
    t = case_day_counts.c
    stmt = (select(t.day, t.category, *(t[LEVEL_COLUMN[lv]] for lv in LEVELS), t.n)
            .where(t.day >= d_from.isoformat(), t.day <= d_to.isoformat()))
    with engine.connect() as conn:
        df = _frame(conn, stmt, ["day", "category", *LEVELS, "n"])
    df["day"] = pd.to_datetime(df["day"], format="%Y-%m-%d")
    return df


@dataclass
class _Counts:
    """The day-count roll-up's rows of a window as arrays, each text an integer code into a sorted list of the
    distinct texts (sorted: a series' position is the one a pandas group-by of the texts gave).  A frame of the
    rows cost more than the statistics at 1.07 M cases (~100,000 rows: pandas' string columns, its group-bys)."""

    days: pd.DatetimeIndex  # the window: one column per day
    day: np.ndarray  # each row's column in ``days``
    n: np.ndarray  # … its cases (float)
    category: np.ndarray  # … its category: an index into ``categories``
    categories: np.ndarray  # the distinct categories, sorted (object: plain str)
    place: dict[str, np.ndarray]  # level → each row's place: an index into ``names[level]`` (−1: none)
    names: dict[str, np.ndarray]  # level → the distinct places, sorted

    @property
    def empty(self) -> bool:
        return len(self.n) == 0

    @classmethod
    def of_columns(cls, days: pd.DatetimeIndex, day: np.ndarray, category, places: dict[str, object], n
                   ) -> "_Counts":
        """From the rows' columns (``day``: each row's column in ``days``; texts: any sequence, None = none)."""
        def codes(values) -> tuple[np.ndarray, np.ndarray]:
            if isinstance(values, np.ndarray):
                arr = np.ascontiguousarray(values, dtype=object)
            else:
                arr = np.empty(len(values), dtype=object)
                arr[:] = list(values)
            if not len(arr):
                return np.zeros(0, dtype=np.int64), np.empty(0, dtype=object)
            code, uniq = pd.factorize(arr, sort=True)
            return code.astype(np.int64), np.asarray(uniq, dtype=object)

        cat, cats = codes(category)
        place, names = {}, {}
        for lv in LEVELS:
            place[lv], names[lv] = codes(places[lv])
        return cls(days, np.asarray(day, dtype=np.int64), np.asarray(n, dtype=float), cat, cats, place, names)

    @classmethod
    def of_frame(cls, df: pd.DataFrame, days: pd.DatetimeIndex) -> "_Counts":
        """From a frame of rows (day as a Timestamp, category, the four places, n): the tests' fixtures."""
        df = df[(df["day"] >= days[0]) & (df["day"] <= days[-1])]  # the window's rows only
        day = (df["day"] - days[0]).dt.days.to_numpy() if len(df) else np.zeros(0, dtype=np.int64)
        none = lambda col: [None if pd.isna(v) else v for v in df[col].tolist()]  # noqa: E731
        return cls.of_columns(days, day, df["category"].tolist(), {lv: none(lv) for lv in LEVELS},
                              df["n"].to_numpy(dtype=float))


def _read_window(engine: Engine, d_from: date, d_to: date) -> _Counts:
    """The rows of the day-count roll-up (``case_day_counts``, core/rollups.py) from ``d_from`` to ``d_to`` as
    :class:`_Counts` (read from the roll-up's covering index, as :func:`_read_counts`, without a frame)."""
    t = case_day_counts.c
    stmt = (select(t.day, t.category, *(t[LEVEL_COLUMN[lv]] for lv in LEVELS), t.n)
            .where(t.day >= d_from.isoformat(), t.day <= d_to.isoformat()))
    with engine.connect() as conn:
        result = conn.execute(stmt)
        # the driver's plain tuples (no column here has a result processor): a Row per row, then its columns
        # pulled apart in Python, cost 0.2 s of CPU at 1.07 M cases; one object array of them 0.03 s
        rows = result.cursor.fetchall()
        result.close()
    days = pd.date_range(pd.Timestamp(d_from), pd.Timestamp(d_to), freq="D")
    width = 3 + len(LEVELS)
    table = np.empty((len(rows), width), dtype=object)
    if rows:
        table[:] = rows
    day_text = np.ascontiguousarray(table[:, 0])
    if len(rows):
        code, uniq = pd.factorize(day_text)
        col_of = np.array([(date.fromisoformat(u) - d_from).days for u in uniq], dtype=np.int64)
        day = col_of[code]
    else:
        day = np.zeros(0, dtype=np.int64)
    return _Counts.of_columns(days, day, table[:, 1], {lv: table[:, 2 + i] for i, lv in enumerate(LEVELS)},
                              table[:, -1].astype(float))


class _ParentOf(dict):
    """place → its parent; and, worked out once, each place's children (:func:`explain_by_hierarchy` asks for them
    on every day evaluated and in every kind of warning: 20,000 places at 1.07 M cases)."""

    @cached_property
    def children(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for code, parent in self.items():
            out.setdefault(parent, []).append(code)
        return out


def _parents(c: _Counts) -> _ParentOf:
    """Each place's parent among the tested levels (grid → village → township → county), from the cases (a place
    with two parents in the rows: the one whose pair came last to appear, as ``drop_duplicates`` had it)."""
    out = _ParentOf()
    for child, parent in zip(LEVELS[1:], LEVELS[:-1]):
        ch, pa = c.place[child], c.place[parent]
        ok = (ch >= 0) & (pa >= 0)
        if not ok.any():
            continue
        width = len(c.names[parent])
        pairs, first_at = np.unique(ch[ok] * width + pa[ok], return_index=True)
        pairs = pairs[np.argsort(first_at)]  # the distinct pairs in order of appearance
        out.update(zip(c.names[child][pairs // width].tolist(), c.names[parent][pairs % width].tolist()))
    return out


def _matrix(c: _Counts, level: str, by_category: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Series × day counts at ``level`` (by category, or all categories together): the series' places and
    categories ('' for all), sorted by place then category, and the matrix."""
    nd = len(c.days)
    ok = c.place[level] >= 0
    if not ok.any():
        return np.empty(0, dtype=object), np.empty(0, dtype=object), np.zeros((0, nd))
    ncat = max(len(c.categories), 1)
    key = c.place[level][ok] * ncat + c.category[ok] if by_category else c.place[level][ok]
    series_keys, row = np.unique(key, return_inverse=True)
    # the sums of whole numbers in floats: exact, as the group-by's integer sums converted
    m = np.bincount(row * nd + c.day[ok], weights=c.n[ok], minlength=len(series_keys) * nd)
    m = m.reshape(len(series_keys), nd)
    if by_category:
        return c.names[level][series_keys // ncat], c.categories[series_keys % ncat], m
    return c.names[level][series_keys], np.full(len(series_keys), "", dtype=object), m


# --- surges --------------------------------------------------------------------------------------------------

def reference_columns(days: pd.DatetimeIndex, j: int, first_day: date) -> list[int]:
    """The columns of ``days`` that are the reference of day ``days[j]``: the same weekday over the last
    HISTORY_WEEKS weeks if of the same kind (working or rest day), else every day of that kind in those weeks;
    only days on or after ``first_day`` (the data's first)."""
    d = days[j].date()
    kind = is_workday(d)
    lo = d - timedelta(weeks=HISTORY_WEEKS)
    pos = {x.date(): i for i, x in enumerate(days)}
    same = [pos[d - timedelta(weeks=w)] for w in range(1, HISTORY_WEEKS + 1)
            if d - timedelta(weeks=w) in pos and d - timedelta(weeks=w) >= first_day
            and is_workday(d - timedelta(weeks=w)) == kind]
    if len(same) >= MIN_REFERENCE_DAYS:
        return same
    x = d - timedelta(days=1)
    out = []
    while x >= lo:
        if x in pos and x >= first_day and is_workday(x) == kind:
            out.append(pos[x])
        x -= timedelta(days=1)
    return out


def expected_counts(ref: np.ndarray) -> np.ndarray:
    """The expected count of each series (rows of ``ref``: its counts on the reference days): the trimmed mean,
    never below EXPECTED_FLOOR."""
    if ref.shape[1] == 0:
        return np.full(ref.shape[0], EXPECTED_FLOOR)
    return np.maximum(stats.trim_mean(ref, TRIM, axis=1), EXPECTED_FLOOR)


def dispersion(m: np.ndarray) -> float:
    """The negative-binomial over-dispersion ``a`` (variance = mean + a·mean²) of a level: the median of the
    moment estimates of its series with a daily mean of at least 1 (0 = Poisson)."""
    if m.size == 0:
        return 0.0
    mean = m.mean(axis=1)
    var = m.var(axis=1, ddof=1) if m.shape[1] > 1 else np.zeros_like(mean)
    ok = mean >= 1.0
    if not ok.any():
        return 0.0
    est = (var[ok] - mean[ok]) / mean[ok] ** 2
    return float(max(0.0, np.median(est)))


class _dist:
    """The count distribution around ``mu``: negative binomial with over-dispersion ``a`` (Poisson when 0).
    scipy's distributions called with their parameters, not frozen: freezing one builds its docstrings, 4 ms
    each, which 500 tests of a refresh paid (2 s of 12 at 100,000 cases); the numbers are the same calls'."""

    def __init__(self, mu: np.ndarray, a: float):
        if a <= 1e-9:
            self.dist, self.args = stats.poisson, (mu,)
        else:
            n = 1.0 / a
            self.dist, self.args = stats.nbinom, (n, n / (n + mu))

    def sf(self, k):
        return self.dist.sf(k, *self.args)

    def ppf(self, q):
        return self.dist.ppf(q, *self.args)


def band(mu: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """The usual range (BAND) of a count around ``mu``."""
    dist = _dist(np.asarray(mu, dtype=float), a)
    return dist.ppf((1 - BAND) / 2), dist.ppf(1 - (1 - BAND) / 2)


def upper_p(observed: np.ndarray, mu: np.ndarray, a: float) -> np.ndarray:
    """P(count ≥ observed) around ``mu``."""
    return _dist(np.asarray(mu, dtype=float), a).sf(np.asarray(observed, dtype=float) - 1)


def window_p(obs_days: np.ndarray, exp_days: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """The surge test of series whose counts (rows of ``obs_days``, columns: the last MAX_WINDOW days, today
    last) are compared with their expected counts (``exp_days``): P(count ≥ observed) of the last 1, 2 … MAX_WINDOW
    days added up (a sum of the days' negative binomials taken as one with the summed mean), the smallest of
    them times the number of windows (Bonferroni: trying three windows is three tests), at most 1; and the
    length of the window that gave it.  A sustained rise of a few days reaches significance this way when no
    single day of it does (a CUSUM-like accumulation, without its ad-hoc threshold)."""
    o, e = _window_sums(obs_days), _window_sums(exp_days)
    return _best_window(upper_p(o, e, a))


def _window_sums(x: np.ndarray) -> np.ndarray:
    """Column L − 1: each row's last L columns added up (left to right), L = 1 … its width."""
    return np.stack([x[:, -w:].sum(axis=1) for w in range(1, x.shape[1] + 1)], axis=1)


def _best_window(ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of the p-values of the windows (columns of ``ps``: 1 … width days), the smallest times the width (at most 1)
    and the window's length."""
    n, width = ps.shape
    best = ps.argmin(axis=1)
    return np.minimum(1.0, ps[np.arange(n), best] * width), best + 1


@dataclass
class _Tested:
    """The series of one level tested on the evaluated days."""

    level: str
    codes: np.ndarray  # each series' place …
    categories: np.ndarray  # … and category (object: plain str)
    obs: np.ndarray  # series × evaluated day: the cases of the tested window ending that day
    exp: np.ndarray  # … and its expected count
    p: np.ndarray  # NaN = not tested
    a: float
    wlen: np.ndarray  # the tested window's length (days)
    obs_d: np.ndarray  # series × day: the counts of the evaluated days and the MAX_WINDOW − 1 days before
    exp_d: np.ndarray  # … and their expected counts
    family: np.ndarray  # series × evaluated day: the false-discovery family (0 regular, 1 sparse; −1 not tested)

    def __post_init__(self) -> None:
        self.row_of = {pair: i for i, pair in enumerate(zip(self.codes.tolist(), self.categories.tolist()))}


class _Excess:
    """How far each series of the levels is above its expected count on evaluated day ``k`` (cases − expected),
    by (code, category), computed where :func:`explain_by_hierarchy` asks (the flagged places and their
    children) instead of a dict of every series of every level built for each day (~70,000 entries a day at
    1.07 M cases).  A code found at two levels: the lower level's (as a dict updated level by level had it)."""

    def __init__(self, tested: list[_Tested], k: int):
        self.tested, self.k = tested[::-1], k

    def get(self, key: tuple[str, str], default=None):
        for t in self.tested:
            i = t.row_of.get(key)
            if i is not None:
                return float(t.obs[i, self.k] - t.exp[i, self.k])
        return default


def _test_level(c: _Counts, level: str, eval_cols: list[int], first: date) -> _Tested:
    """Each series of ``level`` on each evaluated day: its window test (:func:`window_p`) if it is in the day's
    families (``family``: 0 regular, 1 sparse, −1 not tested): *regular*, at least MIN_HISTORY_CASES cases in
    its reference days and at least MIN_EXPECTED_WINDOW expected in the window; else *sparse*, at least one case
    in the HISTORY_WEEKS weeks before the evaluated days.  Both are read from days before the tested ones only,
    so the split keeps Benjamini–Hochberg valid in each family (independent filtering, Bourgon et al. 2010;
    stratified false-discovery control, Sun et al. 2006): the thousands of places expecting a few hundredths
    of a case a day no longer make a 3 × day of a county's category a needle in a haystack, and their own
    surges (a grid's 9 noise complaints in three days against a floor of 0.6) are still far beyond chance
    among themselves."""
    days = c.days
    codes, categories, m = _matrix(c, level)
    n = len(codes)
    lead = MAX_WINDOW - 1
    cols = list(range(eval_cols[0] - lead, eval_cols[-1] + 1))
    obs_d = np.zeros((n, len(cols)))
    exp_d = np.zeros((n, len(cols)))
    valid = np.zeros(len(cols), dtype=bool)  # a day tested on its own (history enough)
    obs = np.zeros((n, len(eval_cols)))
    exp = np.zeros((n, len(eval_cols)))
    p = np.full((n, len(eval_cols)), np.nan)
    wlen = np.ones((n, len(eval_cols)), dtype=int)
    hist_cols = [x for x in range(len(days)) if x < eval_cols[0] and days[x].date() >= first]
    a = dispersion(m[:, hist_cols]) if hist_cols else 0.0
    recent = [x for x in hist_cols if eval_cols[0] - lead - HISTORY_WEEKS * 7 <= x < eval_cols[0] - lead]
    had_case = m[:, recent].sum(axis=1) >= 1 if recent else np.zeros(n, dtype=bool)
    family = np.full((n, len(eval_cols)), -1, dtype=int)
    history = np.zeros((n, len(cols)))
    tests = []  # (evaluated day, tested rows, their window sums of cases, of expected counts)
    refs: dict[int, list] = {}  # reference days' count → (column, the series' counts on them)
    for i, j in enumerate(cols):
        if j < 0:
            continue
        obs_d[:, i] = m[:, j]
        if days[j].date() < first + timedelta(days=MIN_HISTORY_DAYS):
            continue
        ref_cols = reference_columns(days, j, first)
        if not ref_cols:
            continue
        ref = m[:, ref_cols]
        refs.setdefault(len(ref_cols), []).append((i, ref))
        history[:, i] = ref.sum(axis=1)
        valid[i] = True
    # the expected counts of the days whose references are as long in one trimmed mean (each row's own: the
    # sums of whole counts are exact in any order)
    for group in refs.values():
        e = expected_counts(np.concatenate([ref for _i, ref in group]))
        for g, (i, _ref) in enumerate(group):
            exp_d[:, i] = e[g * n:(g + 1) * n]
    for k, j in enumerate(eval_cols):
        i = k + lead
        obs[:, k], exp[:, k] = obs_d[:, i], exp_d[:, i]
        if not valid[i]:
            continue
        w = 1  # the window: the days up to this one that could be judged, at most MAX_WINDOW
        while w < MAX_WINDOW and valid[i - w]:
            w += 1
        e_w, o_w = exp_d[:, i - w + 1:i + 1], obs_d[:, i - w + 1:i + 1]
        regular = (history[:, i] >= MIN_HISTORY_CASES) & (exp_d[:, i] * MAX_WINDOW >= MIN_EXPECTED_WINDOW)
        family[regular, k] = 0
        family[~regular & had_case, k] = 1
        testable = family[:, k] >= 0
        if testable.any():
            # each tested series' last 1 … w days added up (window_p's sums)
            tests.append((k, np.flatnonzero(testable), _window_sums(o_w[testable]), _window_sums(e_w[testable])))
    # window_p of every tested series, day and window of the level in one call of the distribution (scipy's
    # per-call overhead paid once; each tail is computed on its own, the same floats as a call per day)
    if tests:
        tails = upper_p(np.concatenate([o.ravel() for *_, o, _e in tests]),
                        np.concatenate([e.ravel() for *_, e in tests]), a)
        at = 0
        for k, rows, o, e in tests:
            ps = tails[at:at + o.size].reshape(o.shape)
            at += o.size
            pk, lk = _best_window(ps)
            p[rows, k], wlen[rows, k] = pk, lk
            # the tested window's cases and expected count: its sums, picked
            obs[rows, k] = o[np.arange(len(rows)), lk - 1]
            exp[rows, k] = e[np.arange(len(rows)), lk - 1]
    return _Tested(level, codes, categories, obs, exp, p, a, wlen, obs_d, exp_d, family)


def _bh(p: np.ndarray, fdr: float = FDR) -> np.ndarray:
    """Benjamini–Hochberg q-values of the tested p-values (NaN stays NaN)."""
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = multipletests(p[ok], alpha=fdr, method="fdr_bh")[1]
    return q


def explain_by_hierarchy(flags: pd.DataFrame, parent_of: dict[str, str], excess, explained=None) -> pd.DataFrame:
    """The flags (rows: code, level, category, …) reported at the highest level that explains them.

    ``excess.get((code, category))``: how far the place is from expected (its size; a dict, or
    :class:`_Excess`); ``explained(child_row,
    parent_row)``: whether the parent's warning accounts for the child's (default: always).  First a parent
    is dropped when one flagged child of several carries LOCAL_SHARE of its excess (the rise is the child's;
    a place whose cases all lie in one child is reported as itself, not as that child); then a
    flag below a kept flag is dropped where the kept one explains it."""
    if flags.empty:
        return flags
    flagged = {(r.code, r.category) for r in flags.itertuples()}
    children = parent_of.children if isinstance(parent_of, _ParentOf) else _ParentOf(parent_of).children
    local = set()
    for r in flags.itertuples():
        mine = excess.get((r.code, r.category), 0.0)
        kids = [(excess.get((c, r.category), 0.0), c) for c in children.get(r.code, [])]
        if mine > 0 and len(kids) > 1:  # a place with one child is that child: reported as the place
            top, kid = max(kids)
            if (kid, r.category) in flagged and top >= LOCAL_SHARE * mine:
                local.add((r.code, r.category))
    kept = flags[[(c, g) not in local for c, g in zip(flags["code"], flags["category"])]]
    rows = {(r.code, r.category): r for r in kept.itertuples()}
    keep = []
    for r in kept.itertuples():
        up = parent_of.get(r.code)
        drop = False
        while up is not None:
            above = rows.get((up, r.category))
            if above is not None and (explained is None or explained(r, above)):
                drop = True
                break
            up = parent_of.get(up)
        keep.append(not drop)
    return kept[keep]


def _surges(c: _Counts, eval_cols: list[int], first: date, parent_of: dict[str, str]) -> list[Warning]:
    days = c.days
    tested = [_test_level(c, lv, eval_cols, first) for lv in LEVELS]
    out: list[Warning] = []
    daily: dict[tuple[str, str, str], list[tuple[int, int, int, float, float]]] = {}  # k, row, window, p, q
    by_level = {t.level: t for t in tested}
    for k in range(len(eval_cols)):
        p_all = np.concatenate([t.p[:, k] for t in tested]) if tested else np.array([])
        fam = np.concatenate([t.family[:, k] for t in tested]) if tested else np.array([], dtype=int)
        q_all = np.full(p_all.shape, np.nan)
        for f in range(len(FAMILIES)):  # Benjamini–Hochberg in each family, across the levels
            q_all[fam == f] = _bh(p_all[fam == f], SURGE_FDR)
        start = 0
        frames = []
        for t in tested:
            n = len(t.codes)
            q = q_all[start:start + n]
            start += n
            hit = ((~np.isnan(q)) & (q <= SURGE_FDR) & (t.obs[:, k] >= MIN_OBSERVED)
                   & (t.obs[:, k] >= MIN_RATIO * t.exp[:, k]))
            if hit.any():
                rows = np.flatnonzero(hit)
                frames.append(pd.DataFrame({"code": t.codes[hit], "category": t.categories[hit],
                                            "level": t.level, "obs": t.obs[hit, k], "exp": t.exp[hit, k],
                                            "p": t.p[hit, k], "q": q[hit], "row": rows,
                                            "wlen": t.wlen[hit, k]}))
        if not frames:
            continue
        flags = pd.concat(frames, ignore_index=True)

        def explained(child, parent) -> bool:
            # the child's count is within chance of its own expectation scaled by the parent's rise
            ratio = parent.obs / max(parent.exp, EXPECTED_FLOOR)
            a = by_level[child.level].a
            return float(upper_p(np.array([child.obs]), np.array([child.exp * ratio]), a)[0]) > SURGE_FDR

        for r in explain_by_hierarchy(flags, parent_of, _Excess(tested, k), explained).itertuples():
            daily.setdefault((r.level, r.code, r.category), []).append((k, int(r.row), int(r.wlen), r.p, r.q))
    lead = MAX_WINDOW - 1
    found = []
    for (level, code, category), hits in daily.items():
        t = by_level[level]
        # the latest run of consecutive flagged days
        run = [hits[-1]]
        for h in reversed(hits[:-1]):
            if h[0] != run[-1][0] - 1:
                break
            run.append(h)
        run.reverse()
        row = run[0][1]
        # it began with the first day of the first flagged window that was above its expected count
        lo_i, hi_i = run[0][0] - run[0][2] + 1 + lead, run[-1][0] + lead
        while lo_i < run[0][0] + lead and t.obs_d[row, lo_i] <= t.exp_d[row, lo_i]:
            lo_i += 1
        obs = t.obs_d[row, lo_i:hi_i + 1].sum()
        exp = t.exp_d[row, lo_i:hi_i + 1].sum()
        q = min(h[4] for h in run)
        p = min(h[3] for h in run)
        found.append((level, code, category, days[eval_cols[0] - lead + lo_i].date(),
                      days[eval_cols[run[-1][0]]].date(), obs, exp, p, q, t.exp_d[row, hi_i]))
    # the usual range around the last day's expected count: one call of the distribution per level
    bands = {}
    for level, t in by_level.items():
        mine = [k for k, f in enumerate(found) if f[0] == level]
        if mine:
            lo, hi = band(np.array([found[k][-1] for k in mine]), t.a)
            bands.update({k: (float(lo[x]), float(hi[x])) for x, k in enumerate(mine)})
    for k, (level, code, category, since, last, obs, exp, p, q, _e) in enumerate(found):
        out.append(Warning("surge", code, level, category, since, last, float(obs), round(float(exp), 3),
                           *bands[k], float(p), float(q), severity(obs, exp, q)))
    return out


# --- silences ------------------------------------------------------------------------------------------------

def _silences(c: _Counts, first: date, parent_of: dict[str, str]) -> list[Warning]:
    """Places with no case for SILENT_MIN_DAYS … SILENT_MAX_DAYS days up to the last day, against their rate in
    the HISTORY_WEEKS weeks before the silence."""
    days = c.days
    frames = []
    for level in SILENT_LEVELS:
        codes, _cats, m = _matrix(c, level, by_category=False)
        if not len(codes):
            continue
        tail = m[:, -SILENT_MAX_DAYS:][:, ::-1]
        nz = tail > 0
        empty = np.where(nz.any(axis=1), nz.argmax(axis=1), SILENT_MAX_DAYS)  # empty days up to the last day
        # the rate over the HISTORY_WEEKS weeks before the silence, on days of the data only (cumulative sums:
        # no case lies before the data's first day, so only the number of days needs the bound)
        sums = np.concatenate([np.zeros((len(codes), 1)), m.cumsum(axis=1)], axis=1)
        valid = np.concatenate([[0], np.cumsum([d.date() >= first for d in days])])
        hi = len(days) - empty
        lo = np.maximum(hi - HISTORY_WEEKS * 7, 0)
        rows = np.arange(len(codes))
        n_days = valid[hi] - valid[lo]
        rate = np.where(n_days >= MIN_HISTORY_DAYS,
                        (sums[rows, hi] - sums[rows, lo]) / np.maximum(n_days, 1), 0.0)
        exp = rate * empty
        ok = (empty >= SILENT_MIN_DAYS) & (rate > 0)
        frames.append(pd.DataFrame({"code": codes, "category": "", "level": level,
                                    "empty": empty, "exp": exp, "ok": ok}))
    if not frames:
        return []
    allp = pd.concat(frames, ignore_index=True)
    allp = allp[allp["ok"]]
    if allp.empty:
        return []
    allp["p"] = stats.poisson.cdf(0, allp["exp"].to_numpy())
    allp["q"] = multipletests(allp["p"].to_numpy(), alpha=FDR, method="fdr_bh")[1]
    flags = allp[allp["q"] <= FDR]
    excess = {(c, ""): e for c, e in zip(allp["code"], allp["exp"])}
    kept = explain_by_hierarchy(flags.reset_index(drop=True), parent_of, excess)
    last = days[-1].date()
    return [Warning("silent", r.code, r.level, "", last - timedelta(days=int(r.empty) - 1), last, 0.0,
                    round(float(r.exp), 3), None, None, float(r.p), float(r.q), severity(0.0, r.exp, r.q))
            for r in kept.itertuples()]


# --- new categories ------------------------------------------------------------------------------------------

def _new_categories(engine: Engine, c: _Counts, as_of: date, first: date, parent_of: dict[str, str]
                    ) -> list[Warning]:
    """A category new in a place: NEW_MIN_CASES cases of it in the last WINDOW_DAYS days, none in the
    NEW_HISTORY_DAYS days before, and NEW_MIN_HISTORY cases of any category in those days.

    The history's last weeks are the window's rows already read: a place × category with a case in them is not
    new, whatever came before.  Only the pairs left (few: a place's category with at least two cases in the week
    and none in the nine weeks before) need the older history, read for their places alone, where a year of the
    roll-up grouped by village and category cost 0.8 s of CPU at 1.07 M cases."""
    w0 = as_of - timedelta(days=WINDOW_DAYS - 1)
    if first > w0 - timedelta(days=NEW_MIN_HISTORY):
        return []  # no history to be new against
    h0 = w0 - timedelta(days=NEW_HISTORY_DAYS)
    d_from = c.days[0].date()
    w_col = (w0 - d_from).days  # the window's column of w0: before it, history; from it, the recent days
    h_col = max((h0 - d_from).days, 0)
    ncat = max(len(c.categories), 1)
    past = (c.day >= h_col) & (c.day < w_col)
    recent = c.day >= w_col
    pending = {}  # level → the recent pairs (code index, category index, cases, first day's column) left
    for level in LEVELS[:-1]:
        pl = c.place[level]
        r = recent & (pl >= 0)
        if not r.any():
            continue
        key = pl[r] * ncat + c.category[r]
        pairs, row = np.unique(key, return_inverse=True)
        n = np.bincount(row, weights=c.n[r], minlength=len(pairs))
        since = np.full(len(pairs), len(c.days), dtype=np.int64)
        np.minimum.at(since, row, c.day[r])
        h = past & (pl >= 0)
        had = np.isin(pairs, pl[h] * ncat + c.category[h])  # a row in the history (even of 0 cases)
        size = np.bincount(pl[h], weights=c.n[h], minlength=len(c.names[level]))
        keep = (n >= NEW_MIN_CASES) & ~had
        if keep.any():
            code = pairs[keep] // ncat
            pending[level] = (code, pairs[keep] % ncat, n[keep], since[keep], size[code])
    if not pending:
        return []
    old_had: dict[str, set] = {lv: set() for lv in pending}
    old_size: dict[str, dict[str, int]] = {lv: {} for lv in pending}
    if h0 < d_from:  # the history before the window: its rows of the pending pairs' places
        t = case_day_counts.c
        cols = [t[LEVEL_COLUMN[lv]] for lv in LEVELS[:-1]]
        places = {lv: sorted({c.names[lv][i] for i in v[0].tolist()}) for lv, v in pending.items()}
        conds = [t.day >= h0.isoformat(), t.day < min(d_from, w0).isoformat()]
        if sum(len(v) for v in places.values()) <= 2000:  # else every place: fewer rows skipped, no long lists
            conds.append(or_(*(t[LEVEL_COLUMN[lv]].in_(v) for lv, v in places.items())))
        stmt = select(*cols, t.category, func.sum(t.n)).where(*conds).group_by(*cols, t.category)
        with engine.connect() as conn:
            for row in conn.execute(stmt):
                n = int(row[-1])  # PostgreSQL's sum is numeric
                for i, lv in enumerate(LEVELS[:-1]):
                    if lv in pending and row[i] is not None:
                        old_had[lv].add((row[i], row[-2]))
                        old_size[lv][row[i]] = old_size[lv].get(row[i], 0) + n
    frames = []
    for level, (code, cat, n, since, size) in pending.items():
        codes, cats = c.names[level][code], c.categories[cat]
        total = size + np.array([old_size[level].get(x, 0) for x in codes.tolist()], dtype=float)
        ok = (np.array([(x, g) not in old_had[level] for x, g in zip(codes.tolist(), cats.tolist())], dtype=bool)
              & (total >= NEW_MIN_HISTORY))
        if ok.any():
            frames.append(pd.DataFrame({"code": codes[ok], "category": cats[ok], "n": n[ok],
                                        "since": [c.days[j].date() for j in since[ok].tolist()], "level": level}))
    if not frames:
        return []
    flags = pd.concat(frames, ignore_index=True)
    excess = {(x, g): float(k) for x, g, k in zip(flags["code"], flags["category"], flags["n"])}
    kept = explain_by_hierarchy(flags, parent_of, excess)
    return [Warning("new_category", r.code, r.level, r.category, r.since, as_of, float(r.n), 0.0, None,
                    None, None, None, severity(float(r.n), 0.0, None)) for r in kept.itertuples()]


# --- backlog trends ------------------------------------------------------------------------------------------

def _trends(engine: Engine, as_of: date, parent_of: dict[str, str]) -> list[Warning]:
    ends = [_day_start(as_of + timedelta(days=1)) - timedelta(weeks=w) for w in range(TREND_WEEKS - 1, -1, -1)]
    # the open (and open and overdue) cases at each week end, counted in SQL per county and township: the rows
    # of every case open in the weeks, fetched with three timestamps each, cost 5 s at 1.07 M cases
    # of the cases open at some week end (reported before the last, not closed before the first), read as the two
    # ranges of ix_cases_closed_at they are: the still open ones and those closed since (one OR made SQLite
    # skip-scan a county index, 5.3 s at 1.07 M cases; the union 0.15 s)
    x = cases.c
    cols = [x.county_code, x.township_code, x.reported_at, x.closed_at, x.due_at]
    c = union_all(select(*cols).where(x.closed_at.is_(None), x.reported_at < ends[-1]),
                  select(*cols).where(x.closed_at >= ends[0], x.reported_at < ends[-1])).subquery("c").c
    measures = []
    for i, t in enumerate(ends):
        is_open = and_(c.reported_at < t, or_(c.closed_at.is_(None), c.closed_at >= t))
        measures += [func.sum(sql_case((is_open, 1), else_=0)).label(f"backlog{i}"),
                     func.sum(sql_case((and_(is_open, c.due_at < t), 1), else_=0)).label(f"overdue{i}")]
    stmt = select(c.county_code, c.township_code, *measures).group_by(c.county_code, c.township_code)
    with engine.connect() as conn:
        df = _frame(conn, stmt, ["county", "township", *(f"{k}{i}" for i in range(len(ends))
                                                         for k in ("backlog", "overdue"))])
    if df.empty:
        return []
    out: list[Warning] = []
    for kind in ("backlog", "overdue"):
        rows = []
        for level in TREND_LEVELS:
            sums = df.dropna(subset=[level]).groupby(level)[[f"{kind}{i}" for i in range(len(ends))]].sum()
            table = sums.astype(int).to_numpy(dtype=float)  # place × week end (as plain floats: a Series per
            # place, iterated, cost 0.1 s of CPU at 1.07 M cases)
            codes = sums.index.tolist()
            first_, last_ = table[:, 0], table[:, -1]
            rising = ((table > 0).any(axis=1)  # a place with none open at any week end: not in a count of cases
                      & ~((last_ - first_ < TREND_MIN_RISE) | (last_ < TREND_MIN_RATIO * np.maximum(first_, 1.0))))
            for r_i in np.flatnonzero(rising).tolist():
                code, v = codes[r_i], table[r_i]
                tau, p = stats.kendalltau(np.arange(len(v)), v, alternative="greater")
                if np.isnan(p):
                    continue
                # since: the last week end from which it rose every week
                k = len(v) - 1
                while k > 0 and v[k - 1] < v[k]:
                    k -= 1
                rows.append({"code": code, "level": level, "category": "", "p": p, "obs": v[-1], "exp": v[0],
                             "since": (ends[k] - timedelta(days=7)).date() if k > 0 else ends[0].date() -
                             timedelta(days=7)})
        if not rows:
            continue
        flags = pd.DataFrame(rows)
        flags["q"] = multipletests(flags["p"].to_numpy(), alpha=FDR * 5, method="fdr_bh")[1]
        flags = flags[flags["q"] <= FDR * 5].reset_index(drop=True)
        excess = {(c, ""): o - e for c, o, e in zip(flags["code"], flags["obs"], flags["exp"])}
        for r in explain_by_hierarchy(flags, parent_of, excess).itertuples():
            out.append(Warning(kind, r.code, r.level, "", r.since, as_of, float(r.obs), float(r.exp), None, None,
                               float(r.p), float(r.q), severity(r.obs, r.exp, r.q)))
    return out


# --- the whole computation -----------------------------------------------------------------------------------

def compute(engine: Engine, as_of: date | None = None) -> list[Warning]:
    """Every warning as of the end of ``as_of`` (default: the last report day of the data, so that a day not yet
    loaded is not a silence), ranked by severity; none without cases or history."""
    span = data_days(engine)
    if span is None:
        return []
    first, last = span
    as_of = as_of or last
    if as_of < first:
        return []
    d_from = as_of - timedelta(days=HISTORY_WEEKS * 7 + SILENT_MAX_DAYS - 1)
    counts = _read_window(engine, d_from, as_of)
    parent_of = _parents(counts)
    out: list[Warning] = []
    if not counts.empty:
        days = counts.days
        eval_cols = list(range(len(days) - WINDOW_DAYS, len(days)))
        out += _surges(counts, eval_cols, first, parent_of)
        out += _silences(counts, first, parent_of)
        out += _new_categories(engine, counts, as_of, first, parent_of)
    if as_of - timedelta(weeks=TREND_WEEKS) >= first:
        out += _trends(engine, as_of, parent_of)
    return sorted(out, key=lambda w: (-w.severity, w.kind, w.region_code, w.category))


def series(engine: Engine, region_code: str, level: str, category: str, as_of: date,
           days_shown: int = 42) -> pd.DataFrame:
    """The daily counts of one place and category (all categories for '') up to ``as_of`` with what was
    expected each day and its usual range: day, observed, expected, lower, upper (the page's chart)."""
    span = data_days(engine)
    if span is None or level not in LEVEL_COLUMN:
        return pd.DataFrame(columns=["day", "observed", "expected", "lower", "upper"])
    first = span[0]
    d_from = as_of - timedelta(days=HISTORY_WEEKS * 7 + days_shown - 1)
    t = case_day_counts.c
    conds = [t[LEVEL_COLUMN[level]] == region_code, t.day >= d_from.isoformat(), t.day <= as_of.isoformat()]
    if category:
        conds.append(t.category == category)
    with engine.connect() as conn:
        per_day = {d: int(n) for d, n in conn.execute(select(t.day, func.sum(t.n)).where(and_(*conds))
                                                      .group_by(t.day))}
    days = pd.date_range(pd.Timestamp(d_from), pd.Timestamp(as_of), freq="D")
    counts = np.array([[per_day.get(f"{d:%Y-%m-%d}", 0) for d in days]], dtype=float)
    rows = []
    for j in range(len(days) - days_shown, len(days)):
        ref_cols = reference_columns(days, j, first)
        exp = float(expected_counts(counts[:, ref_cols])[0]) if ref_cols else np.nan
        lo, hi = band(np.array([exp]), 0.0) if ref_cols else (np.array([np.nan]), np.array([np.nan]))
        rows.append((days[j].date(), counts[0, j], exp, float(lo[0]), float(hi[0])))
    return pd.DataFrame(rows, columns=["day", "observed", "expected", "lower", "upper"])


def as_frame(found: list[Warning]) -> pd.DataFrame:
    cols = list(Warning.__dataclass_fields__)
    return pd.DataFrame([w.__dict__ for w in found], columns=cols)


# --- storage -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RefreshResult:
    as_of: date | None
    found: int
    inserted: int
    updated: int
    retracted: int
    seconds: float
    expired: int = 0


def refresh(engine: Engine, as_of: date | None = None) -> RefreshResult:
    """Compute the warnings as of ``as_of`` (default: the data's last day) and :func:`store` them."""
    t0 = time.perf_counter()
    found = compute(engine, as_of)
    span = data_days(engine)
    r = store(engine, found, as_of or (span[1] if span else None))
    return RefreshResult(r.as_of, r.found, r.inserted, r.updated, r.retracted, time.perf_counter() - t0, r.expired)


def _continued(rows: list, w: Warning):
    """The stored warning of ``w``'s series (kind, place, category) that ``w`` continues: the one, among those
    whose days overlap ``w``'s or end the day before it starts, that was seen last; None if none does."""
    best = None
    for r in rows:
        if r.first_day <= w.last_day and r.last_day >= w.first_day - timedelta(days=1):
            if best is None or (r.last_day, r.first_day) > (best.last_day, best.first_day):
                best = r
    return best


def store(engine: Engine, found: list[Warning], as_of: date | None, now: datetime | None = None) -> RefreshResult:
    """Store ``found`` (the warnings as of ``as_of``) in one transaction, keeping the states staff set.

    - A found warning that **continues** a stored one of the same series (kind, place, category; days
      overlapping or adjacent, :func:`_continued`) updates it: the new numbers and last day, the earlier of the
      two first days, the state kept.  So a warning keeps its row, its state and its "since" from one as-of day
      to the next although the day the test first crosses the line can move between runs (the over-dispersion
      is re-estimated from each run's window); its observed and expected counts are those of the latest run's
      days.
    - Any other found warning is stored as 'new'.
    - A stored 'new' warning whose last day lies in the days just evaluated and that is no longer found (the
      data was corrected) is removed.
    - An open ('new' or 'acknowledged') warning last seen more than ``EXPIRE_DAYS`` days before ``as_of`` is
      set to 'expired' (no longer current: nothing has renewed it); staff may still close it as handled or a
      false alarm.  Handled, false-alarm and expired warnings are never removed."""
    t0 = time.perf_counter()
    now = now or wall_now()
    t = warnings_table
    inserted = updated = retracted = expired = 0
    with engine.begin() as conn:
        rows = list(conn.execute(select(t.c.id, t.c.kind, t.c.region_code, t.c.category, t.c.first_day,
                                        t.c.last_day)))
        by_series: dict[tuple, list] = {}
        for r in rows:
            by_series.setdefault((r.kind, r.region_code, r.category), []).append(r)
        keys = {(r.kind, r.region_code, r.category, r.first_day) for r in rows}
        seen = set()
        new_rows = []
        for w in found:
            values = {k: v for k, v in w.__dict__.items()} | {"computed_at": now, "as_of": as_of or w.last_day}
            r = _continued(by_series.get((w.kind, w.region_code, w.category), []), w)
            if r is not None and r.id not in seen:
                seen.add(r.id)
                first = min(r.first_day, w.first_day)
                if first != r.first_day and (w.kind, w.region_code, w.category, first) in keys:
                    first = r.first_day  # another stored warning of the series starts that day: keep this one's
                keys.add((w.kind, w.region_code, w.category, first))
                conn.execute(update(t).where(t.c.id == r.id).values(
                    **{k: v for k, v in values.items() if k not in ("kind", "region_code", "category")}
                    | {"first_day": first, "last_day": max(r.last_day, w.last_day)}))
                updated += 1
            else:
                new_rows.append(values | {"state": "new"})
        if new_rows:
            conn.execute(insert(t), new_rows)
            inserted = len(new_rows)
        if as_of is not None:
            gone = [r.id for r in rows if r.id not in seen]
            window_start = as_of - timedelta(days=WINDOW_DAYS - 1)
            for i in range(0, len(gone), 500):
                retracted += conn.execute(delete(t).where(t.c.id.in_(gone[i:i + 500]), t.c.state == "new",
                                                          t.c.last_day >= window_start)).rowcount
            expired = conn.execute(update(t).where(t.c.state.in_(OPEN_STATES),
                                                   t.c.last_day < as_of - timedelta(days=EXPIRE_DAYS))
                                   .values(state="expired", state_at=now, state_by=None, state_note=None)).rowcount
        conn.execute(delete(data_meta).where(data_meta.c.key == COMPUTED_KEY))
        conn.execute(insert(data_meta).values(key=COMPUTED_KEY, value=now.isoformat(timespec="seconds")))
    return RefreshResult(as_of, len(found), inserted, updated, retracted, time.perf_counter() - t0, expired)


def auto_refresh() -> bool:
    """Do the loader and sync recompute the warnings after committing?  ``GOV_WARNINGS_AUTO`` (default 1; 0 for a
    deployment that runs ``warnings --compute`` on a schedule instead, and for the tests of other things)."""
    return os.environ.get("GOV_WARNINGS_AUTO", "1").strip() not in ("0", "false", "no", "off")


COMPUTED_KEY = "warnings_at"  # data_meta: the wall-clock time of the last refresh()
SYNC_MINUTES_ENV = "GOV_WARNINGS_SYNC_MINUTES"
DEFAULT_SYNC_MINUTES = 10


def sync_minutes() -> float:
    """How old the stored warnings may get before a sync recomputes them (``GOV_WARNINGS_SYNC_MINUTES``, default
    10; 0: after every batch).  The live follower applies a batch every few seconds: recomputing every series
    each time would cost more than the batch itself."""
    return float(settings.number(SYNC_MINUTES_ENV, DEFAULT_SYNC_MINUTES, minimum=0, whole=False, unit="minutes"))


def refresh_if_due(engine: Engine) -> RefreshResult | None:
    """:func:`refresh_quietly` after a sync, when the stored warnings are older than :func:`sync_minutes` (or were
    never computed)."""
    if not auto_refresh():
        return None
    try:
        with engine.connect() as conn:
            last = conn.execute(select(data_meta.c.value).where(data_meta.c.key == COMPUTED_KEY)).scalar()
        if last is not None and wall_now() - datetime.fromisoformat(last) < timedelta(minutes=sync_minutes()):
            return None
    except Exception:  # noqa: BLE001 — as refresh_quietly: the sync has committed
        log.exception("warnings: could not read when they were last computed")
        return None
    return refresh_quietly(engine)


def refresh_quietly(engine: Engine) -> RefreshResult | None:
    """:func:`refresh` as the loader and sync run it after committing (unless :func:`auto_refresh` says no): a
    failure is logged, never raised (the data is in; the warnings are recomputed next time or by
    ``python -m data_access warnings --compute``)."""
    if not auto_refresh():
        return None
    try:
        return refresh(engine)
    except Exception:  # noqa: BLE001 — the load or sync has committed; a warning failure must not undo its report
        log.exception("warnings: recomputation failed; run `python -m data_access warnings --compute`")
        return None
