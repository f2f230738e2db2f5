"""Clean-governance units (清廉单元): the units that applied, by kind and region, against the units that could;
the monthly review (一月一点评), the monthly ranking (一月一排名) and the units named in the monthly bulletin
(一月一通报); a unit's history of scores.

Both files are optional (docs/DATA_CONTRACT.md): :func:`clean_data_loaded` says whether any unit and any review
is loaded, so that the page can say "no data of this kind" instead of showing zeros.

Definitions (the UI's help texts quote them):

- **a unit lies** where ``clean_units.region_code`` says (a region of any level: 区直机关 sit at their county,
  a school at its township, a village unit at its village).  **Under the selected region** = that region or
  below it (``node_paths``, as everywhere).  A selected grid has no units (units never sit at a grid).
- **units** (创建单元) = the rows of ``clean_units`` under the region: each is an application (申报创建).
- **eligible units** (应创建) are known for two kinds only: kind ``village`` — the villages and communities
  under the region (region tree, level ``village``); kind ``other`` — the townships under the region (the
  article's 11 个乡镇（街道）).  **Covered** = those of them with at least one unit of that kind sitting at
  it; **coverage** = covered ÷ eligible.  Organs, schools, hospitals and enterprises have no known count of
  eligible units: "—".
- **review months** = the months that have at least one review of a unit under the region; the page offers
  these and opens the latest.
- for a **month M** (and the kind filter, when one is chosen): **reviewed** = units under the region with a
  review of M; **average score** = mean of their scores; **rated good / fair / poor** = reviews of M with
  that ``rating``; **named** (通报) = reviews of M with ``notified`` true; **named this year** = distinct
  units with ``notified`` true in any month of M's year up to M.
- **ranking of M** = the reviewed units of the selection ordered by score, highest first; equal scores
  share a rank (1, 2, 2, 4) and are listed by unit code.  **Previous rank** = the unit's rank in the
  previous calendar month among the same selection; **rank change** = previous rank − rank (positive =
  moved up), empty when the unit was not reviewed in one of the two months.
- **not reviewed in M** = units of the selection that had applied by M's last day (or whose application date
  is unknown) and have no review of M.
- **a unit's history** = its review of every month (score, rating, named, note) with its rank in that
  month's ranking of the selection (and the change against the previous calendar month), oldest first.

Every query takes a :class:`~data_access.core.filters.Scope` (the jurisdiction and the selected region: no
period, the month is an argument of its own), goes through :func:`filters.resolve` (the user's jurisdiction)
and counts in SQL by joining ``node_paths``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, case, exists, func, or_, select

from data_access.core.access import User, visible
from data_access.core.clock import now_local
from data_access.core.contract import CLEAN_UNIT_KINDS, RATINGS
from data_access.core.filters import Resolved, Scope, region_condition, resolve
from data_access.core.metrics import coverage, ratio
from data_access.queries.supervision.ranking import month_bounds, previous_month
from data_access.core.regions import path_column
from data_access.core.schema import clean_unit_reviews, clean_units, node_paths
from data_access.core.search import find_text, name_or_code_match

KINDS = CLEAN_UNIT_KINDS
# kind → the level of the regions that are its eligible units (the other kinds have no known count)
ELIGIBLE_LEVEL: dict[str, str] = {"village": "village", "other": "township"}

cu, cr = clean_units, clean_unit_reviews


# --- where each unit lies ----------------------------------------------------------------------------------

def _unit_paths():
    """clean_units joined to the path of its region."""
    p = node_paths.alias("up")
    return cu.join(p, p.c.code == cu.c.region_code), p


def _where(r: Resolved, p, kind: str | None = None) -> list[ColumnElement]:
    conds = [c for c in [region_condition(r, p)] if c is not None]
    if kind is not None:
        conds.append(cu.c.kind == kind)
    return conds


def _check_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def _check_month(month: str) -> str:
    month_bounds(month)  # raises ValueError unless 'YYYY-MM'
    return month


def _place(r: Resolved, code: str) -> str:
    """The unit's region with its ancestors below the city: '东县 · 东镇 · 甲村'."""
    names = [n.name for n in r.tree.ancestors(code) if n.level not in ("province", "city")]
    return " · ".join(names) if names else (r.tree.nodes[code].name if code in r.tree.nodes else code)


