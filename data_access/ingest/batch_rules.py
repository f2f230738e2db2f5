"""The per-file rules of a dataset, applied to a batch against the database as it stands.

A batch (docs/DATA_CONTRACT.md, "Batches and incremental sync") holds only the rows that are new or changed, so
each rule of rules.py and case_rules.py — the same code a full load runs — must find the rows a batch row refers
to in the batch *or* the database.  :class:`BatchRules` gives them keys that know the database's rows
(:class:`BatchKeys`), fetched beforehand for exactly the values the batch names (:func:`fetch_stored`: no table
is read whole), and adds what only a batch can break: an event rewriting a stored one, an order of the
dashboard changed by the source, a region changing level, a case moving backwards in time or reopened without a
``reopen`` event (:meth:`BatchRules.check_cases`).
"""
from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from data_access.core import schema
from data_access.core.contract import APP_LOG_RUN_ENV, APP_SEQ_BASE, CASE_STEP_COLUMNS, FILES, app_run, own_app_run
from data_access.core.sqlfn import ValueList, in_values
from data_access.ingest.case_rules import DatasetRules, _ts_text
from data_access.ingest.converting import fields
from data_access.ingest.reading import Reader, Report
from data_access.ingest.rules import Keys

CHUNK = 500

# The batch's columns that name a row of another table (or of its own: its key), by file: column -> table(s).
REFERENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "regions.csv": {"code": ("regions",), "parent_code": ("regions",)},
    "grids.csv": {"code": ("grids",), "village_code": ("regions",), "parent_grid_code": ("grids",)},
    "staff.csv": {"staff_id": ("staff",), "grid_code": ("grids",), "region_code": ("regions",)},
    "volunteer_teams.csv": {"team_code": ("volunteer_teams",), "region_code": ("regions",), "grid_code": ("grids",)},
    "volunteer_activities.csv": {"team_code": ("volunteer_teams", "volunteer_activities")},
    "departments.csv": {"code": ("departments",), "region_code": ("regions",)},
    "categories.csv": {"code": ("categories",)},
    "cases.csv": {"case_no": ("cases",), "grid_code": ("grids",), "category": ("categories",),
                  "department_code": ("departments",)},
    "case_events.csv": {"case_no": ("cases", "case_events"), "org_code": ("regions", "departments", "grids")},
    "supervisions.csv": {"supervision_id": ("supervisions",), "case_no": ("cases",), "issued_by": ("regions",)},
    "extensions.csv": {"extension_id": ("case_extensions",), "case_no": ("cases",), "unit_code": ("departments",)},
    "asset_projects.csv": {"project_code": ("asset_projects",), "region_code": ("regions",)},
    "asset_project_months.csv": {"project_code": ("asset_projects", "asset_project_months")},
    "clean_units.csv": {"unit_code": ("clean_units",), "region_code": ("regions",)},
    "clean_unit_reviews.csv": {"unit_code": ("clean_units", "clean_unit_reviews")},
}
# How deletions.csv names a row of each table (a compound key's parts joined by |).  Events are never deleted
# on their own (the log is append-only): deleting a case deletes its log.
DELETION_KEYS: dict[str, tuple[str, ...]] = {
    **{spec.table: spec.key for spec in FILES if spec.key and spec.table != "case_events"},
    "volunteer_activities": ("team_code", "date", "kind"),
}
# Tables whose key is a code: a stored row is fetched by it (the others by their first key column).
_KEY_COLUMN = {t: k[0] for t, k in DELETION_KEYS.items()}


def key_text(key) -> str:
    """A key as deletions.csv and sync_deletions write it."""
    return "|".join(map(str, key)) if isinstance(key, tuple) else str(key)


