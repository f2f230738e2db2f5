"""What the dashboard wrote into the dataset's tables, kept across ``load --replace``.

The app writes supervision orders (``origin`` = 'app') and entries in the case log for its own actions (``seq``
≥ contract.APP_SEQ_BASE: an order's, an extension request's, an 升级's ``escalate``; writes/workflow.next_app_seq);
docs/DATA_CONTRACT.md, "Rows written in the dashboard".  A replacing load takes them
out before it empties the tables (:func:`take`) and puts them back over the new data (:func:`put_back`): the
app's version wins over a row of the same key in the dataset (an export of this database holds them too).  An
order or entry whose case the new data lacks refuses the load, naming it, so nothing is dropped silently.
The extension requests made in the dashboard (``case_extensions``, ``origin`` = 'app') are kept the same way:
the dataset's extensions.csv replaces the source's requests, the app's are put back over it (an extension whose
case the new data lacks refuses the load too; the approved ones are in the due time the load computes:
core/time_limits.apply_rules).  Accounts, the audit log and the time-limit settings are not dataset tables: a load
never touches them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, insert, select, tuple_

from data_access.core.contract import APP_SEQ_BASE
from data_access.core.schema import case_events, case_extensions, cases, supervisions
from data_access.ingest.reading import Report

_CHUNK = 500


@dataclass
class AppRows:
    orders: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    # the extension requests made in the dashboard (origin 'app'), and their ids by case
    extension_rows: list[dict] = field(default_factory=list)
    extensions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def case_nos(self) -> set[str]:
        return {r["case_no"] for r in self.orders} | {r["case_no"] for r in self.entries}


def take(conn: Connection) -> AppRows:
    """The app's orders and log entries as they stand (before the load empties the tables)."""
    extension_rows = [dict(r) for r in conn.execute(
        select(case_extensions).where(case_extensions.c.origin == "app")
        .order_by(case_extensions.c.case_no, case_extensions.c.extension_id)).mappings()]
    extensions: dict[str, list[str]] = {}
    for r in extension_rows:
        extensions.setdefault(r["case_no"], []).append(r["extension_id"])
    return AppRows(
        extension_rows=extension_rows, extensions=extensions,
        orders=[dict(r) for r in conn.execute(select(supervisions).where(supervisions.c.origin == "app")).mappings()],
        entries=[dict(r) for r in conn.execute(select(case_events).where(case_events.c.seq >= APP_SEQ_BASE))
                 .mappings()])


def put_back(conn: Connection, rows: AppRows, report: Report) -> None:
    """Put the app's rows back over the newly loaded data; an order or entry whose case is gone is reported."""
    if not rows.orders and not rows.entries and not rows.extensions:
        return
    wanted = sorted(rows.case_nos | set(rows.extensions))
    present: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        present |= set(conn.execute(select(cases.c.case_no).where(cases.c.case_no.in_(wanted[i:i + _CHUNK])))
                       .scalars())
    report.start("cases.csv")
    lost = False
    for r in sorted(rows.orders, key=lambda r: (r["case_no"], r["issued_at"])):
        if r["case_no"] not in present:
            lost = True
            report(None, "case_no", f"case '{r['case_no']}' is not in this dataset, but the supervision order "
                                    f"'{r['supervision_id']}' ({r['grade']}, issued in the dashboard at "
                                    f"{r['issued_at']:%Y-%m-%d %H:%M}) is on it: the load is refused so that "
                                    "the order is not dropped; keep the case in the data")
    gone = sorted({r["case_no"] for r in rows.entries} - present - {r["case_no"] for r in rows.orders})
    for case_no in gone:
        lost = True
        report(None, "case_no", f"case '{case_no}' is not in this dataset, but the dashboard wrote entries in its "
                                "log: the load is refused so that they are not dropped; keep the case in the data")
    for case_no in sorted(set(rows.extensions) - present):
        lost = True
        report(None, "case_no", f"case '{case_no}' is not in this dataset, but the extension request(s) "
                                f"{', '.join(rows.extensions[case_no])} made in the dashboard are on it: the load "
                                "is refused so that they are not dropped; keep the case in the data")
    if lost:
        return
    if _second_pending_requests(conn, rows, report):
        return
    ids = [r["supervision_id"] for r in rows.orders]
    for i in range(0, len(ids), _CHUNK):
        conn.execute(delete(supervisions).where(supervisions.c.supervision_id.in_(ids[i:i + _CHUNK])))
    keys = [(r["case_no"], r["seq"]) for r in rows.entries]
    for i in range(0, len(keys), _CHUNK):
        conn.execute(delete(case_events).where(tuple_(case_events.c.case_no, case_events.c.seq)
                                               .in_(keys[i:i + _CHUNK])))
    eids = [r["extension_id"] for r in rows.extension_rows]
    for i in range(0, len(eids), _CHUNK):
        conn.execute(delete(case_extensions).where(case_extensions.c.extension_id.in_(eids[i:i + _CHUNK])))
    if rows.extension_rows:
        conn.execute(insert(case_extensions), rows.extension_rows)
    if rows.orders:
        conn.execute(insert(supervisions), rows.orders)
    if rows.entries:
        conn.execute(insert(case_events), rows.entries)


def _second_pending_requests(conn: Connection, rows: AppRows, report: Report) -> bool:
    """Report each case where the new data brings a request awaiting a decision beside one made in the dashboard
    (one request of a case waits at a time, as writes/extensions and a batch keep it); True when any."""
    app_pending = {r["case_no"]: r["extension_id"] for r in rows.extension_rows if r["status"] == "requested"}
    if not app_pending:
        return False
    e = case_extensions.c
    app_ids = {r["extension_id"] for r in rows.extension_rows}
    wanted = sorted(app_pending)
    clashes: dict[str, list[str]] = {}
    for i in range(0, len(wanted), _CHUNK):
        for case_no, eid in conn.execute(select(e.case_no, e.extension_id)
                                         .where(e.case_no.in_(wanted[i:i + _CHUNK]), e.status == "requested")
                                         .order_by(e.case_no, e.extension_id)):
            if eid not in app_ids:
                clashes.setdefault(case_no, []).append(eid)
    report.start("extensions.csv")
    for case_no, ids in sorted(clashes.items()):
        report(None, "status", f"case '{case_no}' has a request awaiting a decision in this dataset "
                               f"({', '.join(repr(i) for i in ids)}) and one made in the dashboard "
                               f"('{app_pending[case_no]}'): only one may wait at a time; decide the dashboard's "
                               "request first, or leave the file's out")
    return bool(clashes)
