"""Converting, the per-table rules of the case files: cases, case events, supervision orders.

:class:`DatasetRules` adds them to the reference data's (rules.py) and is the rule set a load uses.  A
case is checked against the files before it (grid, category, department), its timestamps against each
other and its status, and gets its derived columns (:data:`CASE_DERIVED_COLUMNS`: data_access/core/
derived.py defines each, the workflow writes call the same functions).  Event sequences are checked in
SQL once the events are in (:meth:`DatasetRules.check_event_sequences`): the file may be in any order.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, text

from data_access.core.contract import APP_SEQ_BASE, CASE_STEP_COLUMNS, EXTENSION_MAX_DAYS, FileSpec, app_run
from data_access.core.derived import (
    ANCESTOR_COLUMNS,
    CLOSED_CASE_COLUMNS,
    STEP_HOUR_COLUMNS,
    allowed_hours,
    closed_late,
    hours_to_close,
    late_hours,
    report_month,
    step_hours,
)
from data_access.core.keyset import KeySet
from data_access.core.metrics import STATUSES
from data_access.ingest.converting import fields
from data_access.ingest.reading import MAX_PROBLEMS_PER_FILE, Reader, Report
from data_access.ingest.rules import Keys, ReferenceRules

_fromiso = datetime.fromisoformat
_STATUS_INDEX = {s: i for i, s in enumerate(STATUSES)}
# which of accepted_at … closed_at a case in each status has (status index k: steps 1..k)
_STEPS_OF_STATUS = [tuple(j <= k for j in range(1, 6)) for k in range(len(STATUSES))]
# the columns each rule reads, by name (one getter per rule, in the order the rule unpacks them)
_case_cols = fields("cases", "case_no", "grid_code", "category", "department_code", "status", "due_at",
                    "on_the_spot", "resolution_level")
_case_step_times = fields("cases", *CASE_STEP_COLUMNS)   # reported_at, accepted_at … closed_at
_event_cols = fields("case_events", "case_no", "org_code")
_supervision_cols = fields("supervisions", "supervision_id", "case_no", "issued_by", "issued_at", "deadline",
                           "resolved_at")
_extension_cols = fields("case_extensions", "extension_id", "case_no", "unit_code", "days", "day_kind", "status",
                         "requested_at", "decided_at", "decided_by", "decision_note")
# the derived columns row_cases appends to the contract's, in the order it computes them below
CASE_DERIVED_COLUMNS = [*ANCESTOR_COLUMNS, "report_month", *CLOSED_CASE_COLUMNS, "source_due_at", "allowed_hours",
                        *STEP_HOUR_COLUMNS]


class DatasetRules(ReferenceRules):
    """Every file's rules: the reference data's (rules.py) and the case files'."""

    def __init__(self, report: Report):
        super().__init__(report)
        self.cases = Keys("case")
        self._supervisions = Keys("supervision")
        self._extensions = Keys("extension request")
        self._pending: dict[str, tuple[str, int]] = {}   # case_no -> (id, line) of its request awaiting a decision
        self.keys_of["cases"] = self.cases

    def columns(self, spec: FileSpec) -> list[str]:
        """The table columns of the rows ``spec``'s rule returns."""
        return spec.column_names + (CASE_DERIVED_COLUMNS if spec.table == "cases" else [])

    def start_file(self, spec: FileSpec) -> None:
        """Before the rows of ``spec``: the lookups of the event rule, taken once."""
        if spec.table == "case_events":
            self._case_lines = self.cases.lines
            self._org_codes = frozenset(k for keys in (self.regions, self.departments, self.grids)
                                        for k, first in keys.lines.items() if first > 0)

    def row_cases(self, v: tuple, ok: bool, line: int):
        report = self.report
        case_no, grid, category, dept, status, due, on_the_spot, level = _case_cols(v)
        if case_no is not None and not self.cases.add(case_no, line, report, "case_no"):
            return None
        if grid is not None and not self.grids.check(grid, line, report, "grid_code"):
            ok = False
        if category is not None and not self.categories.check(category, line, report, "category"):
            ok = False
        if dept is not None and not self.departments.check(dept, line, report, "department_code"):
            ok = False
        ts = _case_step_times(v)   # index j = step j of CASE_STEP_COLUMNS
        reported = ts[0]
        # timestamps in step order, none before an earlier one
        if reported is not None:
            last, last_col = reported, "reported_at"
            for j in range(1, 6):
                t = ts[j]
                if t is not None:
                    if t < last:
                        report(line, CASE_STEP_COLUMNS[j], f"{t} is earlier than {last_col} {last}")
                        ok = False
                    else:
                        last, last_col = t, CASE_STEP_COLUMNS[j]
            if due is not None and due < reported:
                report(line, "due_at", f"{due} is earlier than reported_at {reported}")
                ok = False
        # status ⇔ timestamps
        k = _STATUS_INDEX.get(status)
        pattern = (ts[1] is not None, ts[2] is not None, ts[3] is not None, ts[4] is not None, ts[5] is not None)
        if k is not None and pattern != _STEPS_OF_STATUS[k] and not (k == 5 and on_the_spot and pattern[4]):
            spot = k == 5 and on_the_spot
            for j in range(1, 6):
                t = ts[j]
                col = CASE_STEP_COLUMNS[j]
                if j > k and t is not None:
                    report(line, col, f"is set but status is '{status}'")
                    ok = False
                elif j == k and t is None:
                    report(line, col, f"is required when status is '{status}'")
                    ok = False
                elif j < k and t is None and not spot and not (k == 5 and j == 4):
                    report(line, col, f"is missing: a '{status}' case passed through this step "
                                      "(only a case settled on the spot may skip steps)")
                    ok = False
        if k is not None:
            if k == 5 and level is None:
                report(line, "resolution_level", "is required when status is 'closed'")
                ok = False
            elif k != 5 and level is not None:
                report(line, "resolution_level", f"must be empty when status is '{status}'")
                ok = False
        if not ok:
            self.cases.refuse(case_no)
            return None
        # the derived columns (CASE_DERIVED_COLUMNS; data_access/core/derived.py), computed once here
        rep, acc, dis, han, fee, clo = [None if x is None else _fromiso(x) for x in ts]
        due_ts = _fromiso(due)
        return (*v, *self.grid_ancestry[grid], report_month(reported), hours_to_close(rep, clo),
                closed_late(clo, due_ts), late_hours(clo, due_ts), due, allowed_hours(rep, due_ts),
                step_hours(rep, acc), step_hours(acc, dis), step_hours(dis, han), step_hours(han, fee))

    def row_case_events(self, v: tuple, ok: bool, line: int):
        # hot path (≈ 4 per case): plain dict/set lookups, the slow checks only on a miss
        case_no, org = _event_cols(v)
        first = self._case_lines.get(case_no)
        if first is None or first < 0:
            if case_no is not None and not self.cases.check(case_no, line, self.report, "case_no"):
                ok = False
        if org is not None and org not in self._org_codes:
            if org in self.regions.lines or org in self.departments.lines or org in self.grids.lines:
                ok = False     # refused row, reported already
            else:
                self.report(line, "org_code", f"unknown region, department or grid '{org}'")
                ok = False
        return v if ok else None

    def row_supervisions(self, v: tuple, ok: bool, line: int):
        report = self.report
        order_id, case_no, issued_by, issued, deadline, resolved = _supervision_cols(v)
        if order_id is not None and not self._supervisions.add(order_id, line, report, "supervision_id"):
            return None
        if case_no is not None and not self.cases.check(case_no, line, report, "case_no"):
            ok = False
        if issued_by is not None and not self.regions.check(issued_by, line, report, "issued_by"):
            ok = False
        if issued is not None and deadline is not None and deadline < issued:
            report(line, "deadline", f"{deadline} is earlier than issued_at {issued}")
            ok = False
        if issued is not None and resolved is not None and resolved < issued:
            report(line, "resolved_at", f"{resolved} is earlier than issued_at {issued}")
            ok = False
        return v if ok else None

    def row_case_extensions(self, v: tuple, ok: bool, line: int):
        """An extension request (延期): its case and unit exist, its days within the kind's bound, its decision
        agrees with its status (a decided request has decided_at, not earlier than requested_at; one awaiting a
        decision has none), at most one request of a case awaits a decision."""
        report = self.report
        eid, case_no, unit, days, kind, status, requested, decided, decided_by, note = _extension_cols(v)
        if eid is not None and not self._extensions.add(eid, line, report, "extension_id"):
            return None
        if case_no is not None and not self.cases.check(case_no, line, report, "case_no"):
            ok = False
        if unit is not None and not self.departments.check(unit, line, report, "unit_code"):
            ok = False
        limit = EXTENSION_MAX_DAYS.get(kind)
        if days is not None and limit is not None and days > limit:
            report(line, "days", f"{days} is more than {limit} {kind.replace('_', ' ')}")
            ok = False
        if status == "requested":
            for col, value in (("decided_at", decided), ("decided_by", decided_by), ("decision_note", note)):
                if value is not None:
                    report(line, col, "must be empty when status is 'requested' (no decision yet)")
                    ok = False
            if case_no is not None:
                first = self._pending.get(case_no)
                if first is not None:
                    report(line, "status", f"case '{case_no}' already has a request awaiting a decision "
                                           f"('{first[0]}' on line {first[1]})")
                    ok = False
                elif ok:
                    self._pending[case_no] = (eid, line)
        elif status is not None:
            if decided is None:
                report(line, "decided_at", f"is required when status is '{status}'")
                ok = False
            elif requested is not None and decided < requested:
                report(line, "decided_at", f"{decided} is earlier than requested_at {requested}")
                ok = False
        if not ok:
            self._extensions.refuse(eid)
        return v if ok else None

    # -- event sequences: checked in SQL after the insert ---------------------------------------

    def check_event_sequences(self, conn: Connection, events_csv: Path,
                              case_nos: Sequence[str] | None = None) -> None:
        """Each case's log is runs, each numbered without gaps and with `at` never going back: the source's
        events 1, 2, 3 … and each dashboard's entries n × APP_SEQ_BASE, n × APP_SEQ_BASE + 1 … (run n ≥ 1: this
        installation's own, and those of the dashboards whose batches it syncs; docs/DATA_CONTRACT.md).
        Checked over every case, or the cases ``case_nos`` (a batch: its events with the stored ones);
        the offending lines are found in ``events_csv``."""
        base = APP_SEQ_BASE
        # seq / base: integer division on both databases (an INTEGER column by an integer)
        sql = ("SELECT case_no, seq, at, pseq, pat FROM ("
               " SELECT case_no, seq, at, LAG(seq) OVER w AS pseq, LAG(at) OVER w AS pat"
               " FROM case_events{where} WINDOW w AS (PARTITION BY case_no, seq / {base} ORDER BY seq)) t"
               " WHERE seq <> COALESCE(pseq + 1, CASE WHEN seq >= {base} THEN (seq / {base}) * {base} ELSE 1 END)"
               " OR at < pat"
               f" LIMIT {MAX_PROBLEMS_PER_FILE}")
        if case_nos is None:
            rows = conn.execute(text(sql.format(where="", base=base))).all()
        else:
            # a batch's cases: one parameter or one temporary table, not IN lists of 5,000 (core/keyset.py)
            cond, params = KeySet(conn, case_nos, "sequences").sql("case_no")
            rows = conn.execute(text(sql.format(where=f" WHERE {cond}", base=base)).bindparams(*params)).all()
        if not rows:
            return
        bad: dict[tuple[str, int], list[str]] = {}
        for case_no, seq, at, pseq, pat in rows:
            reasons = []
            app = seq >= base
            first = app_run(seq) * base if app else 1
            run = (f"the dashboard's entries run {first}, {first + 1} … without gaps" if app
                   else "the sequence must run 1, 2, 3 … without gaps")
            if seq != (first if pseq is None else pseq + 1):
                reasons.append(("seq", f"{seq} follows {pseq} for case '{case_no}': {run}" if pseq is not None
                                else f"case '{case_no}' starts at seq {seq}, not {first}"
                                     + (" (the dashboard's entries)" if app else "")))
            if pat is not None and _ts_text(at) < _ts_text(pat):
                reasons.append(("at", (f"{_ts_text(at)} is earlier than event seq {pseq} "
                                       f"at {_ts_text(pat)} of the same case")))
            bad[(case_no, int(seq))] = reasons
        reader = Reader(events_csv)
        try:
            header = reader.header() or []
            ic, iseq = header.index("case_no"), header.index("seq")
            for line, row in reader.rows():
                if len(row) != len(header) or row[ic] not in self.cases:
                    continue
                try:
                    key = (row[ic], int(row[iseq]))
                except ValueError:
                    continue
                reasons = bad.pop(key, None)
                if reasons:
                    for col, reason in reasons:
                        self.report(line, col, reason)
                    if not bad:
                        break
        finally:
            reader.close()
        for (case_no, seq), reasons in bad.items():   # a stored event, not one of the file's
            for col, reason in reasons:
                self.report(None, col, f"case '{case_no}' seq {seq}: {reason}")


def _ts_text(v) -> str:
    return v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else str(v)