@dataclass
class Stored:
    """What the database holds of the rows a batch names (fetched once, before the batch's rows are checked)."""

    keys: dict[str, set] = field(default_factory=lambda: defaultdict(set))            # table -> keys stored
    produced: dict[str, dict] = field(default_factory=lambda: defaultdict(dict))      # table -> key -> row time
    region_level: dict[str, str] = field(default_factory=dict)
    region_parent: dict[str, str | None] = field(default_factory=dict)
    grids: dict[str, tuple[str, str | None]] = field(default_factory=dict)           # code -> (village, parent)
    cases: dict[str, dict] = field(default_factory=dict)                             # case_no -> its stored row
    events: dict[tuple[str, int], tuple] = field(default_factory=dict)               # (case_no, seq) -> content
    orders: dict[str, tuple[str, str]] = field(default_factory=dict)                 # id -> (origin, case_no)
    app_orders: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # case_no -> app order ids
    # case_no -> the ids of the extension requests made in the dashboard (origin 'app') on the cases named
    extensions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    ext_rows: dict[str, tuple[str, str]] = field(default_factory=dict)               # id -> (origin, case_no)
    # case_no -> the id of its request awaiting a decision (any origin) on the cases named: one at a time
    pending_ext: dict[str, str] = field(default_factory=dict)
    activities: dict[tuple, list[tuple]] = field(default_factory=lambda: defaultdict(list))  # (team, date, kind)
    tombstones: dict[tuple[str, str], datetime] = field(default_factory=dict)       # (table, key) -> row time


# --- what the batch names ----------------------------------------------------------------------------------

def referenced(folder, present: Iterable[str], deletions: list[tuple[str, str]]) -> dict[str, set]:
    """table -> the values the batch's files name in it (read raw from the files; a cell that does not convert
    is reported later by the pass itself)."""
    refs: dict[str, set] = defaultdict(set)
    for name in present:
        cols = REFERENCES.get(name, {})
        reader = Reader(folder / name)
        try:
            header = reader.header() or []
            pos = [(header.index(c), tables) for c, tables in cols.items() if c in header]
            for _line, row in reader.rows():
                if len(row) != len(header):
                    continue
                for i, tables in pos:
                    v = row[i]
                    if v != "":
                        for t in tables:
                            refs[t].add(v)
        except (csv.Error, UnicodeDecodeError):
            pass   # an unreadable file: the pass reports it
        finally:
            reader.close()
    for table, key in deletions:
        if table in DELETION_KEYS:
            refs[table].add(key.split("|", 1)[0])
            if table == "cases":
                refs["case_events"].add(key)
    return refs


def _chunks(values) -> Iterable[list]:
    values = sorted(values)
    for i in range(0, len(values), STORED_CHUNK):
        yield values[i:i + STORED_CHUNK]


# the stored rows a batch refers to are read by one statement a table (up to this many keys), the keys bound as one
# parameter (sqlfn.in_values): IN lists of 500 made ~100 statements for a 10,000-case batch, each rendered and
# (PostgreSQL) split again on the client, 3.7 of the 19 s of client CPU of such a batch's profile
STORED_CHUNK = 20_000


def _in(col, values: list):
    """``col`` is one of ``values`` (strings), bound as one parameter."""
    return in_values(col, bindparam(None, list(values), type_=ValueList()))


