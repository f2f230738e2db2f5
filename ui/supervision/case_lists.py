"""Lists of cases in the supervision centre's views: each case number opens the case in the workbench."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ui import capped, data, tables


def capped_case_table(c: capped.Capped, columns: Sequence[str | tables.Column], name: str, key: str) -> None:
    """:func:`case_table` of a capped list (ui/capped.py): its first rows, then how many of how many and the
    whole list's export."""
    case_table(c.rows, columns)
    capped.note(c, case_columns(columns), name, key)


def case_columns(columns: Sequence[str | tables.Column]) -> list[tables.Column]:
    """The descriptions of ``columns`` (the shared ones by name, a view's own as they are)."""
    shared = {
        "case_no": ("case_no", "wb.col.case_no", "case"),
        "title": ("title", "wb.col.title", "text"),
        "category": ("category", "wb.col.category", "text", {"labels": data.category_labels()}),
        "status": ("status", "wb.col.status", "text", {"labels": "enum.status"}),
        "reported_at": ("reported_at", "wb.col.reported", "datetime"),
        "closed_at": ("closed_at", "sc.col.closed_at", "datetime"),
    }
    return [shared[c] if isinstance(c, str) else c for c in columns]


def case_table(df: pd.DataFrame, columns: Sequence[str | tables.Column]) -> None:
    """``df`` as a list of cases.  ``columns`` names the columns every such list shares (case_no, title,
    category, status, reported_at, closed_at) or describes a view's own column (ui/tables.py)."""
    tables.show(df, case_columns(columns))