def clean_data_loaded(engine: Engine) -> tuple[bool, bool]:
    """(any unit loaded, any review loaded): both files are optional."""
    with engine.connect() as conn:
        return (bool(conn.execute(select(exists().where(cu.c.unit_code.is_not(None)))).scalar()),
                bool(conn.execute(select(exists().where(cr.c.unit_code.is_not(None)))).scalar()))


def review_months(engine: Engine, scope: Scope) -> list[str]:
    """The months with a review of a unit under the selected region, oldest first."""
    r = resolve(engine, scope)
    j, p = _unit_paths()
    with engine.connect() as conn:
        return list(conn.execute(select(cr.c.month).select_from(cr.join(j, cu.c.unit_code == cr.c.unit_code))
                                 .where(*_where(r, p)).group_by(cr.c.month).order_by(cr.c.month)).scalars())


# --- the month's headline numbers --------------------------------------------------------------------------

@dataclass(frozen=True)
class CleanSummary:
    month: str | None
    units: int = 0  # applied (all, as now)
    reviewed: int = 0
    avg_score: float | None = None
    good: int = 0
    fair: int = 0
    poor: int = 0
    named: int = 0  # in the month
    named_ytd: int = 0  # distinct units, M's year up to M

    @property
    def good_share(self) -> float | None:
        return ratio(self.good, self.reviewed)


def _review_measures() -> list:
    return [func.count().label("reviewed"), func.avg(cr.c.score).label("avg_score"),
            *[func.count().filter(cr.c.rating == x).label(x) for x in RATINGS],
            func.count().filter(cr.c.notified.is_(True)).label("named")]


def clean_summary(engine: Engine, scope: Scope, month: str | None, kind: str | None = None) -> CleanSummary:
    """Units under the selected region (of ``kind``) and their review of ``month`` (None: units only)."""
    r = resolve(engine, scope)
    kind = _check_kind(kind)
    j, p = _unit_paths()
    where = _where(r, p, kind)
    rj = cr.join(j, cu.c.unit_code == cr.c.unit_code)
    with engine.connect() as conn:
        units = conn.execute(select(func.count()).select_from(j).where(*where)).scalar_one()
        if month is None:
            return CleanSummary(month=None, units=units)
        _check_month(month)
        m = conn.execute(select(*_review_measures()).select_from(rj).where(cr.c.month == month, *where)).one()
        ytd = conn.execute(select(func.count(func.distinct(cr.c.unit_code))).select_from(rj)
                           .where(cr.c.month >= f"{month[:4]}-01", cr.c.month <= month, cr.c.notified.is_(True),
                                  *where)).scalar_one()
    return CleanSummary(month=month, units=units, reviewed=m.reviewed,
                        avg_score=float(m.avg_score) if m.avg_score is not None else None,
                        good=m.good, fair=m.fair, poor=m.poor, named=m.named, named_ytd=ytd)


# --- the monthly ranking -----------------------------------------------------------------------------------

RANKING_COLUMNS = ["rank", "unit_code", "name", "kind", "region_code", "place", "score", "rating", "prev_rank",
                   "rank_change", "notified", "note"]


def _ranked(r: Resolved, kind: str | None, month: str, name: str):
    """The reviews of ``month`` of the selection with their rank (RANK over score, highest first)."""
    j, p = _unit_paths()
    return (select(cr.c.unit_code, cr.c.score, cr.c.rating, cr.c.notified, cr.c.note,
                   func.rank().over(order_by=cr.c.score.desc()).label("rank"))
            .select_from(cr.join(j, cu.c.unit_code == cr.c.unit_code))
            .where(cr.c.month == month, *_where(r, p, kind))).subquery(name)


