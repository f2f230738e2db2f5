"""Incremental sync: the batch log, deletions, row times, and the rows the dashboard wrote told apart

- ``sync_batches``: every batch applied or refused and every full load (docs/DATA_CONTRACT.md, "Batches and
  incremental sync"); ``sync_deletions``: the rows batches deleted.
- ``produced_at`` (the row time of what last wrote the row: a batch row older than it is skipped) and
  ``changed_at`` (when the row was last written here) on every table of the dataset; ``case_events`` gets
  ``changed_at`` only (events are appended, never replaced).  Existing rows keep NULL: older than any batch.
- ``supervisions.origin``: 'app' for the orders issued in the dashboard, 'source' for the others.
- the load the database holds (data_meta ``loaded_at``) becomes the first entry of the batch log.

Existing data is brought up to date: the orders the dashboard issued (ids ``DB`` + 14 digits of the issue
time + 6 hex digits, as writes/orders.py makes them; the sample data's source orders are ``DB`` + 7 digits)
are marked 'app', and their log entries (the ``supervise`` entry written with the order, the ``note`` of its
resolution) move to the app's own run from 1,000,000 — the source's events of those cases closing up to
1, 2, 3 … again, as the source numbers them.  The downgrade drops the columns and tables; the entries keep
their new numbers (the older code numbers the next one after the highest, which stays unique).

Revision ID: 0011
Revises: 0010
"""
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen for this revision (data_access/core/contract.APP_SEQ_BASE and the tables of its day).
APP_SEQ_BASE = 1_000_000
APP_ORDER_ID = re.compile(r"DB\d{14}[0-9A-F]{6}")
RESOLVED_NOTE = "督办已办结 / supervision resolved: {}"
DATASET_TABLES = ("regions", "grids", "staff", "volunteer_teams", "volunteer_activities", "departments",
                  "categories", "cases", "case_events", "supervisions", "asset_projects", "asset_project_months",
                  "clean_units", "clean_unit_reviews")


def _stamps(table: str) -> tuple[str, ...]:
    return ("changed_at",) if table == "case_events" else ("produced_at", "changed_at")


def upgrade() -> None:
    op.create_table(
        "sync_batches",
        sa.Column("batch_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("produced_at", Timestamp, nullable=False),
        sa.Column("applied_at", Timestamp, nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("report", sa.Text()),
        sa.PrimaryKeyConstraint("batch_id", name="pk_sync_batches"),
    )
    op.create_index("ix_sync_batches_applied", "sync_batches", ["applied_at"])
    op.create_table(
        "sync_deletions",
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("produced_at", Timestamp, nullable=False),
        sa.Column("deleted_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("table_name", "row_key", name="pk_sync_deletions"),
    )
    # Plain ALTER TABLE … ADD COLUMN (not a batch copy, which would break the foreign keys to ``cases``);
    # nullable without a default: no table is rewritten.
    for table in DATASET_TABLES:
        for name in _stamps(table):
            op.add_column(table, sa.Column(name, Timestamp, nullable=True))
    op.add_column("supervisions", sa.Column("origin", sa.String(8), nullable=False,
                                            server_default=sa.text("'source'")))
    _mark_app_rows(op.get_bind())
    _log_the_last_load(op.get_bind())


def _log_the_last_load(bind) -> None:
    """The load the database holds, as the first entry of the batch log (``status`` starts from it)."""
    meta = sa.table("data_meta", sa.column("key"), sa.column("value"))
    found = dict(bind.execute(sa.select(meta.c.key, meta.c.value)
                              .where(meta.c.key.in_(("loaded_at", "source")))).all())
    if not found.get("loaded_at"):
        return
    at = datetime.fromisoformat(found["loaded_at"])
    if at.tzinfo is not None:
        at = at.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    at = at.replace(microsecond=0)
    log = sa.table("sync_batches", sa.column("batch_id"), sa.column("kind"), sa.column("produced_at", Timestamp),
                   sa.column("applied_at", Timestamp), sa.column("rows", sa.Integer), sa.column("status"),
                   sa.column("source"), sa.column("report"))
    bind.execute(log.insert().values(batch_id=f"load-{at:%Y%m%dT%H%M%S}", kind="load", produced_at=at,
                                     applied_at=at, rows=0, status="loaded", source=found.get("source"),
                                     report="loaded before the batch log existed (revision 0011)"))


def _mark_app_rows(bind) -> None:
    sup = sa.table("supervisions", sa.column("supervision_id"), sa.column("case_no"), sa.column("grade"),
                   sa.column("issued_at", Timestamp), sa.column("note"), sa.column("origin"))
    ev = sa.table("case_events", sa.column("case_no"), sa.column("seq", sa.Integer), sa.column("at", Timestamp),
                  sa.column("action"), sa.column("note"))
    orders = [r for r in bind.execute(sa.select(sup.c.supervision_id, sup.c.case_no, sup.c.grade, sup.c.issued_at,
                                                sup.c.note).where(sup.c.supervision_id.like("DB%"))).all()
              if APP_ORDER_ID.fullmatch(r.supervision_id)]
    if not orders:
        return
    for i in range(0, len(orders), 500):
        bind.execute(sup.update().where(sup.c.supervision_id.in_([o.supervision_id for o in orders[i:i + 500]]))
                     .values(origin="app"))
    # the entries writes/orders.py wrote with each order, by their content
    supervise = {(o.case_no, o.issued_at, f"[{o.grade}] {o.note}") for o in orders}
    resolved = {(o.case_no, RESOLVED_NOTE.format(o.supervision_id)) for o in orders}
    by_case: dict[str, list] = {}
    cases = sorted({o.case_no for o in orders})
    for i in range(0, len(cases), 500):
        for r in bind.execute(sa.select(ev.c.case_no, ev.c.seq, ev.c.at, ev.c.action, ev.c.note)
                              .where(ev.c.case_no.in_(cases[i:i + 500])).order_by(ev.c.case_no, ev.c.seq)):
            by_case.setdefault(r.case_no, []).append(r)
    moves = []   # (case_no, old seq, new seq)
    for case_no, events in by_case.items():
        app = [e for e in events if e.seq < APP_SEQ_BASE and (
            (e.action == "supervise" and (case_no, e.at, e.note) in supervise)
            or (e.action == "note" and (case_no, e.note) in resolved))]
        if not app:
            continue
        app_seqs = {e.seq for e in app}
        already = [e.seq for e in events if e.seq >= APP_SEQ_BASE]
        nxt = max(already) + 1 if already else APP_SEQ_BASE
        src = 0
        for e in events:
            if e.seq >= APP_SEQ_BASE:
                continue
            if e.seq in app_seqs:
                moves.append((case_no, e.seq, nxt))
                nxt += 1
            else:
                src += 1
                if src != e.seq:
                    moves.append((case_no, e.seq, src))
    if not moves:
        return
    # two passes through negative numbers, so that no step meets a number still taken
    upd = sa.text("UPDATE case_events SET seq = :new WHERE case_no = :case_no AND seq = :old")
    bind.execute(upd, [{"case_no": c, "old": old, "new": -old} for c, old, _new in moves])
    bind.execute(upd, [{"case_no": c, "old": -old, "new": new} for c, old, new in moves])


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of ``cases`` would break its foreign keys.
    op.execute("ALTER TABLE supervisions DROP COLUMN origin")
    for table in DATASET_TABLES:
        for name in _stamps(table):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
    op.drop_table("sync_deletions")
    op.drop_index("ix_sync_batches_applied", table_name="sync_batches")
    op.drop_table("sync_batches")