def fetch_stored(conn: Connection, refs: dict[str, set]) -> Stored:
    """The database's rows of every value in ``refs`` (and the region chains above the regions and grids named)."""
    s = Stored()
    t = schema.metadata.tables
    # grids first: their villages join the regions whose chains are read
    g = schema.grids.c
    for part in _chunks(refs.get("grids", ())):
        for code, village, parent, produced in conn.execute(
                select(g.code, g.village_code, g.parent_grid_code, g.produced_at).where(_in(g.code, part))):
            s.grids[code] = (village, parent)
            s.keys["grids"].add(code)
            s.produced["grids"][code] = produced
    parents = {p for _v, p in s.grids.values() if p is not None and p not in s.grids}
    for part in _chunks(parents):
        for code, village, parent, produced in conn.execute(
                select(g.code, g.village_code, g.parent_grid_code, g.produced_at).where(_in(g.code, part))):
            s.grids[code] = (village, parent)
            s.keys["grids"].add(code)
            s.produced["grids"][code] = produced
    r = schema.regions.c
    pending = set(refs.get("regions", ())) | {v for v, _p in s.grids.values()}
    while pending:
        found = set()
        for part in _chunks(pending):
            for code, level, parent, produced in conn.execute(
                    select(r.code, r.level, r.parent_code, r.produced_at).where(_in(r.code, part))):
                s.region_level[code] = level
                s.region_parent[code] = parent
                s.keys["regions"].add(code)
                s.produced["regions"][code] = produced
                found.add(code)
        pending = {s.region_parent[c] for c in found if s.region_parent[c]} - set(s.region_level)
    # tables keyed by a code
    for table in ("staff", "volunteer_teams", "departments", "categories", "asset_projects", "clean_units"):
        tbl = t[table]
        col = tbl.c[_KEY_COLUMN[table]]
        for part in _chunks(refs.get(table, ())):
            for key, produced in conn.execute(select(col, tbl.c.produced_at).where(_in(col, part))):
                s.keys[table].add(key)
                s.produced[table][key] = produced
    # the months of projects and units: (code, month)
    for table, code_col in (("asset_project_months", "project_code"), ("clean_unit_reviews", "unit_code")):
        tbl = t[table]
        for part in _chunks(refs.get(table, ())):
            for code, month, produced in conn.execute(
                    select(tbl.c[code_col], tbl.c.month, tbl.c.produced_at).where(_in(tbl.c[code_col], part))):
                s.keys[table].add((code, month))
                s.produced[table][(code, month)] = produced
    # cases, whole rows (the transitions are checked against them, their old roll-up slices refreshed)
    c = schema.cases
    for part in _chunks(refs.get("cases", ())):
        for row in conn.execute(select(c).where(_in(c.c.case_no, part))).mappings():
            s.cases[row["case_no"]] = dict(row)
            s.keys["cases"].add(row["case_no"])
            s.produced["cases"][row["case_no"]] = row["produced_at"]
    e = schema.case_events.c
    for part in _chunks(refs.get("case_events", ())):
        for row in conn.execute(select(e.case_no, e.seq, e.at, e.action, e.actor, e.org_code, e.note)
                                .where(_in(e.case_no, part))):
            s.events[(row[0], row[1])] = (_ts_text(row[2]), *row[3:])
    sv = schema.supervisions.c
    case_nos = sorted(refs.get("cases", ()))
    for part in _chunks(refs.get("supervisions", ())):
        for sid, origin, case_no, produced in conn.execute(
                select(sv.supervision_id, sv.origin, sv.case_no, sv.produced_at).where(_in(sv.supervision_id, part))):
            s.orders[sid] = (origin, case_no)
            s.keys["supervisions"].add(sid)
            s.produced["supervisions"][sid] = produced
    for part in _chunks(case_nos):   # the dashboard's orders on the cases named (a deletion must not lose one)
        for sid, case_no in conn.execute(select(sv.supervision_id, sv.case_no)
                                         .where(_in(sv.case_no, part), sv.origin == "app")):
            s.app_orders[case_no].append(sid)
    ce = schema.case_extensions.c
    for part in _chunks(refs.get("case_extensions", ())):
        for eid, origin, case_no, produced in conn.execute(
                select(ce.extension_id, ce.origin, ce.case_no, ce.produced_at).where(_in(ce.extension_id, part))):
            s.ext_rows[eid] = (origin, case_no)
            s.keys["case_extensions"].add(eid)
            s.produced["case_extensions"][eid] = produced
    for part in _chunks(case_nos):   # the dashboard's extension requests on them (likewise)
        for eid, case_no in conn.execute(select(ce.extension_id, ce.case_no)
                                         .where(_in(ce.case_no, part), ce.origin == "app")):
            s.extensions[case_no].append(eid)
        for eid, case_no in conn.execute(select(ce.extension_id, ce.case_no)
                                         .where(_in(ce.case_no, part), ce.status == "requested")):
            s.pending_ext[case_no] = eid
    a = schema.volunteer_activities.c
    for part in _chunks(refs.get("volunteer_activities", ())):
        for row in conn.execute(select(a.team_code, a.date, a.kind, a.participants, a.hours, a.note)
                                .where(_in(a.team_code, part))):
            team, day, kind = row[0], str(row[1]), row[2]
            s.activities[(team, day, kind)].append((team, day, kind, *row[3:]))
    for table, keys in refs.items():
        if table in DELETION_KEYS:
            tomb = schema.sync_deletions.c
            for part in _chunks(keys):
                for name, key, produced in conn.execute(
                        select(tomb.table_name, tomb.row_key, tomb.produced_at)
                        .where(tomb.table_name == table, _in(tomb.row_key, part))):
                    s.tombstones[(name, key)] = produced
    return s


