"""The live feed as a source system: ``python -m sample_data.live --inbox DIR`` (docs/OPERATIONS.md, "Live demo
feed").

Instead of writing into the database, the feed behaves like the grid platform the dashboard follows: it keeps its
own state of the cases (read once from the database at start, then only in memory, so it is never held back by a
sync still catching up) and every ``--interval`` seconds (or every ``--batch-steps`` actions) hands over what changed
as one **batch** folder in DIR, as docs/DATA_CONTRACT.md ("Batches and incremental sync") describes it: the whole
row of every case reported or moved, the new events continuing each case's own numbering (1, 2, 3 …: the source's
run, never the dashboard's from APP_SEQ_BASE), the source's supervision orders issued or resolved, and, for a
report entered twice, the copy withdrawn in ``deletions.csv`` one batch later.  ``python -m data_access sync
--watch DIR`` applies them (the real path); the roll-ups, derived columns and due times then follow as for any
source.

A batch is written into a hidden folder (``DIR/.<batch_id>.tmp``, which the watcher never looks at),
``batch.json`` last (with the number of records of each file), then renamed into place: the watcher sees a batch
whole or not at all, and Ctrl-C (or SIGTERM) leaves nothing half-written in view.  ``produced_at`` is the real time
(a batch's rows must be newer than the rows they replace, which a load or a write in the app stamps with the real
time), strictly increasing from batch to batch and after every batch the database has logged.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, func, or_, select

from data_access.core import derived, schema
from data_access.core.clock import wall_now
from data_access.core.contract import APP_SEQ_BASE, CASE_STEP_COLUMNS as STEP_COLUMNS, FILES
from data_access.core.regions import region_tree
from data_access.ingest.batch import BATCH_JSON, DELETIONS_CSV
from data_access.ingest.exporter import formatter
from data_access.writes import orders as supervision, workflow as writes

from .live import ACTOR, STEP_WEIGHTS

# what the source does besides the direct feed's actions: now and then a report entered twice (withdrawn later)
SOURCE_WEIGHTS = {**STEP_WEIGHTS, "duplicate": 0.01}
_SPECS = {s.table: s for s in FILES}
CASE_COLUMNS = _SPECS["cases"].column_names
EVENT_COLUMNS = _SPECS["case_events"].column_names
ORDER_COLUMNS = _SPECS["supervisions"].column_names
_KINDS = {t: [c.kind for c in _SPECS[t].columns] for t in ("cases", "case_events", "supervisions")}
# the windows the feed's choices look into (Feed and DatabaseStore: open cases of 90 days, overdue ones of a year,
# closed ones of 30 days reported within 60)
OPEN_DAYS, OVERDUE_DAYS, CLOSED_DAYS, CLOSED_REPORTED_DAYS = 90, 365, 30, 60
_CLOSED_COLUMNS = ("closed_at", "resolution_level", "satisfaction")
TMP_PREFIX = "."
TMP_SUFFIX = ".tmp"


class InboxProblem(Exception):
    """The inbox cannot take batches (not a folder, not writable, batches of an earlier run not applied yet)."""


@dataclass
class Written:
    """One batch handed over."""

    batch_id: str
    path: Path
    produced_at: datetime
    new_cases: int = 0
    changed_cases: int = 0
    events: int = 0
    orders: int = 0
    deletions: int = 0
    kept: list[str] = field(default_factory=list)   # copies not withdrawn (the dashboard issued an order on them)

    def line(self) -> str:
        kept = f"; kept {', '.join(self.kept)} (an order issued in the dashboard)" if self.kept else ""
        return (f"batch {self.batch_id}: {self.new_cases} new and {self.changed_cases} changed cases, "
                f"{self.events} events, {self.orders} orders, {self.deletions} withdrawn -> {self.path}{kept}")


def _pending_batches(inbox: Path) -> list[str]:
    """Complete batch folders in the inbox that the watcher has not applied yet (it moves them to done/)."""
    return sorted(p.name for p in inbox.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name not in ("done", "rejected")
                  and (p / BATCH_JSON).is_file())


def prepare_inbox(inbox: Path) -> None:
    """Make sure batches can be written into ``inbox`` (created if missing) and that no batch of an earlier run
    is still waiting there: the feed reads the state of the cases from the database, which does not hold those
    yet.  A hidden folder an interrupted run left behind is removed.  :class:`InboxProblem` says what is wrong."""
    try:
        inbox.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InboxProblem(f"{inbox}: exists and is not a folder") from None
    except OSError as exc:
        raise InboxProblem(f"{inbox}: cannot create the folder ({exc.strerror})") from None
    if not inbox.is_dir():
        raise InboxProblem(f"{inbox}: not a folder")
    if not os.access(inbox, os.W_OK | os.X_OK):
        raise InboxProblem(f"{inbox}: not writable by this user: the feed writes its batches there")
    for p in inbox.iterdir():
        if p.is_dir() and p.name.startswith(TMP_PREFIX) and p.name.endswith(TMP_SUFFIX):
            shutil.rmtree(p, ignore_errors=True)
    waiting = _pending_batches(inbox)
    if waiting:
        more = f" … ({len(waiting)} in all)" if len(waiting) > 3 else ""
        raise InboxProblem(
            f"{inbox}: {len(waiting)} batch(es) not applied yet ({', '.join(waiting[:3])}{more}); the feed starts "
            f"from the database, which does not hold them: apply them first (python -m data_access sync --watch "
            f"{inbox} --once, or leave the watcher running) or move them away")


class InboxStore:
    """The source's side of the feed: the cases it may still move, in memory, and the batch being gathered.

    The moves follow data_access/writes/workflow.py step for step (the same statuses, the same timestamps set and
    cleared, the same org codes on the events), so that a batch applied by the sync leaves the database as the
    direct feed's writes would."""

    weights = SOURCE_WEIGHTS

    def __init__(self, engine: Engine, inbox: Path, start: datetime):
        self.engine = engine
        self.inbox = Path(inbox)
        self.tree = region_tree(engine)
        self.cases: dict[str, dict] = {}       # case_no -> contract columns + _seq, _last, _due, ancestor codes
        self.orders: dict[str, dict] = {}      # the source's open orders: id -> contract columns
        self.ordered: set[str] = set()         # cases with an open order (the dashboard's too)
        self.doomed: set[str] = set()          # copies of a report entered twice, waiting to be withdrawn
        self._seq: dict[str, int] = {}         # case number prefix -> last number used
        self._order_seq: dict[str, int] = {}
        self._changed: dict[str, bool] = {}    # case_no -> new in this batch
        self._events: list[dict] = []
        self._orders_changed: set[str] = set()
        self._copies: list[str] = []           # entered twice during this batch: withdrawn in the next one
        self._withdraw: list[str] = []         # to withdraw in this batch
        self.last_produced = self._read(start)

    # -- the state at start -------------------------------------------------------------------------------
    def _read(self, start: datetime) -> datetime:
        c, e, sv = schema.cases.c, schema.case_events.c, schema.supervisions.c
        cols = [c[n] for n in CASE_COLUMNS if n != "due_at"]
        window = or_(and_(c.status != "closed", c.reported_at >= start - timedelta(days=OVERDUE_DAYS)),
                     and_(c.status == "closed", c.closed_at >= start - timedelta(days=CLOSED_DAYS),
                          c.reported_at >= start - timedelta(days=CLOSED_REPORTED_DAYS)))
        newest = datetime.min
        with self.engine.connect() as conn:
            for row in conn.execute(select(*cols, func.coalesce(c.source_due_at, c.due_at).label("due_at"),
                                           c.due_at.label("_due"), c.city_code.label("_city"),
                                           c.county_code.label("_county"), c.township_code.label("_township"),
                                           c.village_code.label("_village"), c.produced_at)
                                    .where(window)).mappings():
                case = dict(row)
                produced = case.pop("produced_at")
                if produced is not None:
                    newest = max(newest, produced)
                # the case's latest time: no step of the feed goes before it (nor before an event, below)
                case["_seq"] = 0
                case["_last"] = max(t for t in (case[n] for n in STEP_COLUMNS) if t is not None)
                self.cases[case["case_no"]] = case
            for case_no, seq, last in conn.execute(
                    select(e.case_no, func.max(e.seq), func.max(e.at))
                    .select_from(schema.case_events.join(schema.cases, c.case_no == e.case_no))
                    .where(window, e.seq < APP_SEQ_BASE).group_by(e.case_no)):
                case = self.cases[case_no]
                case["_seq"], case["_last"] = int(seq), max(last, case["_last"])
            for row in conn.execute(select(schema.supervisions).where(sv.resolved_at.is_(None))).mappings():
                self.ordered.add(row["case_no"])
                if row["origin"] != "app":
                    self.orders[row["supervision_id"]] = {k: row[k] for k in ORDER_COLUMNS}
                    if row["produced_at"] is not None:
                        newest = max(newest, row["produced_at"])
            logged = conn.execute(select(func.max(schema.sync_batches.c.produced_at))).scalar_one_or_none()
        return max(newest, logged or datetime.min)

    def _next_number(self, counters: dict, prefix: str, column, deleted_table: str | None, width: int) -> str:
        if prefix not in counters:
            with self.engine.connect() as conn:
                tops = [conn.execute(select(func.max(column)).where(column.like(prefix + "%"))).scalar_one_or_none()]
                if deleted_table:
                    d = schema.sync_deletions.c
                    tops.append(conn.execute(select(func.max(d.row_key)).where(
                        d.table_name == deleted_table, d.row_key.like(prefix + "%"))).scalar_one_or_none())
            tails = [t[len(prefix):] for t in tops if t]
            counters[prefix] = max([int(t) for t in tails if t.isdigit()] or [0])
        counters[prefix] += 1
        return f"{prefix}{counters[prefix]:0{width}d}"

    # -- case numbers (the same as the direct feed's, LD + date + number) --------------------------------
    def next_case_no(self, at: datetime) -> str:
        return self._next_number(self._seq, f"LD{at:%Y%m%d}", schema.cases.c.case_no, "cases", 6)

    def forget_case_no(self, at: datetime) -> None:
        pass   # the numbers are this source's own: nobody else takes one

    # -- candidates, as DatabaseStore chooses them ---------------------------------------------------------
    def _movable(self, case: dict, at: datetime) -> bool:
        return case["case_no"] not in self.doomed and case["_last"] <= at

    def open_cases(self, at: datetime) -> list:
        since = at - timedelta(days=OPEN_DAYS)
        return [(k, r["status"], r["category"], r["_county"], r["_city"], r["department_code"])
                for k, r in sorted(self.cases.items())
                if r["status"] != "closed" and r["reported_at"] >= since and self._movable(r, at)]

    def _recently_closed(self, at: datetime, days: int):
        for k, r in sorted(self.cases.items()):
            if (r["status"] == "closed" and r["reported_at"] >= at - timedelta(days=CLOSED_REPORTED_DAYS)
                    and r["closed_at"] >= at - timedelta(days=days) and self._movable(r, at)):
                yield k, r

    def reopen_candidates(self, at: datetime) -> list[str]:
        # not a case settled on the spot (the direct feed leaves them too), and only one that passed through
        # handling: reopened, it is 'handling' again and needs the steps before
        return [k for k, r in self._recently_closed(at, CLOSED_DAYS)
                if not r["on_the_spot"] and r["accepted_at"] and r["dispatched_at"] and r["handled_at"]]

    def rereport_candidates(self, at: datetime) -> list[tuple]:
        return [(r["grid_code"], r["category"], r["reporter_name"], r["reporter_phone"])
                for _k, r in self._recently_closed(at, CLOSED_DAYS - 1)
                if r["closed_at"] < at and r["reporter_phone"] and r["source"] != "patrol"]

    def supervise_candidates(self, at: datetime) -> list[str]:
        since = at - timedelta(days=OVERDUE_DAYS)
        return [k for k, r in sorted(self.cases.items())
                if r["status"] != "closed" and r["_due"] < at and r["reported_at"] >= since
                and k not in self.ordered and self._movable(r, at)]

    def resolve_candidates(self, at: datetime) -> list[tuple[str, str]]:
        return [(sid, o["case_no"]) for sid, o in sorted(self.orders.items())
                if o["resolved_at"] is None and o["issued_at"] <= at and o["case_no"] in self.cases
                and self.cases[o["case_no"]]["status"] == "closed" and self.cases[o["case_no"]]["_last"] <= at]

    # -- the moves ----------------------------------------------------------------------------------------
    def _event(self, case: dict, at: datetime, action: str, org: str | None, note: str | None = None,
               actor: str | None = ACTOR) -> None:
        case["_seq"] += 1
        case["_last"] = at
        self._events.append({"case_no": case["case_no"], "seq": case["_seq"], "at": at, "action": action,
                             "actor": actor, "org_code": org, "note": note})
        self._changed.setdefault(case["case_no"], False)

    def report(self, new: writes.NewCase) -> None:
        if new.case_no in self.cases:
            raise writes.WriteRefused(f"case_no: {new.case_no!r} already exists", "case_exists", case_no=new.case_no)
        node = self.tree.get(new.grid_code)
        if node is None or node.level not in ("grid", "micro_grid"):
            raise writes.WriteRefused(f"grid_code: unknown grid {new.grid_code!r}", "grid_unknown")
        anc = dict(zip(derived.ANCESTOR_COLUMNS, derived.ancestor_codes(
            ((a.level, a.code) for a in self.tree.ancestors(new.grid_code)), node.code,
            node.parent if node.level == "micro_grid" else None)))
        with self.engine.connect() as conn:
            limit = conn.execute(select(schema.categories.c.time_limit_hours)
                                 .where(schema.categories.c.code == new.category)).scalar_one_or_none()
        if limit is None:
            raise writes.WriteRefused(f"category: unknown category {new.category!r}", "category_unknown")
        at = new.reported_at.replace(microsecond=0, tzinfo=None)
        due = derived.calendar_due_at(at, float(limit))   # the source's due time (the sync applies the rules)
        case = {n: None for n in CASE_COLUMNS}
        case.update(case_no=new.case_no, grid_code=new.grid_code, category=new.category, source=new.source,
                    title=new.title, description=new.description, reporter_name=new.reporter_name,
                    reporter_phone=new.reporter_phone, status="reported", reported_at=at, due_at=due,
                    on_the_spot=False, _due=due, _city=anc["city_code"], _county=anc["county_code"],
                    _township=anc["township_code"], _village=anc["village_code"], _seq=0, _last=at)
        self.cases[new.case_no] = case
        self._event(case, at, "report", new.grid_code, actor=new.actor)
        self._changed[new.case_no] = True

    def move(self, action: str, case_no: str, at: datetime, *, department: str | None = None,
             level: str | None = None, satisfaction: int | None = None, note: str | None = None) -> None:
        """The step of writes/workflow.py of the same name, on the case in memory, and its event."""
        case = self.cases.get(case_no)
        if case is None:
            raise writes.WriteRefused(f"case_no: no case {case_no!r}", "case_unknown", case_no=case_no)
        allowed = writes.ALLOWED_FROM[action]
        if case["status"] not in allowed:
            raise writes.WriteRefused(f"status: case {case_no} is '{case['status']}'; {action} needs "
                                      f"{' or '.join(repr(s) for s in allowed)}", "status")
        if at < case["_last"]:
            raise writes.WriteRefused(f"at: {at} is earlier than the case's last step {case['_last']}",
                                      "at_before_last")
        dept = case["department_code"]
        if action == "accept":
            case.update(status="accepted", accepted_at=at)
            org = case["_village"]
        elif action == "dispatch":
            case.update(status="dispatched", dispatched_at=at, department_code=department)
            org = department or case["_township"]
        elif action == "handle":
            case.update(status="handling", handled_at=at)
            org = dept or case["grid_code"]
        elif action == "feedback":
            case.update(status="feedback", feedback_at=at)
            org = case["grid_code"]
        elif action == "close":
            case.update(status="closed", closed_at=at, resolution_level=level, on_the_spot=False,
                        satisfaction=satisfaction)
            org = {"grid": case["grid_code"], "village": case["_village"], "township": case["_township"],
                   "county": case["_county"], "city": case["_city"]}[level]
        elif action == "return":
            case.update(status="accepted", dispatched_at=None, handled_at=None, department_code=None)
            org = dept or case["_township"]
        elif action == "reassign":
            if not department or department == dept:
                raise writes.WriteRefused(f"department_code: case {case_no} is already with {dept}",
                                          "department_same")
            case.update(department_code=department)
            org = department
        elif action == "reopen":
            if case["on_the_spot"]:
                raise writes.WriteRefused(f"case_no: {case_no} was settled on the spot", "status")
            case.update(status="handling", feedback_at=None, **dict.fromkeys(_CLOSED_COLUMNS))
            org = case["_township"]
        else:
            raise ValueError(f"unknown action {action!r}")
        self._event(case, at, action, org, note)

    def supervise(self, order: supervision.SupervisionOrder, at: datetime) -> str:
        """An order of the source (origin 'source', issued by the case's township, by its county when yellow or
        red as the sample data has them) and its ``supervise`` event in the source's numbering."""
        case = self.cases[order.case_no]
        sid = self._next_number(self._order_seq, f"LS{at:%Y%m%d}", schema.supervisions.c.supervision_id, None, 5)
        issuer = (case["_county"] if order.grade != "normal" else case["_township"]) or case["_city"]
        name = self.tree.get(issuer).name if self.tree.get(issuer) else None
        centre = f"{name}网格化服务管理中心" if name else ACTOR
        self.orders[sid] = {"supervision_id": sid, "case_no": order.case_no, "grade": order.grade,
                            "issued_by": issuer, "issued_at": at, "deadline": order.deadline.replace(microsecond=0),
                            "resolved_at": None, "note": order.note, "issued_by_name": centre, "origin": "source"}
        self.ordered.add(order.case_no)
        self._orders_changed.add(sid)
        self._event(case, at, "supervise", issuer, f"[{order.grade}] {order.note}", actor=centre)
        return sid

    def resolve(self, supervision_id: str, at: datetime) -> None:
        o = self.orders[supervision_id]
        o["resolved_at"] = at
        self.ordered.discard(o["case_no"])
        self._orders_changed.add(supervision_id)
        self._event(self.cases[o["case_no"]], at, "note", o["issued_by"],
                    f"督办已办结 / supervision resolved: {supervision_id}", actor=o["issued_by_name"])

    def enter_twice(self, case_no: str, at: datetime) -> str:
        """The report of ``case_no`` entered a second time under a new number; withdrawn one batch later (a
        deletion names a stored case: the copy must be applied first)."""
        first = self.cases[case_no]
        copy_no = self.next_case_no(at)
        self.report(writes.NewCase(case_no=copy_no, grid_code=first["grid_code"], category=first["category"],
                                   source=first["source"], title=first["title"], reported_at=at,
                                   description=first["description"], reporter_name=first["reporter_name"],
                                   reporter_phone=first["reporter_phone"], actor=ACTOR))
        self.doomed.add(copy_no)
        self._copies.append(copy_no)
        return copy_no

    # -- handing over a batch -----------------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        return bool(self._changed or self._orders_changed or self._withdraw)

    def _app_orders(self, case_nos: list[str]) -> set[str]:
        """The copies the dashboard issued an order on meanwhile: a case with the dashboard's orders is never
        deleted (the sync would refuse the batch), so the source keeps it."""
        sv = schema.supervisions.c
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(sv.case_no).where(sv.case_no.in_(case_nos),
                                                                        sv.origin == "app"))}

    def flush(self) -> Written | None:
        """Hand over what changed since the last batch as one batch folder; None when nothing changed."""
        if not self.pending:
            return None
        produced = max(wall_now(), self.last_produced.replace(microsecond=0) + timedelta(seconds=1))
        batch_id = f"live-{produced:%Y%m%d-%H%M%S}"
        final = self.inbox / batch_id
        tmp = self.inbox / f"{TMP_PREFIX}{batch_id}{TMP_SUFFIX}"
        kept = sorted(self._app_orders(self._withdraw)) if self._withdraw else []
        withdraw = [k for k in self._withdraw if k not in kept]
        self.doomed -= set(kept)   # a case like any other now: it moves on
        if not (self._changed or self._orders_changed or withdraw):
            self._withdraw, self._copies = self._copies, []   # only copies the dashboard has an order on: kept
            return None
        files: dict[str, int] = {}
        try:
            tmp.mkdir()
            if self._changed:
                files["cases.csv"] = _write_csv(tmp / "cases.csv", CASE_COLUMNS, _KINDS["cases"],
                                                [self.cases[k] for k in sorted(self._changed)])
            if self._events:
                files["case_events.csv"] = _write_csv(tmp / "case_events.csv", EVENT_COLUMNS,
                                                      _KINDS["case_events"], self._events)
            if self._orders_changed:
                files["supervisions.csv"] = _write_csv(tmp / "supervisions.csv", ORDER_COLUMNS,
                                                       _KINDS["supervisions"],
                                                       [self.orders[k] for k in sorted(self._orders_changed)])
            if withdraw:
                files[DELETIONS_CSV] = _write_csv(tmp / DELETIONS_CSV, ["table", "key"], ["str", "str"],
                                                  [{"table": "cases", "key": k} for k in withdraw])
            info = {"batch_id": batch_id, "produced_at": produced.isoformat() + "+08:00", "files": files}
            (tmp / BATCH_JSON).write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            os.rename(tmp, final)   # the watcher sees the batch whole or not at all
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        written = Written(batch_id, final, produced, new_cases=sum(self._changed.values()),
                          changed_cases=len(self._changed) - sum(self._changed.values()), events=len(self._events),
                          orders=len(self._orders_changed), deletions=len(withdraw), kept=kept)
        for k in withdraw:
            del self.cases[k]
        self.doomed -= set(withdraw)
        for sid in [s for s in self._orders_changed if self.orders[s]["resolved_at"] is not None]:
            del self.orders[sid]   # resolved: nothing more to do with it
        self.last_produced = produced
        self._changed, self._events, self._orders_changed = {}, [], set()
        self._withdraw, self._copies = self._copies, []
        return written


