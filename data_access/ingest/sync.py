"""Applying a batch of the source's changes: ``python -m data_access sync DIR`` (docs/DATA_CONTRACT.md, "Batches
and incremental sync").

One transaction: the batch is read and checked against itself and the database as they stand, with the load's own
per-file rules (:mod:`batch_rules` resolves their references against both); its rows are merged by key (an upsert,
the same statement on SQLite and PostgreSQL), its deletions made; the event sequences and the deletions'
references are checked in SQL; then what derives from the cases follows for the cases the batch touched only —
their derived columns (core/derived.py, through the case rule), event counts and re-reports (core/derive.py),
due times (core/time_limits.py), the search index (its triggers on SQLite, its indexes on PostgreSQL), the
ancestor codes when the batch moved a grid or a region, and the roll-up slices they were in and are in now
(core/rollups.py).  Any problem: rollback, nothing changed, :class:`BatchRefused` with every problem as
``file:line column: reason`` (the refusal is logged in ``sync_batches`` with its report).  A batch already
applied changes nothing (:attr:`SyncResult.already_applied`).  A row older than the stored one (by row time) is
skipped, never applied.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from data_access.core import batches, callbacks, duplicates, meta, schema, search
from data_access.core import warnings as early_warnings
from data_access.core.bulk import insert_rows, json_doc, json_rows
from data_access.core.clock import TZ, wall_now
from data_access.core.contract import FILES, Col, FileSpec
from data_access.core.db import no_statement_timeout
from data_access.core.derive import derive_bounces, derive_event_counts, derive_rereported
from data_access.core.derived import ANCESTOR_COLUMNS, rereports_sql
from data_access.core.keyset import KeySet
from data_access.core.regions import rebuild_node_paths, served_node
from data_access.core.rollups import (
    Contribution,
    apply_contributions,
    combine,
    contributions,
    lock_rollups,
    rebuild_structure_summary,
    rebuild_team_summary,
    refresh_case_summary,
    refresh_structure_summary,
    refresh_team_summary,
)
from data_access.core.sqlfn import ValueList, in_values
from data_access.core.time_limits import apply_rules
from data_access.ingest.batch import (
    BATCH_JSON,
    DELETIONS_CSV,
    BatchInfo,
    check_complete,
    read_batch_json,
)
from data_access.ingest.batch_rules import (
    DELETION_KEYS,
    BatchRules,
    deletion_key,
    fetch_stored,
    key_text,
    referenced,
)
from data_access.ingest.converting import compile_converter
from data_access.ingest.dataset_pass import DatasetPass
from data_access.ingest.reading import Reader, Report, TooMany, header_positions

# one sync at a time on PostgreSQL (SQLite: BEGIN IMMEDIATE takes the one write lock)
SYNC_LOCK_KEY = 0x5359_4E43   # "SYNC"
# PostgreSQL's random_page_cost inside a batch's transaction (sync_batch): the cost of a page read at random when the
# indexes a batch probes by key are in memory, as on any server sized for its data (the default 4 is a disk's).
BATCH_RANDOM_PAGE_COST = 1.1
_DELETIONS = FileSpec(DELETIONS_CSV, "sync_deletions", (
    Col("table", "enum", required=True, enum=(*DELETION_KEYS, "case_events")), Col("key", required=True)))
# rows that refer to a row of each table, (table, column): a deletion of a row still referred to is refused
REFERRERS: dict[str, tuple[tuple[str, str], ...]] = {
    "regions": (("regions", "parent_code"), ("grids", "village_code"), ("staff", "region_code"),
                ("volunteer_teams", "region_code"), ("departments", "region_code"), ("supervisions", "issued_by"),
                ("asset_projects", "region_code"), ("clean_units", "region_code"), ("case_events", "org_code")),
    "grids": (("grids", "parent_grid_code"), ("staff", "grid_code"), ("volunteer_teams", "grid_code"),
              ("cases", "grid_code"), ("case_events", "org_code")),
    "departments": (("cases", "department_code"), ("case_events", "org_code"), ("case_extensions", "unit_code")),
    "categories": (("cases", "category"),),
    "volunteer_teams": (("volunteer_activities", "team_code"),),
    "asset_projects": (("asset_project_months", "project_code"),),
    "clean_units": (("clean_unit_reviews", "unit_code"),),
    # its events and the source's orders and extension requests go with it; the dashboard's refuse it (checked first)
    "cases": (),
}
_KEY = {t: k for t, k in DELETION_KEYS.items()}
_CHUNK = 500


class BatchRefused(Exception):
    """The batch breaks the contract or does not fit the database; nothing was applied."""

    def __init__(self, problems: list[str], warnings: list[str] | None = None, batch_id: str | None = None):
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        self.batch_id = batch_id
        head = "; ".join(self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the batch: {head}{more}")


@dataclass
class TableCounts:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0      # older than the stored row (or than its deletion): not applied
    unchanged: int = 0    # events already stored with the same content, activities already stored


@dataclass
class SyncResult:
    batch_id: str
    produced_at: datetime
    already_applied: bool = False
    applied_at: datetime | None = None    # when it was applied (before, if already_applied)
    counts: dict[str, TableCounts] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    cases_touched: int = 0
    slices: int = 0        # (report month, township) slices of the roll-ups the batch changed
    rollup_rows: int = 0   # roll-up rows changed (added to, inserted or deleted), case_summary_county's included
    seconds: float = 0.0
    # until the commit, when the batch's rows are what every reader sees; the rest of ``seconds`` is what follows
    # it (the search indexes' pending entries, the repeat cases and early warnings of the batch's villages)
    applied_seconds: float = 0.0
    changed_at: datetime | None = None   # the stamp of the rows it wrote (None: it changed no case)

    @property
    def rows(self) -> int:
        return sum(c.inserted + c.updated + c.deleted for c in self.counts.values())


# --- reading the batch -------------------------------------------------------------------------------------

class _Collector:
    """A writer that keeps the rows a rule returns (the pass's writer: dataset_pass.DatasetPass.writer)."""

    def __init__(self, cols: list[str]):
        self.cols, self.rows, self.n, self.failed = cols, [], 0, None

    def write(self, row: tuple) -> None:
        self.n += 1
        self.rows.append(row)

    def close(self) -> None:
        pass


class BatchPass(DatasetPass):
    """The load's pass over a folder (dataset_pass.py), over the files a batch has, keeping the rows."""

    all_files_required = False

    def __init__(self, folder: Path, conn: Connection, report: Report, from_dashboard: bool = False):
        super().__init__(folder, None, None, report=report)
        self.db = conn
        self.from_dashboard = from_dashboard
        self.rows: dict[str, tuple[list[str], list[tuple]]] = {}
        self.deletions: list[tuple[int, str, str, object]] = []   # (line, table, key text, key)

    def writer(self, spec: FileSpec, cols: list[str], extra: tuple):
        return _Collector(cols)

    def finish_writer(self, spec: FileSpec, writer) -> None:
        try:
            super().finish_writer(spec, writer)
        finally:
            self.rows[spec.table] = (writer.cols, writer.rows)

    def run(self) -> None:
        present = [s.name for s in FILES if (self.dir / s.name).is_file()]
        known = {s.name for s in FILES} | {DELETIONS_CSV}
        for p in sorted(self.dir.iterdir()):
            if p.suffix.lower() == ".csv" and p.name not in known:
                self.report.warnings.append(f"{p.name}: not a file of the format, ignored")
        self.read_deletions()
        refs = referenced(self.dir, present, [(t, k) for _l, t, k, _key in self.deletions])
        self.stored = fetch_stored(self.db, refs)
        deleted: dict[str, set] = defaultdict(set)
        for _line, table, _k, key in self.deletions:
            deleted[table].add(key)
        self.rules = BatchRules(self.report, self.stored, deleted, self.from_dashboard)
        for spec in FILES:
            if spec.name not in present:
                continue
            self.report.start(spec.name)
            try:
                self.load_file(spec)
            except TooMany:
                self.rules.mark_incomplete(spec.table)

    def read_deletions(self) -> None:
        path = self.dir / DELETIONS_CSV
        if not path.is_file():
            return
        report = self.report
        report.start(DELETIONS_CSV)
        reader = Reader(path)
        try:
            header = reader.header()
            if header is None:
                report(1, None, "empty file: the header row is missing")
                return
            pos = header_positions(_DELETIONS, header, report)
            if pos is None:
                return
            convert = compile_converter(_DELETIONS, pos, report)
            seen: dict[tuple[str, str], int] = {}
            for line, row in reader.rows():
                if len(row) != len(header):
                    report(line, None, f"expected {len(header)} fields, found {len(row)}")
                    continue
                (table, key_cell), ok = convert(row, line)
                if not ok:
                    continue
                if table == "case_events":
                    report(line, "table", "the case log is append-only: an event is deleted only with its case")
                    continue
                key = deletion_key(table, key_cell)
                if key is None:
                    report(line, "key", f"'{key_cell}' is not a key of {table} "
                                        f"({' | '.join(DELETION_KEYS[table])})")
                    continue
                shown = key_text(key)
                if (table, shown) in seen:
                    report(line, "key", f"{table} '{shown}' is deleted twice (first on line {seen[(table, shown)]})")
                    continue
                seen[(table, shown)] = line
                self.deletions.append((line, table, shown, key))
        except TooMany:
            pass
        finally:
            reader.close()


# --- the plan: what the batch changes, row by row ----------------------------------------------------------

@dataclass
class _Plan:
    info: BatchInfo
    counts: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    upserts: dict[str, tuple[list[str], list[tuple]]] = field(default_factory=dict)
    activities: list[tuple] = field(default_factory=list)
    deletions: list[tuple[int, str, str, object]] = field(default_factory=list)
    skipped_cases: set = field(default_factory=set)


def _newer(stored_time: datetime | None, produced_at: datetime) -> bool:
    """The stored row (or deletion) is newer than the batch: the batch's row is skipped."""
    return stored_time is not None and stored_time > produced_at


def _plan(bp: BatchPass, info: BatchInfo) -> _Plan:
    plan = _Plan(info)
    stored = bp.stored
    produced = info.produced_at
    for spec in FILES:
        if spec.table not in bp.rows:
            continue
        cols, rows = bp.rows[spec.table]
        counts = plan.counts[spec.table]
        if spec.table == "case_events":
            counts.unchanged += bp.rules.unchanged_events
            counts.inserted += len(rows)
            plan.upserts["case_events"] = (cols, rows)
            continue
        if spec.table == "volunteer_activities":
            kept = []
            for row in rows:
                team, day, kind = row[0], row[1], row[2]
                tomb = stored.tombstones.get(("volunteer_activities", key_text((team, day, kind))))
                if _newer(tomb, produced):
                    counts.skipped += 1
                elif row in stored.activities.get((team, day, kind), ()):
                    counts.unchanged += 1
                else:
                    kept.append(row)
            counts.inserted += len(kept)
            plan.activities = kept
            continue
        idx = [cols.index(k) for k in spec.key]
        kept = []
        for row in rows:
            key = row[idx[0]] if len(idx) == 1 else tuple(row[i] for i in idx)
            tomb = stored.tombstones.get((spec.table, key_text(key)))
            if key in stored.keys.get(spec.table, ()):
                if _newer(stored.produced[spec.table].get(key), produced):
                    counts.skipped += 1
                    if spec.table == "cases":
                        plan.skipped_cases.add(key)
                    continue
                counts.updated += 1
            elif _newer(tomb, produced):
                counts.skipped += 1
                if spec.table == "cases":
                    plan.skipped_cases.add(key)
                continue
            else:
                counts.inserted += 1
            kept.append(row)
        plan.upserts[spec.table] = (cols, kept)
    for line, table, shown, key in bp.deletions:
        if key in stored.keys.get(table, ()) or (table == "volunteer_activities" and key in stored.activities):
            produced_row = stored.produced.get(table, {}).get(key)
            if _newer(produced_row, produced):
                plan.counts[table].skipped += 1
                continue
            plan.deletions.append((line, table, shown, key))
    return plan


def _check_deletions(bp: BatchPass, report: Report) -> None:
    """A deletion names a stored row, not one the batch also sends, not a case with the dashboard's orders or
    extension requests."""
    stored = bp.stored
    report.start(DELETIONS_CSV)
    for line, table, shown, key in bp.deletions:
        exists = key in stored.keys.get(table, ()) or (table == "volunteer_activities" and key in stored.activities)
        if not exists:
            if bp.from_dashboard:   # added and withdrawn there since the batch's time, or deleted here already
                continue
            report(line, "key", f"no {table} row '{shown}' to delete")
            continue
        if table in bp.rows and table != "volunteer_activities":
            spec = next(s for s in FILES if s.table == table)
            cols, rows = bp.rows[table]
            idx = [cols.index(k) for k in spec.key]
            if any((r[idx[0]] if len(idx) == 1 else tuple(r[i] for i in idx)) == key for r in rows):
                report(line, "key", f"{table} '{shown}' is deleted and also sent in {spec.name}")
                continue
        if table == "cases" and stored.app_orders.get(key):
            ids = ", ".join(sorted(stored.app_orders[key]))
            report(line, "key", f"case '{shown}' has supervision orders issued in the dashboard ({ids}); a case "
                                "with the dashboard's orders is never deleted")
        if table == "cases" and stored.extensions.get(key):
            ids = ", ".join(sorted(stored.extensions[key]))
            report(line, "key", f"case '{shown}' has extension requests made in the dashboard ({ids}); a case "
                                "with the dashboard's extension requests is never deleted")
        if table == "supervisions" and stored.orders.get(key, ("",))[0] == "app":
            report(line, "key", f"order '{shown}' was issued in the dashboard; the source cannot delete it")
        if table == "case_extensions" and stored.ext_rows.get(key, ("",))[0] == "app":
            report(line, "key", f"extension request '{shown}' was made in the dashboard; the source cannot "
                                "delete it")


# --- applying ------------------------------------------------------------------------------------------------

def _to_python(table, cols: list[str]):
    """Converters of the pass's values (timestamps and dates as text) to what the column's type binds."""
    out = []
    for name in cols:
        t = table.c[name].type
        if isinstance(t, DateTime):
            out.append(lambda v: v if v is None or isinstance(v, datetime) else datetime.fromisoformat(v))
        elif isinstance(t, Date):
            out.append(lambda v: v if v is None or isinstance(v, date) else date.fromisoformat(v))
        else:
            out.append(None)
    return out


def _dicts(table, cols: list[str], rows: list[tuple], extra: dict) -> list[dict]:
    conv = _to_python(table, cols)
    out = []
    for row in rows:
        d = {c: (v if f is None else f(v)) for c, f, v in zip(cols, conv, row)}
        d.update(extra)
        out.append(d)
    return out


def _insert(conn: Connection, table):
    """The dialect's INSERT that can take ON CONFLICT (SQLite ≥ 3.24 and PostgreSQL: the same statement)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def upsert(conn: Connection, table, key: tuple[str, ...], rows: list[dict]) -> None:
    """Insert ``rows``, or replace the stored row of the same key unless that one is newer (row time)."""
    if not rows:
        return
    ins = _insert(conn, table)
    cols = [c for c in rows[0] if c not in key]
    if conn.dialect.name == "postgresql":
        # one INSERT … SELECT from the rows as one JSON parameter (core/bulk.py), not 10,000 executions of a
        # batch's cases; a key sent twice would make PostgreSQL refuse the statement, so the last row of a key is
        # kept, as the executemany's last execution won (the pass refuses a file with a key twice anyway)
        last = {tuple(r[k] for k in key): r for r in rows}
        rows = list(last.values())
        ins = ins.from_select(list(rows[0]), json_rows(table, list(rows[0])))
    stmt = ins.on_conflict_do_update(
        index_elements=list(key), set_={c: ins.excluded[c] for c in cols},
        where=or_(table.c.produced_at.is_(None), table.c.produced_at <= ins.excluded.produced_at))
    for i in range(0, len(rows), 5000):
        part = rows[i:i + 5000]
        conn.execute(stmt, {"doc": json_doc(part)} if conn.dialect.name == "postgresql" else part)


def _apply_rows(conn: Connection, plan: _Plan, stamps: dict) -> None:
    for spec in FILES:
        table = schema.metadata.tables[spec.table]
        if spec.table == "volunteer_activities":
            if plan.activities:
                cols = spec.column_names
                conn.execute(insert(table), _dicts(table, cols, plan.activities, stamps))
            continue
        if spec.table not in plan.upserts:
            continue
        cols, rows = plan.upserts[spec.table]
        if not rows:
            continue
        if spec.table == "case_events":
            # ~40,000 rows of a 10,000-case batch: one statement on PostgreSQL (core/bulk.py)
            insert_rows(conn, table, _dicts(table, cols, rows, {"changed_at": stamps["changed_at"]}))
            continue
        upsert(conn, table, spec.key, _dicts(table, cols, rows, stamps))
        # a row the source sends again after deleting it is back: its deletion is history
        tomb = schema.sync_deletions.c
        idx = [cols.index(k) for k in spec.key]
        keys = KeySet(conn, {key_text(r[idx[0]] if len(idx) == 1 else tuple(r[i] for i in idx)) for r in rows},
                      "tombstones")
        conn.execute(delete(schema.sync_deletions).where(tomb.table_name == spec.table, keys.where(tomb.row_key)))


def _key_condition(table_name: str, keys: list):
    table = schema.metadata.tables[table_name]
    cols = [table.c[c] for c in _KEY[table_name]]
    if len(cols) == 1:
        return cols[0].in_(keys)
    return tuple_(*cols).in_([tuple(k) for k in keys])


def _check_references(conn: Connection, plan: _Plan, report: Report) -> None:
    """After the batch's rows are in: a row to delete that rows not deleted still refer to is refused."""
    by_table: dict[str, dict] = defaultdict(dict)
    for line, table, shown, key in plan.deletions:
        by_table[table][key] = (line, shown)
    deleted_cases = list(by_table.get("cases", {}))
    report.start(DELETIONS_CSV)
    for table, keys in by_table.items():
        for ref_table, ref_col in REFERRERS.get(table, ()):
            rt = schema.metadata.tables[ref_table]
            col = rt.c[ref_col]
            cond = [col.in_(list(keys))]
            own = by_table.get(ref_table)
            if own and ref_table in _KEY:
                cond.append(~_key_condition(ref_table, list(own)))
            if ref_table == "case_events" and deleted_cases:
                cond.append(rt.c.case_no.not_in(deleted_cases))
            for value, n in conn.execute(select(col, func.count()).where(*cond).group_by(col)):
                line, shown = keys[value]
                report(line, "key", f"{table} '{shown}' is still referred to by {n} row(s) of {ref_table} "
                                    f"({ref_col}); delete or move those first")


def _apply_deletions(conn: Connection, plan: _Plan, stamps: dict) -> None:
    order = [s.table for s in reversed(FILES)]   # children before parents
    by_table: dict[str, list] = defaultdict(list)
    for _line, table, _shown, key in plan.deletions:
        by_table[table].append(key)
    tomb = schema.sync_deletions
    for table in order:
        keys = by_table.get(table)
        if not keys:
            continue
        t = schema.metadata.tables[table]
        for i in range(0, len(keys), _CHUNK):
            part = keys[i:i + _CHUNK]
            if table == "cases":
                conn.execute(delete(schema.case_events).where(schema.case_events.c.case_no.in_(part)))
                conn.execute(delete(schema.supervisions).where(schema.supervisions.c.case_no.in_(part)))
                conn.execute(delete(schema.case_extensions).where(schema.case_extensions.c.case_no.in_(part)))
            if table == "volunteer_activities":
                a = t.c
                for team, day, kind in part:
                    conn.execute(delete(t).where(a.team_code == team, a.date == date.fromisoformat(day),
                                                 a.kind == kind))
            else:
                conn.execute(delete(t).where(_key_condition(table, part)))
        shown = [key_text(k) for k in keys]
        for i in range(0, len(shown), _CHUNK):
            conn.execute(delete(tomb).where(tomb.c.table_name == table, tomb.c.row_key.in_(shown[i:i + _CHUNK])))
        conn.execute(insert(tomb), [{"table_name": table, "row_key": k, "produced_at": stamps["produced_at"],
                                     "deleted_at": stamps["changed_at"]} for k in shown])
        plan.counts[table].deleted += len(keys)


# --- what follows from the cases -----------------------------------------------------------------------------

Slice = tuple[str, str | None, str | None]


def _tree_moves(conn: Connection, before: dict[str, tuple]) -> set[Slice]:
    """After a batch changed regions or grids: node_paths again, and the ancestor codes of the cases of every grid
    whose ancestors changed (their old and new slices returned)."""
    rebuild_node_paths(conn)
    after = _node_paths(conn)
    moved = [g for g, path in after.items() if path[0] in ("grid", "micro_grid") and before.get(g, path) != path]
    if not moved:
        return set()
    c = schema.cases.c
    slices: set[Slice] = set()
    for i in range(0, len(moved), _CHUNK):
        part = moved[i:i + _CHUNK]
        slices |= {tuple(r) for r in conn.execute(select(c.report_month, c.county_code, c.township_code)
                                                  .where(c.grid_code.in_(part)).distinct())}
        for grid in part:   # node_paths: (level, province … village, top grid) = the ancestor columns' order
            conn.execute(update(schema.cases).where(c.grid_code == grid)
                         .values(**dict(zip(ANCESTOR_COLUMNS, after[grid][1:]))))
        slices |= {tuple(r) for r in conn.execute(select(c.report_month, c.county_code, c.township_code)
                                                  .where(c.grid_code.in_(part)).distinct())}
    return slices


def _node_paths(conn: Connection) -> dict[str, tuple]:
    np = schema.node_paths.c
    return {r[0]: tuple(r[1:]) for r in conn.execute(
        select(np.code, np.level, np.province_code, np.city_code, np.county_code, np.township_code,
               np.village_code, np.grid_code))}


_STRUCTURE_ROWS = ("staff", "volunteer_teams")   # the rows structure_summary counts that a batch may change


def _structure_nodes(conn: Connection, plan: _Plan) -> set[str]:
    """Where the staff and teams the batch sends or deletes lie as they are stored now (their grid, else their
    region): run before the rows are applied and after, the nodes whose structure_summary rows follow."""
    out: set[str] = set()
    for name in _STRUCTURE_ROWS:
        t = schema.metadata.tables[name]
        key = t.c[_KEY[name][0]]
        keys = {r[plan.upserts[name][0].index(key.name)] for r in plan.upserts.get(name, ([], []))[1]}
        keys |= {k for _l, table, _s, k in plan.deletions if table == name}
        if keys:
            out |= set(conn.execute(select(served_node(t)).where(
                in_values(key, bindparam("keys", sorted(keys), type_=ValueList())))).scalars())
    return out


def _batch_teams(plan: _Plan) -> set[str]:
    """The teams whose team_summary rows a batch may change: those it sends or deletes, and those of the
    activities it sends or deletes (their last activity)."""
    cols, rows = plan.upserts.get("volunteer_teams", (["team_code"], []))
    at = cols.index("team_code")
    out = {r[at] for r in rows} | {r[0] for r in plan.activities}
    out |= {k if table == "volunteer_teams" else k[0] for _l, table, _s, k in plan.deletions
            if table in ("volunteer_teams", "volunteer_activities")}
    return out


def _rereport_partners(conn: Connection, case_nos: Iterable[str]) -> dict[str, bool | None]:
    """The cases whose re-report flag the cases ``case_nos`` may change, as these stand now: those they re-report
    (derived.rereports_sql, the one definition, with them as the later report), with their flag as it stands.

    A case's flag says whether some later report re-reports it, so a batch can change the flag of a case it does
    not touch only through a touched case that re-reports it before the batch or after it: the partners are
    looked up with the touched cases as they were (before the rows are applied) and as they are (after).  Each
    touched case that is not a patrol report seeks its matter's closed cases in ``ix_cases_same_matter`` (phone,
    grid, category); a patrol report re-reports none.  (Reading every case of a touched case's phone instead —
    a grid worker's phone is on every patrol report of the grid, ~35,000 cases on the skewed data — was most
    of the partners' cost.)"""
    nos = sorted(set(case_nos))
    if not nos:
        return {}
    return dict(conn.execute(_partners_select(), {"nos": nos}).all())


@cache
def _partners_select():
    earlier = schema.cases
    later = aliased(schema.cases, name="later")
    return (select(earlier.c.case_no, earlier.c.rereported)
            .select_from(later.join(earlier, and_(*rereports_sql(earlier, later))))
            .where(in_values(later.c.case_no, bindparam("nos", type_=ValueList())))
            .distinct())


def _rereported(conn: Connection, case_nos: list[str]) -> dict[str, bool | None]:
    c = schema.cases.c
    if not case_nos:
        return {}
    return dict(conn.execute(select(c.case_no, c.rereported)
                             .where(KeySet(conn, case_nos, "partners").where(c.case_no))).all())


def _case_keys(plan: _Plan) -> tuple[set[str], set[str], set[str]]:
    """The batch's cases: replaced or new, with new events, deleted."""
    changed = {r[0] for r in plan.upserts.get("cases", ([], []))[1]}
    with_events = {r[0] for r in plan.upserts.get("case_events", ([], []))[1]}
    deleted = {k for _l, t, _s, k in plan.deletions if t == "cases"}
    return changed, with_events, deleted


def _extension_cases(bp: BatchPass, plan: _Plan) -> set[str]:
    """The cases whose extension requests the batch adds, changes or deletes: their due times follow."""
    cols, rows = plan.upserts.get("case_extensions", ([], []))
    out = {r[cols.index("case_no")] for r in rows} if rows else set()
    ids = {r[cols.index("extension_id")] for r in rows} if rows else set()
    ids |= {k for _l, t, _s, k in plan.deletions if t == "case_extensions"}
    return out | {bp.stored.ext_rows[i][1] for i in ids if i in bp.stored.ext_rows}


def _before(conn: Connection, bp: BatchPass, plan: _Plan) -> tuple[Contribution, dict[str, bool | None]]:
    """Before the batch's rows are applied: what the stored cases it touches (and those whose extension requests
    it changes) add to the roll-ups (rollups.contributions), and the cases the stored ones it changes or deletes
    re-report, with their flags (:func:`_rereport_partners`)."""
    changed, with_events, deleted = _case_keys(plan)
    stored = bp.stored.cases
    cases = {k for k in changed | with_events | deleted if k in stored}
    before = contributions(conn, sorted(cases | _extension_cases(bp, plan)))   # a case not stored adds nothing
    return before, _rereport_partners(conn, [k for k in changed | deleted if k in stored])


def _department_codes(conn: Connection) -> set[str]:
    return set(conn.execute(select(schema.departments.c.code)).scalars())


def _follow(conn: Connection, bp: BatchPass, plan: _Plan, tree_before: dict | None,
            before: Contribution, partners: dict[str, bool | None]) -> tuple[int, int, int]:
    """Derived columns, due times, re-reports and roll-ups of the cases the batch touched; returns (cases, slices,
    roll-up rows).  The roll-ups change by the difference of the touched cases (``before``: their contribution
    before the batch), so the cost follows the batch, not the size of the slices it falls in.  ``partners``:
    the cases the stored ones re-reported before the batch (:func:`_before`)."""
    changed, with_events, deleted = _case_keys(plan)
    extended = _extension_cases(bp, plan) - deleted   # their approved days changed: the due time follows
    touched = changed | with_events
    moved: set[Slice] = _tree_moves(conn, tree_before) if tree_before is not None else set()
    live = touched - deleted
    if live:
        derive_event_counts(conn, sorted(live))
    if live or extended:
        # due times: the time-limit rules (a batch gives the source's) plus the approved extensions
        apply_rules(conn, case_nos=sorted(changed | extended))
    live |= extended
    # re-reports: a changed case's own flag, and those of the cases it re-reports, before the batch or now
    partners = {**partners, **_rereport_partners(conn, changed - deleted)}
    flipped: set[str] = set()
    rederive = sorted((changed | set(partners)) - deleted)
    if rederive:
        derive_rereported(conn, in_values(schema.cases.c.case_no, bindparam("rederive", rederive, type_=ValueList())))
        # a partner's roll-up slice changes only if its flag did (its other columns are not the batch's): a
        # grid worker's phone is on every patrol report of the grid, and refreshing the slices of all of them
        # was most of a 10,000-case batch's time at 1.07 M cases (2,685 slices instead of ~600)
        others = sorted(set(partners) - live - deleted)
        flipped = {no for no, flag in _rereported(conn, others).items() if (flag is True) != (partners[no] is True)}
    if flipped:   # their old contribution: as they are now, with the other flag
        before = combine(before, contributions(conn, flipped, flip_rereported=True))
    after = contributions(conn, live | flipped)
    rows = apply_contributions(conn, before, after)
    slices: set[Slice] = {(k[0], k[3], k[4]) for part in (before, after) for k in part["case_summary"]}
    if moved:   # cases whose grid moved: their slices rebuilt whole (rare: a change of the region tree)
        refresh_case_summary(conn, moved)
    return len(touched | deleted | extended), len(slices | moved), rows


# --- the transaction -------------------------------------------------------------------------------------------

def _log_refusal(engine: Engine, folder: Path, info: BatchInfo | None, problems: list[str]) -> None:
    batch_id = info.batch_id if info is not None else f"(no batch.json) {folder.resolve().name}"
    with engine.begin() as conn:
        prior = batches.find(conn, batch_id)
        if prior is not None and prior.status in ("applied", "loaded"):
            return   # an id applied before is never marked refused afterwards
        batches.record(conn, batch_id=batch_id, kind="batch",
                       produced_at=info.produced_at if info is not None else wall_now(), status="rejected",
                       source=folder.resolve().name, report="\n".join(problems))


def sync_batch(folder: Path, engine: Engine, *, follow: bool = True) -> SyncResult:
    """Check the batch in ``folder`` against the database and apply it in one transaction, then
    :func:`follow_up` (``follow``; a caller applying several batches in a row passes False and calls it once
    for all of them with their ``changed_at``).

    Raises :class:`BatchRefused` (nothing applied; logged as rejected) on any problem.  A batch whose id was
    applied before changes nothing: the result says so (``already_applied``)."""
    t0 = time.perf_counter()
    folder = Path(folder)
    report = Report()
    if not folder.is_dir():
        report.start(str(folder))
        report(None, None, "batch folder not found")
        raise BatchRefused(report.problems)
    info = read_batch_json(folder, report)
    check_complete(folder, info, report)
    if report.problems:
        _log_refusal(engine, folder, info, report.problems)
        raise BatchRefused(report.problems, report.warnings, info.batch_id if info else None)
    result = SyncResult(info.batch_id, info.produced_at)
    now = wall_now()
    stamps = {"produced_at": info.produced_at, "changed_at": now}
    with engine.connect() as conn, no_statement_timeout(conn):
        trans = conn.begin()
        try:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
                # the roll-up slices are refreshed by the same few statements run once a slice (executemany):
                # planned once and reused (the app's connections plan every execution: db.make_engine)
                conn.exec_driver_sql("SET LOCAL plan_cache_mode = auto")
                # every statement of a batch reads the batch's cases by key: with the default random_page_cost
                # of 4 (a spinning disk) the planner preferred a sequential scan of 1.07 M cases or 4.6 M events
                # hashed against the batch's 10,000 keys (0.5–0.9 s a statement); the probes it avoided hit pages
                # in memory.  Issue 19.
                conn.exec_driver_sql(f"SET LOCAL random_page_cost = {BATCH_RANDOM_PAGE_COST}")
                search.defer_text_index(conn)   # merged once after the commit (below)
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SYNC_LOCK_KEY})
            prior = batches.find(conn, info.batch_id)
            if prior is not None and prior.status in ("applied", "loaded"):
                trans.rollback()
                result.already_applied, result.applied_at = True, prior.applied_at
                result.seconds = time.perf_counter() - t0
                return result
            bp = BatchPass(folder, conn, report, from_dashboard=info.since is not None)
            bp.run()
            _check_deletions(bp, report)
            if bp.rules.ext_pending:
                report.start("extensions.csv")
                try:
                    bp.rules.check_pending_extensions()
                except TooMany:
                    pass
            plan = _plan(bp, info)
            if "cases" in bp.rows:
                report.start("cases.csv")
                try:
                    bp.rules.check_cases(*bp.rows["cases"], plan.skipped_cases)
                except TooMany:
                    pass
            if report.problems:
                raise BatchRefused(report.problems, report.warnings, info.batch_id)
            tree_changed = bool(plan.upserts.get("regions", ([], []))[1] or plan.upserts.get("grids", ([], []))[1]
                                or any(t in ("regions", "grids") for _l, t, _s, _k in plan.deletions))
            tree_before = _node_paths(conn) if tree_changed else None
            lock_rollups(conn)   # the app's writes change the roll-ups by difference too: not in between
            before, partners = _before(conn, bp, plan)
            structure_before = _structure_nodes(conn, plan)
            departments_before = _department_codes(conn)
            _apply_rows(conn, plan, stamps)
            new_events = sorted({r[0] for r in plan.upserts.get("case_events", ([], []))[1]})
            if new_events:
                report.start("case_events.csv")
                try:
                    bp.rules.check_event_sequences(conn, folder / "case_events.csv", new_events)
                except TooMany:
                    pass
            if plan.deletions:
                try:
                    _check_references(conn, plan, report)
                except TooMany:
                    pass
            if report.problems:
                raise BatchRefused(report.problems, report.warnings, info.batch_id)
            _apply_deletions(conn, plan, stamps)
            # a case row the source sent without a rating keeps the one staff recorded by callback (the source's
            # own rating wins: core/callbacks.py); before _follow, so the roll-ups take the difference with it
            callbacks.reapply(conn, _case_keys(plan)[0])
            result.cases_touched, result.slices, result.rollup_rows = _follow(conn, bp, plan, tree_before, before,
                                                                              partners)
            # the bounces of the cases whose events the batch sent or deleted; all of them when the departments
            # changed (an event's org_code is a department's or not)
            _changed, with_events, deleted = _case_keys(plan)
            derive_bounces(conn, None if _department_codes(conn) != departments_before
                           else sorted(with_events | deleted))
            if tree_changed:   # node_paths rebuilt (_follow): every node's and every team's path may have moved
                rebuild_structure_summary(conn)
                rebuild_team_summary(conn)
            else:   # the nodes the batch's staff and teams left and now serve; its teams and its activities' teams
                refresh_structure_summary(conn, structure_before | _structure_nodes(conn, plan))
                refresh_team_summary(conn, _batch_teams(plan))
            result.counts = {t: c for t, c in plan.counts.items()}
            result.warnings = report.warnings
            meta.touch(conn)
            if tree_changed:   # the region tree's caches key on this (core/regions.data_version)
                conn.execute(delete(schema.data_meta).where(schema.data_meta.c.key == "tree_at"))
                conn.execute(insert(schema.data_meta).values(key="tree_at",
                                                             value=datetime.now(TZ).isoformat(timespec="microseconds")))
            result.applied_at = now
            batches.record(conn, batch_id=info.batch_id, kind="batch", produced_at=info.produced_at,
                           applied_at=now, status="applied", rows=result.rows, source=folder.resolve().name,
                           report=json.dumps(_report(result), ensure_ascii=False))
            trans.commit()
            result.applied_seconds = time.perf_counter() - t0
        except BatchRefused as exc:
            if trans.is_active:
                trans.rollback()
            _log_refusal(engine, folder, info, exc.problems)
            raise
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
    if result.cases_touched:
        result.changed_at = now
        if follow:
            follow_up(engine, [now])
    result.seconds = time.perf_counter() - t0
    return result