def monthly_ranking(engine: Engine, scope: Scope, month: str, kind: str | None = None) -> pd.DataFrame:
    """The ranking of ``month`` (RANKING_COLUMNS), best first; see the module doc."""
    r = resolve(engine, scope)
    kind = _check_kind(kind)
    cur = _ranked(r, kind, _check_month(month), "cur")
    prev = _ranked(r, kind, previous_month(month), "prev")
    stmt = (select(cur.c.rank, cu.c.unit_code, cu.c.name, cu.c.kind, cu.c.region_code, cur.c.score, cur.c.rating,
                   prev.c.rank.label("prev_rank"), (prev.c.rank - cur.c.rank).label("rank_change"),
                   cur.c.notified, cur.c.note)
            .select_from(cur.join(cu, cu.c.unit_code == cur.c.unit_code)
                         .outerjoin(prev, prev.c.unit_code == cur.c.unit_code))
            .order_by(cur.c.rank, cu.c.unit_code))
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    df = pd.DataFrame([{**x, "place": _place(r, x["region_code"])} for x in rows], columns=RANKING_COLUMNS)
    return _typed(df)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("rank", "prev_rank", "rank_change"):
        if c in df:
            df[c] = df[c].astype("Int64")
    if "score" in df:
        df["score"] = df["score"].astype("float64")
    if "notified" in df:
        df["notified"] = df["notified"].astype(bool)
    return df


UNREVIEWED_COLUMNS = ["unit_code", "name", "kind", "region_code", "place", "applied_on"]


def unreviewed_units(engine: Engine, scope: Scope, month: str, kind: str | None = None) -> pd.DataFrame:
    """Units of the selection that had applied by the month's last day (or on an unknown date) without a review
    of ``month``: UNREVIEWED_COLUMNS, by unit code."""
    r = resolve(engine, scope)
    kind = _check_kind(kind)
    _first, last, _ = month_bounds(_check_month(month))
    j, p = _unit_paths()
    reviewed = select(cr.c.unit_code).where(cr.c.month == month)
    stmt = (select(cu.c.unit_code, cu.c.name, cu.c.kind, cu.c.region_code, cu.c.applied_on).select_from(j)
            .where(cu.c.unit_code.not_in(reviewed), or_(cu.c.applied_on.is_(None), cu.c.applied_on <= last),
                   *_where(r, p, kind))
            .order_by(cu.c.unit_code))
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame([{**x, "place": _place(r, x["region_code"])} for x in rows], columns=UNREVIEWED_COLUMNS)


@dataclass(frozen=True)
class MonthReview:
    """Everything the month's review shows (the page's ranking view and the Excel workbook)."""

    region_code: str | None
    region_name: str | None
    month: str
    kind: str | None
    summary: CleanSummary
    prev_summary: CleanSummary  # the previous calendar month (zeros when it has no review)
    ranking: pd.DataFrame  # RANKING_COLUMNS
    unreviewed: pd.DataFrame  # UNREVIEWED_COLUMNS
    generated_at: datetime

    @property
    def good(self) -> pd.DataFrame:
        return self.ranking[self.ranking["rating"] == "good"]

    @property
    def named(self) -> pd.DataFrame:
        return self.ranking[self.ranking["notified"]]


def month_review(engine: Engine, scope: Scope, month: str, kind: str | None = None,
                 now: datetime | None = None) -> MonthReview:
    """The review of ``month`` for the selected region (and ``kind``): headline numbers, ranking, units not
    reviewed."""
    r = resolve(engine, scope)
    node = r.tree.get(r.code)
    return MonthReview(region_code=r.code, region_name=node.name if node else None, month=month, kind=kind,
                       summary=clean_summary(engine, scope, month, kind),
                       prev_summary=clean_summary(engine, scope, previous_month(month), kind),
                       ranking=monthly_ranking(engine, scope, month, kind),
                       unreviewed=unreviewed_units(engine, scope, month, kind), generated_at=now or now_local())


