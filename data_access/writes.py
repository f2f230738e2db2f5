"""Write paths other than the bulk loader.  Each keeps the derived columns of
``cases`` and the ``case_summary`` slice it touches exact, in one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from . import meta
from .metrics import SOURCES
from .regions import region_tree
from .schema import case_events, cases, categories
from .summary import refresh_case_summary


class WriteRefused(ValueError):
    """The write was refused; the message says why (field first).  Nothing was written.

    ``reason`` is a stable code and ``params`` its values, so the UI can say the same in the user's language."""

    def __init__(self, message: str, reason: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class NewCase:
    """A case as a grid worker reports it (status ``reported``)."""

    case_no: str
    grid_code: str
    category: str
    source: str
    title: str
    reported_at: datetime
    description: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    actor: str | None = None


def _ancestry(engine: Engine, grid_code: str) -> dict[str, str | None]:
    tree = region_tree(engine)
    node = tree.get(grid_code)
    if node is None or node.level not in ("grid", "micro_grid"):
        raise WriteRefused(f"grid_code: unknown grid {grid_code!r}")
    out: dict[str, str | None] = {f"{lv}_code": None for lv in ("province", "city", "county", "township", "village")}
    top_grid = node.parent if node.level == "micro_grid" else node.code
    for anc in tree.ancestors(grid_code):
        if anc.level in ("province", "city", "county", "township", "village"):
            out[f"{anc.level}_code"] = anc.code
    out["top_grid_code"] = top_grid
    return out


def report_case(engine: Engine, c: NewCase) -> None:
    """Insert a newly reported case and its ``report`` event, and refresh its summary slice."""
    if not c.title.strip():
        raise WriteRefused("title: required")
    if c.source not in SOURCES:
        raise WriteRefused(f"source: not one of {', '.join(SOURCES)}")
    anc = _ancestry(engine, c.grid_code)
    reported = c.reported_at.replace(microsecond=0, tzinfo=None)
    with engine.begin() as conn:
        limit = conn.execute(
            select(categories.c.time_limit_hours).where(categories.c.code == c.category)
        ).scalar_one_or_none()
        if limit is None:
            raise WriteRefused(f"category: unknown category {c.category!r}")
        if conn.execute(select(func.count()).where(cases.c.case_no == c.case_no)).scalar_one():
            raise WriteRefused(f"case_no: {c.case_no!r} already exists")
        conn.execute(insert(cases).values(
            case_no=c.case_no, grid_code=c.grid_code, category=c.category, source=c.source, title=c.title,
            description=c.description, reporter_name=c.reporter_name, reporter_phone=c.reporter_phone,
            status="reported", reported_at=reported, due_at=reported + timedelta(hours=float(limit)),
            on_the_spot=False, report_month=reported.strftime("%Y-%m"), **anc,
        ))
        conn.execute(insert(case_events).values(case_no=c.case_no, seq=1, at=reported, action="report",
                                                actor=c.actor, org_code=c.grid_code))
        refresh_case_summary(conn, [(reported.strftime("%Y-%m"), anc["county_code"], anc["township_code"])])
        meta.touch(conn)