# --- the rules ---------------------------------------------------------------------------------------------

class BatchKeys(Keys):
    """Keys of one file of a batch: its own rows (duplicates reported as in a load) and the database's rows that
    the batch does not delete."""

    def __init__(self, what: str, stored: Iterable = (), deleted: Iterable = ()):
        super().__init__(what)
        self.deleted = set(deleted)
        self.stored = set(stored) - self.deleted

    def check(self, value, line: int, report: Report, column: str) -> bool:
        first = self.lines.get(value)
        if first is None:
            if value in self.stored:
                return True
            if value in self.deleted:
                report(line, column, f"{self.what} '{value}' is deleted by this batch (deletions.csv)")
            elif not self.incomplete:
                report(line, column, f"unknown {self.what} '{value}'")
            return False
        return first > 0

    def __contains__(self, value) -> bool:
        first = self.lines.get(value)
        if first is None:
            return value in self.stored
        return first > 0


class _StoredAncestry(dict):
    """grid -> ancestor codes; a grid of the database (not in the batch) gets them on first use, from the region
    chain as the batch leaves it (a village the batch moved carries its grids' cases with it)."""

    def __init__(self, rules: BatchRules):
        super().__init__()
        self.rules = rules

    def __missing__(self, grid: str):
        village, parent = self.rules.stored.grids[grid]
        value = self[grid] = self.rules._ancestry(grid, village, parent)
        return value


_region_code_level = fields("regions", "code", "level")
_event_key = fields("case_events", "case_no", "seq")
_EVENT_CONTENT = ("at", "action", "actor", "org_code", "note")
_event_content = fields("case_events", *_EVENT_CONTENT)
_order_cols = fields("supervisions", "supervision_id", "origin")
_extension_origin_cols = fields("case_extensions", "extension_id", "case_no", "origin")
_extension_status = fields("case_extensions", "status")
_STEP_CLEARED_BY = {"dispatched_at": "return", "handled_at": "return", "feedback_at": "reopen",
                    "closed_at": "reopen"}