# --- units by kind and by region ---------------------------------------------------------------------------

KIND_COLUMNS = ["kind", "units", "eligible_level", "eligible", "covered", "coverage"]


def units_by_kind(engine: Engine, scope: Scope) -> pd.DataFrame:
    """One row per kind (all of them, in contract order): units under the region and, for the kinds with a
    known count, the eligible regions, those covered and the coverage (KIND_COLUMNS; see the module doc)."""
    r = resolve(engine, scope)
    j, p = _unit_paths()
    at = {level: func.count(func.distinct(case((p.c.level == level, cu.c.region_code)))).label(f"at_{level}")
          for level in sorted(set(ELIGIBLE_LEVEL.values()))}
    n = node_paths
    with engine.connect() as conn:
        got = {x.kind: x for x in conn.execute(select(cu.c.kind, func.count().label("units"), *at.values())
                                               .select_from(j).where(*_where(r, p)).group_by(cu.c.kind))}
        eligible = conn.execute(
            select(*[func.count().filter(n.c.level == level).label(level) for level in at])
            .where(*[c for c in [region_condition(r, n)] if c is not None])).mappings().one()
    rows = []
    for kind in KINDS:
        x = got.get(kind)
        level = ELIGIBLE_LEVEL.get(kind)
        units = int(x.units) if x else 0
        if level is None:
            rows.append((kind, units, None, None, None, None))
        else:
            covered = int(getattr(x, f"at_{level}")) if x else 0
            rows.append((kind, units, level, int(eligible[level]), covered, coverage(covered, eligible[level])))
    df = pd.DataFrame(rows, columns=KIND_COLUMNS)
    for c in ("eligible", "covered"):
        df[c] = df[c].astype("Int64")
    df["coverage"] = df["coverage"].astype("float64")
    return df


CHILD_COLUMNS = ["code", "name", "level", "own", "units", "reviewed", "avg_score", "good", "fair", "poor", "named"]


def units_by_child_region(engine: Engine, scope: Scope, month: str | None, kind: str | None = None
                          ) -> pd.DataFrame:
    """Units and their review of ``month`` per child of the selected region (all children, with units or
    not), after a first row (``own`` True) for the units sitting at the region itself when there are any:
    CHILD_COLUMNS.  Empty below the villages (units never sit at a grid)."""
    r = resolve(engine, scope)
    kind = _check_kind(kind)
    kids = r.tree.children(r.code)
    level = r.tree.child_level(r.code)
    if not kids or level in ("grid", "micro_grid"):
        return pd.DataFrame(columns=CHILD_COLUMNS)
    j, p = _unit_paths()
    key = path_column(p, level)
    where = _where(r, p, kind)
    with engine.connect() as conn:
        units = dict(conn.execute(select(key, func.count()).select_from(j).where(*where).group_by(key)).all())
        reviews = {}
        if month is not None:
            stmt = (select(key.label("key"), *_review_measures())
                    .select_from(cr.join(j, cu.c.unit_code == cr.c.unit_code))
                    .where(cr.c.month == _check_month(month), *where).group_by(key))
            reviews = {x["key"]: x for x in conn.execute(stmt).mappings()}
    rows = []
    own = [(r.code, r.tree.nodes[r.code].name if r.code else None, r.level, True, None)] if r.code else []
    for code, name, lv, is_own, k in own + [(x.code, x.name, x.level, False, x.code) for x in kids]:
        n = int(units.get(k, 0))
        if is_own and n == 0:
            continue
        m = reviews.get(k)
        rows.append((code, name, lv, is_own, n, int(m["reviewed"]) if m else 0,
                     float(m["avg_score"]) if m and m["avg_score"] is not None else None,
                     *[int(m[x]) if m else 0 for x in RATINGS], int(m["named"]) if m else 0))
    df = pd.DataFrame(rows, columns=CHILD_COLUMNS)
    df["avg_score"] = df["avg_score"].astype("float64")
    return df


