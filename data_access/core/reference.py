"""Small reference lists the filters offer: categories and departments (a few dozen rows each)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from data_access.core.schema import categories, departments


def case_categories(engine: Engine) -> pd.DataFrame:
    """code, name_zh, name_en, time_limit_hours — in code order."""
    with engine.connect() as conn:
        rows = conn.execute(select(categories.c.code, categories.c.name_zh, categories.c.name_en,
                                   categories.c.time_limit_hours).order_by(categories.c.code)).all()
    return pd.DataFrame(rows, columns=["code", "name_zh", "name_en", "time_limit_hours"])


def case_departments(engine: Engine) -> pd.DataFrame:
    """code, name, region_code — in name order."""
    with engine.connect() as conn:
        rows = conn.execute(select(departments.c.code, departments.c.name, departments.c.region_code)
                            .order_by(departments.c.name, departments.c.code)).all()
    return pd.DataFrame(rows, columns=["code", "name", "region_code"])
