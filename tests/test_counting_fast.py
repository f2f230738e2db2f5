"""case_counts adds its partial answers (whole months from the roll-up, edge days from ``cases``) in plain Python
(counting._added_up, for the filter change's CPU), and must give the frame pandas' concat + groupby(dropna=False)
+ sum gave: groups sorted by key with a NULL key last, int64 counts, a 0…n index.  Checked on the hand-computable
fixture (tests/fixtures/metrics/README.md) on both databases, over a period that needs both kinds of part:
2026-02-01 … 2026-03-10 is February from the roll-up and 03-01 … 03-10 from ``cases``.

In it: c04 (02-01, county, closed, 48 h), c05 (02-15, grid, closed, on the spot, 2 h), c06 (03-01, handling),
c08 (03-10, accepted), c09 (03-05, city, closed, 36 h).
"""
from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from data_access.core import counting
from data_access.core.filters import CaseFilter
from data_access.core.metrics import BUCKET_COLUMNS, hour_bucket

NOW = datetime(2026, 3, 20, 12, 0)
F = CaseFilter(date_from=date(2026, 2, 1), date_to=date(2026, 3, 10))


def _shape(df: pd.DataFrame, keys: list[str]) -> None:
    assert list(df.columns) == [*keys, *counting.COUNT_COLUMNS]
    assert all(str(df[c].dtype) == "int64" for c in counting.COUNT_COLUMNS)
    assert df.index.equals(pd.RangeIndex(len(df)))


def test_by_resolution_level_a_null_key_sorts_last(metrics_engine):
    df = counting.case_counts(metrics_engine, F, ("resolution_level",), NOW)
    _shape(df, ["resolution_level"])
    levels = [None if pd.isna(v) else v for v in df["resolution_level"]]
    assert levels == ["city", "county", "grid", None]   # the open cases c06, c08 have no level
    assert df["cases"].tolist() == [1, 1, 1, 2]
    assert df["closed"].tolist() == [1, 1, 1, 0]
    assert df["on_the_spot"].tolist() == [0, 0, 1, 0]
    # each closed case in the bucket of its hours: c09 36 h, c04 48 h, c05 2 h
    for row, hours in zip(df.itertuples(index=False), (36, 48, 2)):
        hist = [getattr(row, b) for b in BUCKET_COLUMNS]
        assert hist == [int(i == hour_bucket(hours)) for i in range(len(BUCKET_COLUMNS))], row


def test_by_month_and_status_sorted_by_both_keys(metrics_engine):
    df = counting.case_counts(metrics_engine, F, ("month", "status"), NOW, histogram=False)
    _shape(df, ["month", "status"])
    assert list(zip(df["month"], df["status"], df["cases"])) == [
        ("2026-02", "closed", 2), ("2026-03", "accepted", 1), ("2026-03", "closed", 1), ("2026-03", "handling", 1)]
    assert df[list(BUCKET_COLUMNS)].to_numpy().sum() == 0   # histogram=False


def test_the_whole_selection_in_one_row(metrics_engine):
    df = counting.case_counts(metrics_engine, F, (), NOW)
    _shape(df, [])
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["cases"], row["closed"], row["on_the_spot"], row["closed_late"]) == (5, 3, 1, 0)
    assert row[list(BUCKET_COLUMNS)].sum() == 3
    empty = counting.case_counts(metrics_engine, CaseFilter(date_from=date(2027, 1, 1), date_to=date(2027, 1, 9)),
                                 (), NOW)
    assert empty.empty and list(empty.columns) == counting.COUNT_COLUMNS