def table_level(by_child: pd.DataFrame) -> str:
    """The level :func:`units_by_child_region`'s table is about: its children's, the region's own row aside
    (the region's own when it is the only row)."""
    kids = by_child.loc[~by_child["own"].astype(bool), "level"]
    return kids.iloc[0] if len(kids) else by_child["level"].iloc[0]


# --- month by month ---------------------------------------------------------------------------------------

TREND_COLUMNS = ["month", "reviewed", "avg_score", "good", "fair", "poor", "named"]


def monthly_trend(engine: Engine, scope: Scope, kind: str | None = None) -> pd.DataFrame:
    """Every review month of the selection: TREND_COLUMNS, oldest first."""
    r = resolve(engine, scope)
    kind = _check_kind(kind)
    j, p = _unit_paths()
    stmt = (select(cr.c.month, *_review_measures()).select_from(cr.join(j, cu.c.unit_code == cr.c.unit_code))
            .where(*_where(r, p, kind)).group_by(cr.c.month).order_by(cr.c.month))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=TREND_COLUMNS)
    df["avg_score"] = df["avg_score"].astype("float64")
    return df


NAMED_COLUMNS = ["month", "unit_code", "name", "kind", "region_code", "place", "score", "note"]


def named_units(engine: Engine, scope: Scope, kind: str | None = None) -> pd.DataFrame:
    """Every review with ``notified`` true of the selection (NAMED_COLUMNS), newest month first."""
    r = resolve(engine, scope)
    kind = _check_kind(kind)
    j, p = _unit_paths()
    stmt = (select(cr.c.month, cu.c.unit_code, cu.c.name, cu.c.kind, cu.c.region_code, cr.c.score, cr.c.note)
            .select_from(cr.join(j, cu.c.unit_code == cr.c.unit_code))
            .where(cr.c.notified.is_(True), *_where(r, p, kind)).order_by(cr.c.month.desc(), cu.c.unit_code))
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame([{**x, "place": _place(r, x["region_code"])} for x in rows], columns=NAMED_COLUMNS)


# --- a unit's history --------------------------------------------------------------------------------------

HISTORY_COLUMNS = ["month", "score", "rating", "rank", "ranked", "rank_change", "notified", "note"]


@dataclass(frozen=True)
class UnitHistory:
    unit_code: str
    name: str
    kind: str
    region_code: str
    place: str
    applied_on: date | None
    months: pd.DataFrame  # HISTORY_COLUMNS, oldest first; "ranked" = units in that month's ranking

    @property
    def latest(self) -> pd.Series | None:
        return self.months.iloc[-1] if len(self.months) else None

    @property
    def named_times(self) -> int:
        """The months it was named (通报)."""
        return int(self.months["notified"].sum())


