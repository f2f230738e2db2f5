"""Lists of cases in the supervision centre's views: each case number opens the case in the workbench."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ui import data, tables


def case_table(df: pd.DataFrame, columns: Sequence[str | tables.Column]) -> None:
    """``df`` as a list of cases.  ``columns`` names the columns every such list shares (case_no, title,
    category, status, reported_at, closed_at) or describes a view's own column (ui/tables.py)."""
    shared = {
        "case_no": ("case_no", "wb.col.case_no", "case"),
        "title": ("title", "wb.col.title", "text"),
        "category": ("category", "wb.col.category", "text", {"labels": data.category_labels()}),
        "status": ("status", "wb.col.status", "text", {"labels": "enum.status"}),
        "reported_at": ("reported_at", "wb.col.reported", "datetime"),
        "closed_at": ("closed_at", "sc.col.closed_at", "datetime"),
    }
    tables.show(df, [shared[c] if isinstance(c, str) else c for c in columns])
