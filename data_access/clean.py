"""Clean-governance units (清廉单元): monthly review, ranking and bulletin."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select

from .regions import region_tree, subtree_codes
from .schema import clean_unit_reviews, clean_units


def _region_where(engine: Engine, region_code: str | None):
    codes = subtree_codes(region_tree(engine), region_code)
    return [clean_units.c.region_code.in_(codes)] if codes is not None else []


def clean_units_by_kind(engine: Engine, region_code: str | None = None) -> pd.DataFrame:
    """kind, level of the unit's region, units — units that applied, by kind and by the level they sit at."""
    from .schema import regions

    stmt = (select(clean_units.c.kind, regions.c.level, func.count())
            .select_from(clean_units.join(regions, regions.c.code == clean_units.c.region_code))
            .where(*_region_where(engine, region_code))
            .group_by(clean_units.c.kind, regions.c.level))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(), columns=["kind", "region_level", "units"])


def units_rated(engine: Engine, month: str, rating: str, region_code: str | None = None) -> int:
    """Units whose review of ``month`` ('YYYY-MM') has ``rating``."""
    r = clean_unit_reviews.c
    stmt = (select(func.count(func.distinct(r.unit_code)))
            .select_from(clean_unit_reviews.join(clean_units, clean_units.c.unit_code == r.unit_code))
            .where(r.month == month, r.rating == rating, *_region_where(engine, region_code)))
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def notified_units(engine: Engine, region_code: str | None = None) -> pd.DataFrame:
    """unit_code, name, kind, month, note — units named in a monthly bulletin for failing their duties."""
    r = clean_unit_reviews.c
    stmt = (select(r.unit_code, clean_units.c.name, clean_units.c.kind, r.month, r.note)
            .select_from(clean_unit_reviews.join(clean_units, clean_units.c.unit_code == r.unit_code))
            .where(r.notified.is_(True), *_region_where(engine, region_code))
            .order_by(r.month, r.unit_code))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(), columns=["unit_code", "name", "kind", "month", "note"])