def follow_up(engine: Engine, changed_at: list[datetime]) -> None:
    """After the commit of one or more batches that changed cases (their ``SyncResult.changed_at``): the search
    indexes' pending entries merged (PostgreSQL, core/search.py), the early warnings of the changed data at most
    every GOV_WARNINGS_SYNC_MINUTES (core/warnings.py), and the 重复件 proposals of the villages the batches' cases
    lie in (core/duplicates.py).  Each failure is logged, never raised: the batches are in.  The inbox watcher
    runs this once for the batches it applied in a row (a catch-up after downtime paid it for every batch).

    On PostgreSQL the merges (the server's work: 1.8–2 s after a 10,000-case batch at 1.07 M cases, 1.2 s of it
    the grams index) run on connections of their own, one an index, beside the rest (mostly this process's work:
    1–2 s), not before it."""
    if not changed_at:
        return
    merging = []
    if engine.dialect.name == "postgresql":
        merging = [threading.Thread(target=_merge_text_index_quietly, args=(engine, name), daemon=True,
                                    name=f"merge {name}") for name in search.PG_TEXT_INDEXES]
        for thread in merging:
            thread.start()
    try:
        early_warnings.refresh_if_due(engine)
        duplicates.refresh_after_sync_quietly(engine, changed_at)
    finally:
        for thread in merging:
            thread.join()


def _merge_text_index_quietly(engine: Engine, name: str) -> None:
    """After the commit (PostgreSQL): :func:`search.merge_text_index` of one index.  A failure is logged, never
    raised: the batch is in, searches read the pending entries too, and the next batch or autovacuum merges them."""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            search.merge_text_index(conn, name)
    except Exception:  # noqa: BLE001 - in a thread of its own (follow_up): logged, never raised
        logging.getLogger(__name__).exception("sync: merging the pending entries of %s failed", name)


def _report(result: SyncResult) -> dict:
    return {"counts": {t: {k: v for k, v in vars(c).items() if v} for t, c in result.counts.items()},
            "cases_touched": result.cases_touched, "slices": result.slices,
            "rollup_rows": result.rollup_rows, "warnings": result.warnings}


__all__ = ["BATCH_JSON", "BatchRefused", "SyncResult", "TableCounts", "sync_batch", "upsert"]