class BatchRules(DatasetRules):
    """The load's rules (DatasetRules), their references resolved against the batch and the database together."""

    def __init__(self, report: Report, stored: Stored, deleted: dict[str, set], from_dashboard: bool = False):
        super().__init__(report)
        self.stored = stored
        # a batch of another dashboard (export --since) may carry its own log entries, in its run; never in ours
        self.from_dashboard = from_dashboard
        self.own_run = None
        if from_dashboard:
            try:
                self.own_run = own_app_run()
            except ValueError as exc:   # a setting of this installation: said once, the batch refused
                report.start("batch.json")
                report(None, "since", f"a batch of another dashboard needs this dashboard's log run: {exc}")
        for attr, table in (("regions", "regions"), ("grids", "grids"), ("teams", "volunteer_teams"),
                            ("departments", "departments"), ("categories", "categories"),
                            ("projects", "asset_projects"), ("units", "clean_units"), ("cases", "cases")):
            old = getattr(self, attr)
            setattr(self, attr, BatchKeys(old.what, stored.keys.get(table, ()), deleted.get(table, ())))
        self.keys_of = {"regions": self.regions, "grids": self.grids, "volunteer_teams": self.teams,
                        "departments": self.departments, "categories": self.categories,
                        "asset_projects": self.projects, "clean_units": self.units, "cases": self.cases}
        for code, level in stored.region_level.items():
            if code in self.regions.stored:
                self.region_level[code] = level
                self.region_parent[code] = stored.region_parent[code]
        self.known_grid_parents = {code: parent for code, (_v, parent) in stored.grids.items()
                                   if code in self.grids.stored}
        self.grid_ancestry = _StoredAncestry(self)
        self.deleted = deleted
        self.ext_status: dict[str, str | None] = {}               # extension_id -> the status the batch sends
        self.ext_pending: list[tuple[str, str, int]] = []         # (id, case_no, line) sent awaiting a decision
        self._events = Keys("event")
        self.unchanged_events = 0
        self.new_events: dict[str, list[tuple[int, str]]] = defaultdict(list)   # case_no -> [(seq, action)]

    def start_file(self, spec) -> None:
        super().start_file(spec)
        if spec.table == "case_events":
            self._org_codes = self._org_codes | self.regions.stored | self.departments.stored | self.grids.stored

    def row_regions(self, v: tuple, ok: bool, line: int):
        code, level = _region_code_level(v)
        was = self.stored.region_level.get(code)
        if was is not None and level is not None and level != was:
            self.report(line, "level", f"region '{code}' is a {was}; a batch cannot change a region's level "
                                       "(load the whole dataset instead)")
            ok = False
        return super().row_regions(v, ok, line)

    def row_case_events(self, v: tuple, ok: bool, line: int):
        case_no, seq = _event_key(v)
        if seq is not None and seq >= APP_SEQ_BASE:
            run = app_run(seq)
            if not self.from_dashboard:
                self.report(line, "seq", f"{seq} is in the dashboard's own range (from {APP_SEQ_BASE}): the source "
                                         "numbers its events 1, 2, 3 …")
                ok = False
            elif run == self.own_run:
                self.report(line, "seq", f"{seq} is in this dashboard's own run ({APP_LOG_RUN_ENV}={run}: "
                                         f"{run * APP_SEQ_BASE} …), where only its own entries are numbered: the "
                                         f"dashboard that exported the batch must have another {APP_LOG_RUN_ENV}")
                ok = False
        if case_no is not None and seq is not None and not self._events.add((case_no, seq), line, self.report,
                                                                                 "seq"):
            return None
        out = super().row_case_events(v, ok, line)
        if out is None:
            return None
        stored = self.stored.events.get((case_no, seq))
        if stored is not None:
            new = _event_content(v)
            if tuple(new) == stored:
                self.unchanged_events += 1
                return None
            col, was, now = next((c, a, b) for c, a, b in zip(_EVENT_CONTENT, stored, new) if a != b)
            self.report(line, col, f"event seq {seq} of case '{case_no}' is stored with {col} "
                                   f"{_shown(was)}, not {_shown(now)}: the log is append-only (a stored event "
                                   "is never rewritten; a correction is a new event)")
            return None
        self.new_events[case_no].append((seq, _event_content(v)[1]))
        return out

    def row_supervisions(self, v: tuple, ok: bool, line: int):
        sid, origin = _order_cols(v)
        stored = self.stored.orders.get(sid)
        if stored is not None and stored[0] == "app" and origin != "app":
            self.report(line, "supervision_id", f"order '{sid}' was issued in the dashboard (origin 'app'); the "
                                                "source cannot change it")
            ok = False
        return super().row_supervisions(v, ok, line)

    def row_case_extensions(self, v: tuple, ok: bool, line: int):
        eid, case_no, origin = _extension_origin_cols(v)
        stored = self.stored.ext_rows.get(eid)
        if stored is not None and stored[0] == "app" and origin != "app":
            self.report(line, "extension_id", f"extension request '{eid}' was made in the dashboard (origin 'app'); "
                                              "the source cannot change it")
            ok = False
        elif stored is not None and case_no is not None and stored[1] != case_no:
            self.report(line, "case_no", f"extension request '{eid}' is on case '{stored[1]}'; a request never moves "
                                         "to another case (withdraw it with deletions.csv and send a new one)")
            ok = False
        out = super().row_case_extensions(v, ok, line)
        if out is not None:
            status = _extension_status(v)
            self.ext_status[eid] = status
            if status == "requested":
                self.ext_pending.append((eid, case_no, line))
        return out

    def check_pending_extensions(self) -> None:
        """At most one request of a case awaits a decision, the stored ones counted too (the file's own rows are
        checked as they are read, case_rules): a request sent awaiting a decision on a case whose stored one
        still awaits one after the batch (neither decided nor deleted by it) is refused.  After the whole file,
        so the row deciding the stored request may come after the new one."""
        withdrawn = self.deleted.get("case_extensions", set())
        for eid, case_no, line in self.ext_pending:
            other = self.stored.pending_ext.get(case_no)
            if other is None or other == eid or other in withdrawn or self.ext_status.get(other, "requested") != \
                    "requested":
                continue
            self.report(line, "status", f"case '{case_no}' already has a request awaiting a decision "
                                        f"('{other}', stored in the database)")

    # -- after every file: a stored case changed by the batch ------------------------------------------------

    def check_cases(self, columns: list[str], rows: list[tuple], skipped: set) -> None:
        """A changed case never moves backwards in time: no step time earlier than the stored one, a reached step
        cleared only by a ``return`` or ``reopen`` event of this batch, a closed case reopened only with a
        ``reopen`` event (docs/DATA_CONTRACT.md)."""
        report = self.report
        idx = {c: i for i, c in enumerate(columns)}
        for row in rows:
            case_no = row[idx["case_no"]]
            was = self.stored.cases.get(case_no)
            if was is None or case_no in skipped:
                continue
            line = self.cases.lines.get(case_no)
            actions = {a for _s, a in self.new_events.get(case_no, ())}
            status = row[idx["status"]]
            reopen_missing = was["status"] == "closed" and status != "closed" and "reopen" not in actions
            if reopen_missing:
                report(line, "status", f"case '{case_no}' is closed (closed_at {_ts_text(was['closed_at'])}); a "
                                       f"closed case is reopened only with a 'reopen' event in case_events.csv, "
                                       f"not set to '{status}'")
            for col in CASE_STEP_COLUMNS:
                old, new = was[col], row[idx[col]]
                if old is None:
                    continue
                old = _ts_text(old)
                if new is None:
                    needs = _STEP_CLEARED_BY.get(col)
                    if reopen_missing and needs == "reopen":
                        continue
                    if needs is None or needs not in actions:
                        report(line, col, f"is empty, but case '{case_no}' entered this step at {old}; only "
                               + (f"a '{needs}' event in case_events.csv clears it" if needs
                                  else "a full load can take a step back") + " (nothing moves backwards in time)")
                elif new < old:
                    report(line, col, f"{new} is earlier than the stored {old}: nothing moves backwards in time")


def _shown(v) -> str:
    return "empty" if v is None else f"'{v}'"


def deletion_key(table: str, key: str):
    """deletions.csv's key of ``table`` as the table's key (a tuple for a compound one), or None if malformed."""
    cols = DELETION_KEYS[table]
    parts = key.split("|")
    if len(parts) != len(cols) or any(p == "" for p in parts):
        return None
    return parts[0] if len(cols) == 1 else tuple(parts)

