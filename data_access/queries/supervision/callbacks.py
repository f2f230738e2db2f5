"""回访 — which recently closed cases are still to be called back, and the callbacks recorded (to undo one).

The rules (what "due" means, the window, the scale, which rating wins) are core/callbacks.py's; the write is
writes/callbacks.py.  Both lists follow the sidebar's place (jurisdiction and region) only: the period and the
other filters choose reported cases, while this list is about closings of the last
core/callbacks.CALLBACK_DAYS days.  Personal data as the user's role allows (core/access.personal).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, and_, select, true

from data_access.core.access import User, personal
from data_access.core.callbacks import CALLBACK_DAYS, active, due_conditions
from data_access.core.clock import now_local
from data_access.core.counting import rows_of
from data_access.core.filters import CaseFilter, case_conditions, resolve
from data_access.core.schema import callbacks, cases
from data_access.core.sqlfn import no_index, no_index_on
from data_access.queries.cases import add_place_names

DUE_COLUMNS = ["case_no", "title", "category", "closed_at", "resolution_level", "reporter_name", "reporter_phone",
               "grid_code", "grid_name", "village_name", "township_name"]
RECORDED_COLUMNS = ["callback_id", "case_no", "title", "rating", "note", "recorded_by", "recorded_at",
                    "satisfaction", "grid_code"]
DUE_ROWS = 500


def _place(engine: Engine, f: CaseFilter):
    return resolve(engine, CaseFilter(scope_code=f.scope_code, region_code=f.region_code))


def cases_to_call_back(engine: Engine, f: CaseFilter, user: User | None, now: datetime | None = None,
                       days: int = CALLBACK_DAYS, limit: int | None = DUE_ROWS, count: bool = False
                       ) -> pd.DataFrame | int:
    """Cases of the filter's place closed in the last ``days`` days (up to ``now``) with a reporter phone and no
    satisfaction rating, oldest close first (then case number), at most ``limit`` (None: all).  The reporter's
    name and phone as ``user`` may see them.
    With ``count``: how many rows the whole list has (an int), through the same statement (ui/capped.py)."""
    now = (now or now_local()).replace(tzinfo=None)
    r = _place(engine, f)
    c = cases.c
    # The cases closed in the window are read through ix_cases_unrated_closed and each checked for the place
    # (no_index_on): with a county's statistics SQLite walked every case of the county by its index instead —
    # 娄星区 at 5 M cases, 8.1 s to count 2,205 cases and 4.0 s for the first 500, where the window holds ~17,000
    # closings of the whole city.  The window is days long, the county's history years.
    place = no_index_on(and_(true(), *case_conditions(r, now)), cases)
    stmt = (select(c.case_no, c.title, c.category, c.closed_at, c.resolution_level, c.reporter_name,
                   c.reporter_phone, c.grid_code)
            .where(*due_conditions(now - timedelta(days=days), now), place)
            .order_by(c.closed_at, c.case_no))
    with engine.connect() as conn:
        if count:
            return int(conn.execute(rows_of(stmt)).scalar_one())
        df = pd.DataFrame(conn.execute(stmt.limit(limit)).all(), columns=[
            "case_no", "title", "category", "closed_at", "resolution_level", "reporter_name", "reporter_phone",
            "grid_code"])
    df["reporter_name"] = [personal(user, v, "name") for v in df["reporter_name"]]
    df["reporter_phone"] = [personal(user, v, "phone") for v in df["reporter_phone"]]
    return add_place_names(df, r.tree)[DUE_COLUMNS]


def callbacks_recorded(engine: Engine, f: CaseFilter, now: datetime | None = None, days: int = CALLBACK_DAYS,
                       limit: int | None = DUE_ROWS) -> pd.DataFrame:
    """Callbacks in effect (not undone) on cases of the filter's place, recorded in the last ``days`` days,
    newest first: the callback, its case and title, the rating and note, who recorded it and when, and the
    case's rating now (the source's when it sent one since: core/callbacks.py).  No personal data."""
    now = (now or now_local()).replace(tzinfo=None)
    r = _place(engine, f)
    cb, c = callbacks.c, cases.c
    # The callbacks of the window first, each case found by its number: SQLite otherwise walked every case of the
    # place by the county index and probed the callbacks of each (214,000 cases of 娄星区 for an empty
    # callbacks table: ~0.5 s CPU on each visit of the view at 1.07 M).  no_index keeps it from probing
    # callbacks by case number, so the only good plan left is this one (no change on PostgreSQL).
    stmt = (select(cb.callback_id, cb.case_no, c.title, cb.rating, cb.note, cb.recorded_by, cb.recorded_at,
                   c.satisfaction, c.grid_code)
            .select_from(callbacks.join(cases, c.case_no == no_index(cb.case_no)))
            .where(active(), cb.recorded_at >= now - timedelta(days=days), *case_conditions(r, now))
            .order_by(cb.recorded_at.desc(), cb.callback_id.desc()).limit(limit))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(), columns=RECORDED_COLUMNS)
