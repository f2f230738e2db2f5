"""python -m sample_data.live [--db URL] [--inbox DIR] [--rate N] [--seed N] [--duration SECONDS | --steps N] [--clock real|data] [--surge CODE:CATEGORY[:MULTIPLIER]]

A live demo feed: keeps reporting new cases and moving open ones through the workflow (accept, dispatch,
handle, feedback, close; now and then a return, a reassignment, a reopened case, a re-report, a supervision
order issued or resolved) at ``--rate`` actions a minute, until stopped (Ctrl-C) or until ``--steps`` /
``--duration`` is reached.

Two ways.  Directly (default, :class:`DatabaseStore`): every action goes through data_access (writes/workflow.py,
writes/orders.py) and is one transaction, so stopping never leaves a half-written case, the roll-ups stay exact and
the app, running beside it on SQLite (WAL) or PostgreSQL, shows the changes at its next refresh.  As the source
system (``--inbox DIR``, sample_data/live_inbox.py): the database is only read at start; the actions go out as
batches in DIR every ``--interval`` seconds (or ``--batch-steps`` actions) for ``python -m data_access sync
--watch DIR``, the path real data takes.  :class:`Feed` chooses the actions, the same for both.

Clock: ``real`` stamps actions with the wall clock; ``data`` (default) starts at the app's "now"
(``data_access.core.clock.now_local()``, i.e. ``GOV_NOW`` when set) and runs on from there, ``--speed`` times as
fast as the wall clock.  It never touches accounts.

``--surge CODE:CATEGORY[:MULTIPLIER]`` injects a surge on demand (for the early warning's demo): besides its usual
actions, the feed reports cases of CATEGORY in the grid or region CODE until today's count of them is MULTIPLIER
(default 4) × their mean a day over the 28 days before, and at least ``SURGE_MIN`` (:class:`Surge`).
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, and_, exists, func, select
from sqlalchemy.exc import DBAPIError, OperationalError

from data_access.writes import orders as supervision, workflow as writes
from data_access.core.access import User
from data_access.core.clock import now_local, wall_now
from data_access.core.regions import region_tree
from data_access.core.schema import cases, categories, departments, grids, supervisions

from . import vocab
from .generator import SOURCE_P, SOURCES, _short_name

# The feed signs its supervision orders as this (a leader of the whole city: may write, no jurisdiction limit).
FEED_USER = User(name="演示数据", role="leader", scope_code=None, username=None)
ACTOR = "演示数据"
RETRIES = 5
# What one step does, by weight (an open case moves on by its status; see Feed._advance).
STEP_WEIGHTS = {"report": 0.24, "advance": 0.66, "reopen": 0.01, "rereport": 0.02, "supervise": 0.04,
                "resolve": 0.03}
_CAT_INDEX = {c[0]: i for i, c in enumerate(vocab.CATEGORIES)}
_DEPT_SUFFIX = [vocab.DEPARTMENT_KINDS[k][0] for k in vocab.CATEGORY_DEPT_KIND]


def _retryable(exc: BaseException) -> bool:
    """SQLite's "database is locked"/"busy", PostgreSQL's serialization failure and deadlock."""
    if isinstance(exc, OperationalError) and any(s in str(exc).lower() for s in ("locked", "busy")):
        return True
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in ("40001", "40P01")


def with_retry(fn: Callable[[], object], retries: int = RETRIES, pause: float = 0.2):
    """``fn()``, tried again (with a growing pause) when the database is busy; the last failure is raised."""
    for attempt in range(retries + 1):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == retries or not _retryable(exc):
                raise
            time.sleep(pause * 2 ** attempt)
    return None  # not reached


def make_clock(kind: str, speed: float = 1.0, start: datetime | None = None) -> Callable[[], datetime]:
    """``real``: the wall clock (Asia/Shanghai).  ``data``: from ``start`` (default the app's now, which
    honours GOV_NOW) onwards, ``speed`` times as fast as the wall clock."""
    if kind == "real":
        return wall_now
    if kind != "data":
        raise ValueError(f"clock: {kind!r} is not 'real' or 'data'")
    t0, m0 = start or now_local(), time.monotonic()
    return lambda: (t0 + timedelta(seconds=(time.monotonic() - m0) * speed)).replace(microsecond=0)


class FeedError(Exception):
    """The feed cannot start: no database, an empty one, an inbox it cannot write into.  Said in one line."""


SURGE_MIN = 3              # a surge adds up to at least this many cases today, however quiet the place
SURGE_BASELINE_DAYS = 28
SURGE_SHARE = 0.5          # of the steps, while the surge is not complete: one of its reports
_LEVEL_COLUMN = {"grid": "top_grid_code", "micro_grid": "grid_code", "village": "village_code",
                 "township": "township_code", "county": "county_code", "city": "city_code"}


@dataclass
class Surge:
    """A surge asked for with ``--surge CODE:CATEGORY[:MULTIPLIER]``; :meth:`Feed._start_surge` fills in the rest."""

    code: str
    category: str
    multiplier: float = 4.0
    grids: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)   # each grid's chance of a report (by population)
    baseline: float = 0.0      # cases a day over the SURGE_BASELINE_DAYS days before today
    today: int = 0             # cases of today already there
    left: int = 0              # reports still to add

    @classmethod
    def parse(cls, text: str) -> Surge:
        """``CODE:CATEGORY[:MULTIPLIER]``; ValueError saying what is wrong."""
        parts = [p.strip() for p in str(text).split(":")]
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"--surge {text!r}: expected CODE:CATEGORY[:MULTIPLIER], e.g. 431302001001001:neighbour:4")
        mult = 4.0
        if len(parts) == 3:
            try:
                mult = float(parts[2])
            except ValueError:
                raise ValueError(f"--surge {text!r}: the multiplier {parts[2]!r} is not a number") from None
            if not (1.0 < mult <= 100.0):
                raise ValueError(f"--surge {text!r}: the multiplier must be above 1 and at most 100")
        return cls(parts[0], parts[1], mult)

    def line(self) -> str:
        return (f"surge {self.code} {self.category} ×{self.multiplier:g}: {self.baseline:.2f} a day over the "
                f"{SURGE_BASELINE_DAYS} days before, {self.today} today; {self.left} report(s) to add")


@dataclass
class Done:
    """One action the feed took (or skipped)."""

    at: datetime
    action: str
    case_no: str
    detail: str = ""
    skipped: bool = False

    def line(self) -> str:
        mark = "skip " if self.skipped else ""
        return f"{self.at:%Y-%m-%d %H:%M:%S}  {mark}{self.action:<10} {self.case_no:<22} {self.detail}".rstrip()


class DatabaseStore:
    """Where the direct feed reads its candidates and makes its moves: the database, one transaction an action
    through data_access (writes/workflow.py, writes/orders.py; its orders are the dashboard's own)."""

    weights = STEP_WEIGHTS

    def __init__(self, engine: Engine):
        self.engine = engine
        self._seq: dict[str, int] = {}

    def _rows(self, stmt) -> list:
        with self.engine.connect() as conn:
            return conn.execute(stmt).all()

    # -- case numbers -----------------------------------------------------------------------------------
    def next_case_no(self, at: datetime) -> str:
        prefix = f"LD{at:%Y%m%d}"
        if prefix not in self._seq:
            with self.engine.connect() as conn:
                top = conn.execute(select(func.max(cases.c.case_no)).where(cases.c.case_no.like(prefix + "%"))
                                   ).scalar_one_or_none()
            tail = top[len(prefix):] if top else ""
            self._seq[prefix] = int(tail) if tail.isdigit() else 0
        self._seq[prefix] += 1
        return f"{prefix}{self._seq[prefix]:06d}"

    def forget_case_no(self, at: datetime) -> None:
        """Another writer took the number: read the highest one again."""
        self._seq.pop(f"LD{at:%Y%m%d}", None)

    # -- candidates ---------------------------------------------------------------------------------------
    def open_cases(self, at: datetime) -> list:
        """(case_no, status, category, county, city, department) of the open cases of the last 90 days."""
        return self._rows(select(cases.c.case_no, cases.c.status, cases.c.category, cases.c.county_code,
                                 cases.c.city_code, cases.c.department_code)
                          .where(cases.c.status != "closed", cases.c.reported_at >= at - timedelta(days=90))
                          .order_by(cases.c.case_no))

    def reopen_candidates(self, at: datetime) -> list[str]:
        return [r[0] for r in self._rows(select(cases.c.case_no).where(
            cases.c.reported_at >= at - timedelta(days=60), cases.c.status == "closed",
            cases.c.closed_at >= at - timedelta(days=30), cases.c.closed_at <= at, cases.c.on_the_spot.is_(False))
            .order_by(cases.c.case_no))]

    def rereport_candidates(self, at: datetime) -> list[tuple]:
        """(grid, category, reporter name, phone) of cases closed within the last 30 days."""
        return [tuple(r) for r in self._rows(
            select(cases.c.grid_code, cases.c.category, cases.c.reporter_name, cases.c.reporter_phone)
            .where(cases.c.reported_at >= at - timedelta(days=60), cases.c.status == "closed",
                   cases.c.closed_at >= at - timedelta(days=29), cases.c.closed_at < at,
                   cases.c.reporter_phone.is_not(None), cases.c.reporter_phone != "", cases.c.source != "patrol")
            .order_by(cases.c.case_no))]

    def supervise_candidates(self, at: datetime) -> list[str]:
        """Open overdue cases of the last year without an open order."""
        open_order = exists().where(supervisions.c.case_no == cases.c.case_no, supervisions.c.resolved_at.is_(None))
        return [r[0] for r in self._rows(select(cases.c.case_no).where(
            cases.c.status != "closed", cases.c.due_at < at, cases.c.reported_at >= at - timedelta(days=365),
            ~open_order).order_by(cases.c.case_no))]

    def resolve_candidates(self, at: datetime) -> list[tuple[str, str]]:
        """(order id, case_no) of the open orders whose case is closed."""
        return [tuple(r) for r in self._rows(
            select(supervisions.c.supervision_id, supervisions.c.case_no)
            .select_from(supervisions.join(cases, cases.c.case_no == supervisions.c.case_no))
            .where(and_(supervisions.c.resolved_at.is_(None), supervisions.c.issued_at <= at,
                        cases.c.status == "closed"))
            .order_by(supervisions.c.supervision_id))]

    # -- the moves ----------------------------------------------------------------------------------------
    def report(self, case: writes.NewCase) -> None:
        writes.report_case(self.engine, case)

    def move(self, action: str, case_no: str, at: datetime, *, department: str | None = None,
             level: str | None = None, satisfaction: int | None = None, note: str | None = None) -> None:
        """One workflow step (writes/workflow.py); :class:`~data_access.writes.workflow.WriteRefused` if refused."""
        e = self.engine
        {"accept": lambda: writes.accept_case(e, case_no, at, ACTOR),
         "dispatch": lambda: writes.dispatch_case(e, case_no, department, at, ACTOR),
         "handle": lambda: writes.handle_case(e, case_no, at, ACTOR),
         "feedback": lambda: writes.feedback_case(e, case_no, at, ACTOR),
         "close": lambda: writes.close_case(e, case_no, at, level, satisfaction, ACTOR),
         "return": lambda: writes.return_case(e, case_no, at, note, ACTOR),
         "reassign": lambda: writes.reassign_case(e, case_no, department, at, ACTOR),
         "reopen": lambda: writes.reopen_case(e, case_no, at, note, ACTOR)}[action]()

    def supervise(self, order: supervision.SupervisionOrder, at: datetime) -> str:
        return supervision.issue_supervision(self.engine, FEED_USER, order, now=at)

    def resolve(self, supervision_id: str, at: datetime) -> None:
        supervision.resolve_supervision(self.engine, FEED_USER, supervision_id, now=at)


class Feed:
    """Chooses one action at a time and makes it in ``store`` (default: :class:`DatabaseStore` on ``engine``;
    sample_data/live_inbox.py's store writes batches for the sync instead)."""

    def __init__(self, engine: Engine, seed: int | None = None, clock: Callable[[], datetime] | None = None,
                 store=None, surge: Surge | None = None):
        self.engine = engine
        self.store = store if store is not None else DatabaseStore(engine)
        self.rng = np.random.default_rng(seed)
        self.clock = clock or make_clock("data")
        self.tree = region_tree(engine)
        with engine.connect() as conn:
            g = conn.execute(select(grids.c.code, func.coalesce(grids.c.population, 0)).order_by(grids.c.code)).all()
            self.categories = dict(conn.execute(select(categories.c.code, categories.c.time_limit_hours)
                                                .order_by(categories.c.code)).all())
            self.departments = conn.execute(select(departments.c.code, departments.c.region_code)
                                            .order_by(departments.c.code)).all()
        if not g or not self.categories:
            raise FeedError("the database holds no grids or categories: load a dataset first "
                            "(python -m sample_data, or start the app once: it builds the demo data)")
        self.grid_codes = [code for code, _ in g]
        pop = np.array([max(1, p) for _, p in g], dtype=float)
        self.grid_p = pop / pop.sum()
        codes = list(self.categories)
        w = np.array([(vocab.CATEGORIES[_CAT_INDEX[c]][4] + vocab.CATEGORIES[_CAT_INDEX[c]][5])
                      if c in _CAT_INDEX else 0.05 for c in codes])
        self.cat_codes, self.cat_p = codes, w / w.sum()
        self.dept_codes = {code for code, _ in self.departments}
        self.surge = self._start_surge(surge) if surge is not None else None

    def _start_surge(self, surge: Surge) -> Surge:
        """Check the surge's place and category against the database and count its baseline and today's cases;
        :class:`FeedError` names what is unknown."""
        node = self.tree.get(surge.code)
        if node is None:
            raise FeedError(f"--surge: {surge.code!r} is neither a grid nor a region of the database")
        if surge.category not in self.categories:
            raise FeedError(f"--surge: {surge.category!r} is not a category; the categories are "
                            + ", ".join(sorted(self.categories)))
        inside = [i for i, g in enumerate(self.grid_codes) if self.tree.contains(surge.code, g)]
        surge.grids = [self.grid_codes[i] for i in inside]
        surge.weights = (self.grid_p[inside] / self.grid_p[inside].sum()).tolist() if inside else []
        if not surge.grids:
            raise FeedError(f"--surge: {surge.code!r} ({node.name}) has no grid")
        column = cases.c[_LEVEL_COLUMN.get(node.level, "city_code")]
        day0 = self.clock().replace(hour=0, minute=0, second=0, microsecond=0)
        where = (column == surge.code, cases.c.category == surge.category)
        with self.engine.connect() as conn:
            before = conn.execute(select(func.count()).where(
                *where, cases.c.reported_at >= day0 - timedelta(days=SURGE_BASELINE_DAYS),
                cases.c.reported_at < day0)).scalar_one()
            surge.today = conn.execute(select(func.count()).where(
                *where, cases.c.reported_at >= day0, cases.c.reported_at < day0 + timedelta(days=1))).scalar_one()
        surge.baseline = before / SURGE_BASELINE_DAYS
        need = max(SURGE_MIN, math.ceil(surge.multiplier * surge.baseline - 1e-9))
        surge.left = max(0, need - surge.today)
        return surge

    # -- helpers ----------------------------------------------------------------------------------------
    def _pick(self, seq, p=None):
        return seq[int(self.rng.choice(len(seq), p=p))]

    def _village_name(self, grid_code: str) -> str:
        for node in reversed(self.tree.ancestors(grid_code)):
            if node.level == "village":
                return _short_name(node.name)
        return ""

    def _department_for(self, category: str, county: str | None, city: str | None) -> str | None:
        """The department of the category's kind in the case's county (city now and then), as generator.py."""
        i = _CAT_INDEX.get(category)
        if i is not None:
            region = city if self.rng.random() < 0.05 else county
            code = f"{region}-{_DEPT_SUFFIX[i]}"
            if code in self.dept_codes:
                return code
        local = [c for c, r in self.departments if r == county] or [c for c, _ in self.departments]
        return self._pick(local) if local else None

    # -- the actions ------------------------------------------------------------------------------------
    def step(self) -> Done:
        weights = self.store.weights
        kinds = list(weights)
        w = np.array([weights[k] for k in kinds])
        kind = self._pick(kinds, w / w.sum())
        at = self.clock()
        if self.surge is not None and self.surge.left > 0 and self.rng.random() < SURGE_SHARE:
            done = self._report(at, surge=self.surge)
            if not done.skipped:
                self.surge.left -= 1
            return done
        done = getattr(self, f"_{kind}")(at)
        if done is None and kind != "report":  # nothing to do of that kind: report a case instead
            done = self._report(at)
        return done

    def _report(self, at: datetime, like=None, surge: Surge | None = None) -> Done:
        if surge is not None:
            grid = self._pick(surge.grids, surge.weights)
            category = surge.category
            src = SOURCES[int(self.rng.choice(len(SOURCES), p=SOURCE_P))]
            name = self._pick(vocab.SURNAME_LIST) + self._pick(vocab.GIVEN_CHARS)
            phone = f"{self._pick(vocab.PHONE_PREFIXES)}{int(self.rng.integers(0, 100_000_000)):08d}"
        elif like is None:
            grid = self._pick(self.grid_codes, self.grid_p)
            category = self._pick(self.cat_codes, self.cat_p)
            src = SOURCES[int(self.rng.choice(len(SOURCES), p=SOURCE_P))]
            name = self._pick(vocab.SURNAME_LIST) + self._pick(vocab.GIVEN_CHARS) + (
                self._pick(vocab.GIVEN_CHARS) if self.rng.random() < 0.7 else "")
            phone = f"{self._pick(vocab.PHONE_PREFIXES)}{int(self.rng.integers(0, 100_000_000)):08d}"
        else:
            grid, category, name, phone = like
            src = self._pick([s for s in SOURCES if s != "patrol"])
        templates = (vocab.NOISE_TITLES if surge is not None and category == "neighbour"
                     else vocab.TITLES.get(category) or ["{v}群众反映问题"])
        title = self._pick(templates).replace("{v}", self._village_name(grid)) or "群众反映问题"
        for _ in range(3):
            case_no = self.store.next_case_no(at)
            try:
                self.store.report(writes.NewCase(
                    case_no=case_no, grid_code=grid, category=category, source=src, title=title,
                    description=vocab.DESCRIPTIONS.get(src), reporter_name=name, reporter_phone=phone,
                    reported_at=at, actor=ACTOR))
                action = "surge" if surge is not None else "rereport" if like else "report"
                return Done(at, action, case_no, f"{grid} {category} {src} {title}")
            except writes.WriteRefused as exc:
                if exc.reason != "case_exists":
                    return Done(at, "report", case_no, str(exc), skipped=True)
                self.store.forget_case_no(at)  # another writer took it: read the highest number again
        return Done(at, "report", case_no, "no free case number", skipped=True)

    def _advance(self, at: datetime) -> Done | None:
        open_ = self.store.open_cases(at)
        if not open_:
            return None
        case_no, status, category, county, city, dept = self._pick(open_)
        r = self.rng.random()
        move = self.store.move
        if status == "reported":
            return self._do(at, "accept", case_no, lambda: move("accept", case_no, at))
        if status == "accepted":
            d = self._department_for(category, county, city) if self.rng.random() < 0.45 else None
            return self._do(at, "dispatch", case_no, lambda: move("dispatch", case_no, at, department=d), d or "")
        if status in ("dispatched", "handling") and r < 0.05:
            note = self._pick(vocab.RETURN_NOTES)
            return self._do(at, "return", case_no, lambda: move("return", case_no, at, note=note), note)
        if status in ("dispatched", "handling") and r < 0.07 and dept:
            others = [c for c, reg in self.departments if reg == county and c != dept]
            if others:
                d = self._pick(others)
                return self._do(at, "reassign", case_no, lambda: move("reassign", case_no, at, department=d),
                                f"{dept} → {d}")
        if status == "dispatched":
            return self._do(at, "handle", case_no, lambda: move("handle", case_no, at))
        if status == "handling":
            return self._do(at, "feedback", case_no, lambda: move("feedback", case_no, at))
        if dept:
            level = self._pick(["township", "county", "city"], [0.75, 0.22, 0.03])
        else:
            level = self._pick(["grid", "village"], [0.6, 0.4])
        sat = int(self.rng.choice(5, p=[0.02, 0.03, 0.08, 0.32, 0.55])) + 1 if self.rng.random() < 0.85 else None
        return self._do(at, "close", case_no,
                        lambda: move("close", case_no, at, level=level, satisfaction=sat),
                        f"{level} satisfaction={sat}")

    def _do(self, at: datetime, action: str, case_no: str, write: Callable[[], None], detail: str = "") -> Done:
        try:
            with_retry(write)
        except writes.WriteRefused as exc:
            return Done(at, action, case_no, str(exc), skipped=True)
        return Done(at, action, case_no, detail)

    def _reopen(self, at: datetime) -> Done | None:
        rows = self.store.reopen_candidates(at)
        if not rows:
            return None
        case_no = self._pick(rows)
        note = "群众反映问题未解决，重新办理"
        return self._do(at, "reopen", case_no, lambda: self.store.move("reopen", case_no, at, note=note), note)

    def _rereport(self, at: datetime) -> Done | None:
        """A new report by someone whose case was closed within the last 30 days (same grid and category)."""
        rows = self.store.rereport_candidates(at)
        if not rows:
            return None
        return self._report(at, like=tuple(self._pick(rows)))

    def _supervise(self, at: datetime) -> Done | None:
        rows = self.store.supervise_candidates(at)
        if not rows:
            return None
        case_no = self._pick(rows)
        grade = self._pick(["normal", "yellow", "red"], [0.6, 0.3, 0.1])
        note = self._pick(vocab.SUPERVISION_NOTES[grade])
        order = supervision.SupervisionOrder(case_no=case_no, grade=grade, note=note,
                                             deadline=at + timedelta(days=int(self.rng.integers(2, 11))))
        try:
            sid = with_retry(lambda: self.store.supervise(order, at))
        except writes.WriteRefused as exc:
            return Done(at, "supervise", case_no, str(exc), skipped=True)
        return Done(at, "supervise", case_no, f"{sid} [{grade}] {note}")

    def _resolve(self, at: datetime) -> Done | None:
        rows = self.store.resolve_candidates(at)
        if not rows:
            return None
        sid, case_no = self._pick(rows)
        try:
            with_retry(lambda: self.store.resolve(sid, at))
        except writes.WriteRefused as exc:
            return Done(at, "resolve", case_no, str(exc), skipped=True)
        return Done(at, "resolve", case_no, sid)

    def _duplicate(self, at: datetime) -> Done | None:
        """A report entered twice at the source (two clerks, one call): the copy is withdrawn in a later batch
        (deletions.csv).  Only a store that sends batches does it (its ``weights`` name it)."""
        done = self._report(at)
        if done.skipped:
            return done
        copy = self.store.enter_twice(done.case_no, at)
        return Done(at, "duplicate", done.case_no, f"entered twice as {copy} (withdrawn in a later batch)")


def run(engine: Engine, *, rate: float = 60.0, steps: int | None = None, duration: float | None = None,
        seed: int | None = None, clock: Callable[[], datetime] | None = None,
        out: Callable[[str], None] | None = print, surge: Surge | None = None) -> Counter:
    """Run the feed until ``steps`` actions or ``duration`` seconds (or Ctrl-C); returns the actions taken
    by kind (``skip`` counts refusals).  ``rate`` = actions a minute (0: as fast as possible); ``surge``: reports
    of a surge besides (``--surge``)."""
    feed = Feed(engine, seed=seed, clock=clock, surge=surge)
    if out and feed.surge is not None:
        out(feed.surge.line())
    taken: Counter = Counter()
    interval = 60.0 / rate if rate > 0 else 0.0
    t0 = time.monotonic()
    n = 0
    try:
        while (steps is None or n < steps) and (duration is None or time.monotonic() - t0 < duration):
            done = with_retry(feed.step)
            n += 1
            taken["skip" if done.skipped else done.action] += 1
            if out:
                out(done.line())
            if interval:
                wait = t0 + n * interval - time.monotonic()
                if duration is not None:
                    wait = min(wait, t0 + duration - time.monotonic())
                if wait > 0:
                    time.sleep(wait)
    except KeyboardInterrupt:
        if out:
            out("stopped (every action is one transaction: nothing half-written)")
    return taken


def _database(url: str | None) -> Engine:
    """The engine for ``url`` (default GOV_DB_URL or the embedded SQLite file); :class:`FeedError` when there is no
    such database or it cannot be reached (an SQLite file is never created by the feed)."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from data_access.core.db import default_url, get_engine

    url = url or default_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not Path(path).is_file():
            raise FeedError(f"no database at {path}: start the app once (it builds the demo data), load a dataset "
                            "(python -m data_access load DIR), or give --db")
    try:
        return get_engine(url)
    except ArgumentError:
        raise FeedError(f"--db: not a database URL: {url!r} (sqlite:///PATH or postgresql+psycopg://…)") from None
    except DBAPIError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise FeedError(f"the database cannot be reached: {first}") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sample_data.live", description=(
        "A live demo feed: new cases and their workflow, written into the database, or with --inbox handed over "
        "as batches for python -m data_access sync --watch (docs/OPERATIONS.md, Live demo feed)."))
    ap.add_argument("--db", default=None, help="database URL (default: GOV_DB_URL or the embedded SQLite file)")
    ap.add_argument("--inbox", metavar="DIR", default=None,
                    help="act as the source system: write batches into DIR for 'python -m data_access sync --watch "
                         "DIR' instead of writing into the database (which is only read, at start)")
    ap.add_argument("--interval", type=float, default=None,
                    help="with --inbox: seconds between batches (default 10)")
    ap.add_argument("--batch-steps", type=int, default=None,
                    help="with --inbox: a batch every N actions instead of every --interval seconds")
    ap.add_argument("--rate", type=float, default=60.0, help="actions per minute (default 60; 0 = no pause)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: a new one each run)")
    ap.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many actions")
    ap.add_argument("--clock", choices=("real", "data"), default="data",
                    help="'data' (default): the app's now (GOV_NOW when set) running on; 'real': the wall clock")
    ap.add_argument("--speed", type=float, default=1.0, help="data clock: how many times faster than real time")
    ap.add_argument("--quiet", action="store_true", help="print only the totals")
    ap.add_argument("--surge", metavar="CODE:CATEGORY[:MULTIPLIER]", default=None,
                    help="inject a surge for the early warning's demo: report cases of CATEGORY in the grid or "
                         "region CODE until today holds MULTIPLIER (default 4) × their daily mean of the 28 days "
                         f"before, at least {SURGE_MIN}")
    args = ap.parse_args(argv)
    surge = None
    if args.surge is not None:
        try:
            surge = Surge.parse(args.surge)
        except ValueError as exc:
            ap.error(str(exc))
    if args.inbox is None and (args.batch_steps is not None or args.interval is not None):
        ap.error("--interval and --batch-steps go with --inbox")
    args.interval = 10.0 if args.interval is None else args.interval
    for name, value, ok in (("--rate", args.rate, args.rate >= 0), ("--interval", args.interval, args.interval > 0),
                            ("--speed", args.speed, args.speed > 0),
                            ("--batch-steps", args.batch_steps, args.batch_steps is None or args.batch_steps > 0),
                            ("--steps", args.steps, args.steps is None or args.steps >= 0),
                            ("--duration", args.duration, args.duration is None or args.duration >= 0)):
        if not ok:
            ap.error(f"{name} {value:g}: out of range")
    out = None if args.quiet else (lambda s: print(s, flush=True))
    # SIGTERM ends the feed like Ctrl-C (a batch being written is removed, nothing half-written is left)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        engine = _database(args.db)
        clock = make_clock(args.clock, args.speed)
        where = engine.url.render_as_string(hide_password=True)
        if args.inbox is None:
            print(f"live feed on {where}: {args.rate:g} actions/min, clock {args.clock} from "
                  f"{clock():%Y-%m-%d %H:%M:%S}; Ctrl-C stops", flush=True)
            taken = run(engine, rate=args.rate, steps=args.steps, duration=args.duration, seed=args.seed,
                        clock=clock, out=out, surge=surge)
        else:
            from .live_inbox import InboxProblem, run_inbox

            every = f"every {args.batch_steps} actions" if args.batch_steps else f"every {args.interval:g} s"
            print(f"live source for {where}: batches into {args.inbox} {every} (apply them with python -m "
                  f"data_access sync --watch {args.inbox}); {args.rate:g} actions/min, clock {args.clock} from "
                  f"{clock():%Y-%m-%d %H:%M:%S}; Ctrl-C stops", flush=True)
            try:
                taken, batches = run_inbox(engine, Path(args.inbox), rate=args.rate, steps=args.steps,
                                           duration=args.duration, seed=args.seed, clock=clock,
                                           interval=args.interval, batch_steps=args.batch_steps, out=out,
                                           surge=surge)
            except InboxProblem as exc:
                raise FeedError(str(exc)) from None
            taken["batches"] = len(batches)
    except FeedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("done: " + ", ".join(f"{k} {v}" for k, v in sorted(taken.items())), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