def _write_csv(path: Path, columns: list[str], kinds: list[str], rows: list[dict]) -> int:
    fmts = [formatter(k) for k in kinds]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows([fmt(row[c]) for c, fmt in zip(columns, fmts)] for row in rows)
    return len(rows)


def run_inbox(engine: Engine, inbox: Path, *, rate: float = 60.0, steps: int | None = None,
              duration: float | None = None, seed: int | None = None,
              clock: Callable[[], datetime] | None = None, interval: float = 10.0, batch_steps: int | None = None,
              out: Callable[[str], None] | None = print, surge=None):
    """Run the feed as a source writing batches into ``inbox`` until ``steps`` actions or ``duration`` seconds
    (or Ctrl-C): a batch every ``interval`` seconds, or every ``batch_steps`` actions when given; what is left at
    the end goes out as a last batch (and a copy entered twice in it is withdrawn in one more).  Returns the
    actions taken by kind and the batches written.  Ctrl-C drops the actions not handed over yet: they were
    never sent, so nothing half-written is left.  ``surge`` (a :class:`~sample_data.live.Surge`): reports of a
    surge besides, handed over in the batches like any other."""
    import time
    from collections import Counter

    from .live import Feed, make_clock

    inbox = Path(inbox)
    prepare_inbox(inbox)
    clock = clock or make_clock("data")
    store = InboxStore(engine, inbox, clock())
    feed = Feed(engine, seed=seed, clock=clock, store=store, surge=surge)   # surge: live.Surge (--surge)
    if out and feed.surge is not None:
        out(feed.surge.line())
    taken: Counter = Counter()
    batches: list[Written] = []
    pause = 60.0 / rate if rate > 0 else 0.0

    def hand_over():
        w = store.flush()
        if w is not None:
            batches.append(w)
            taken["withdrawn"] += w.deletions
            if out:
                out(w.line())

    t0 = time.monotonic()
    last = [t0]        # when the last batch was handed over
    since = [0]        # actions since then

    def due() -> bool:
        return since[0] >= batch_steps if batch_steps else time.monotonic() - last[0] >= interval

    def maybe_hand_over():
        if due():
            if since[0] or store.pending:
                hand_over()
            last[0], since[0] = time.monotonic(), 0

    def wait_until(t: float) -> None:
        """Sleep until ``t``, handing over a batch whenever one is due on the way."""
        while True:
            now = time.monotonic()
            maybe_hand_over()
            if now >= t:
                return
            time.sleep(max(0.0, (t if batch_steps else min(t, last[0] + interval)) - now))

    n = 0
    try:
        while (steps is None or n < steps) and (duration is None or time.monotonic() - t0 < duration):
            done = feed.step()
            n += 1
            since[0] += 1
            taken["skip" if done.skipped else done.action] += 1
            if out:
                out(done.line())
            maybe_hand_over()
            if pause:
                t = t0 + n * pause
                if duration is not None:
                    t = min(t, t0 + duration)
                wait_until(t)
        hand_over()
        hand_over()   # the copies entered twice in the last batch are withdrawn in one more
    except KeyboardInterrupt:
        if out:
            out(f"stopped: {since[0]} action(s) since the last batch were not sent; no half-written batch "
                "is left in the inbox")
    return taken, batches