def unit_history(engine: Engine, scope: Scope, unit_code: str, kind: str | None = None,
                 user: User | None = None) -> UnitHistory | None:
    """One unit under the selected region (inside the user's jurisdiction): its reviews month by month with
    its rank among the selection (the region's units of ``kind``); None when unknown or outside."""
    r = resolve(engine, scope)
    kind = _check_kind(kind)
    if not isinstance(unit_code, str):
        return None
    j, p = _unit_paths()
    with engine.connect() as conn:
        u = conn.execute(select(cu).where(cu.c.unit_code == unit_code)).one_or_none()
        if u is None or not visible(r.tree, u.region_code, scope.scope_code, user) \
                or (r.code is not None and not r.tree.contains(r.code, u.region_code)):
            return None
        own = cr.alias("own")  # the unit's own months: only those months are ranked
        ranked = (select(cr.c.unit_code, cr.c.month, func.rank().over(partition_by=cr.c.month,
                                                                      order_by=cr.c.score.desc()).label("rank"),
                         func.count().over(partition_by=cr.c.month).label("ranked"))
                  .select_from(cr.join(j, cu.c.unit_code == cr.c.unit_code))
                  .where(*_where(r, p, kind),
                         cr.c.month.in_(select(own.c.month).where(own.c.unit_code == unit_code)))).subquery("rk")
        rows = conn.execute(
            select(cr.c.month, cr.c.score, cr.c.rating, ranked.c.rank, ranked.c.ranked, cr.c.notified, cr.c.note)
            .select_from(cr.outerjoin(ranked, and_(ranked.c.unit_code == cr.c.unit_code,
                                                   ranked.c.month == cr.c.month)))
            .where(cr.c.unit_code == unit_code).order_by(cr.c.month)).mappings().all()
    by_month = {x["month"]: x for x in rows}
    out = []
    for x in rows:
        before = by_month.get(previous_month(x["month"]))
        change = (before["rank"] - x["rank"]) if before and before["rank"] is not None and x["rank"] is not None \
            else None
        out.append({**x, "rank_change": change})
    months = _typed(pd.DataFrame(out, columns=HISTORY_COLUMNS))
    months["ranked"] = months["ranked"].astype("Int64")
    return UnitHistory(unit_code=u.unit_code, name=u.name, kind=u.kind, region_code=u.region_code,
                       place=_place(r, u.region_code), applied_on=u.applied_on, months=months)


def find_units(engine: Engine, scope: Scope, text: str, limit: int = 20) -> pd.DataFrame:
    """Units under the selected region whose name or code contains ``text``: unit_code, name, kind, place."""
    text = find_text(text)
    if not text:
        return pd.DataFrame(columns=["unit_code", "name", "kind", "place"])
    r = resolve(engine, scope)
    j, p = _unit_paths()
    with engine.connect() as conn:
        rows = conn.execute(name_or_code_match(
            select(cu.c.unit_code, cu.c.name, cu.c.kind, cu.c.region_code).select_from(j).where(*_where(r, p)),
            text, cu.c.name, cu.c.unit_code, limit)).all()
    return pd.DataFrame([(x.unit_code, x.name, x.kind, _place(r, x.region_code)) for x in rows],
                        columns=["unit_code", "name", "kind", "place"])


# --- the figures the article quotes (tests/test_article_figures.py) ---------------------------------------

def clean_units_by_kind(engine: Engine, region_code: str | None = None) -> pd.DataFrame:
    """kind, region_level, units — units that applied, by kind and by the level of the region they sit at."""
    r = resolve(engine, Scope(region_code=region_code))
    j, p = _unit_paths()
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(cu.c.kind, p.c.level, func.count()).select_from(j)
                                         .where(*_where(r, p)).group_by(cu.c.kind, p.c.level)
                                         .order_by(cu.c.kind, p.c.level)).all(),
                            columns=["kind", "region_level", "units"])


def units_rated(engine: Engine, month: str, rating: str, region_code: str | None = None) -> int:
    """Units whose review of ``month`` ('YYYY-MM') has ``rating``."""
    if rating not in RATINGS:
        raise ValueError(f"rating: must be one of {', '.join(RATINGS)}, got {rating!r}")
    s = clean_summary(engine, Scope(region_code=region_code), month)
    return getattr(s, rating)


def notified_units(engine: Engine, region_code: str | None = None) -> pd.DataFrame:
    """unit_code, name, kind, month, note — units named in a monthly bulletin for failing their duties,
    by month then unit."""
    df = named_units(engine, Scope(region_code=region_code))
    return (df.sort_values(["month", "unit_code"], kind="stable").reset_index(drop=True)
            [["unit_code", "name", "kind", "month", "note"]])

