"""The rates of core/metrics.py ("Rates and where they are used"): each a ratio with the same edge cases, and
the views that show one read it from there (a KPI, a report and a ranking row agree to the last digit)."""
from __future__ import annotations

import pandas as pd
import pytest

from data_access.core import metrics as m
from data_access.queries.supervision.integrity import IntegrityReport
from data_access.queries.supervision.ranking import ScoreWeights, _score_frame


def test_each_rate_is_a_ratio_with_nothing_to_divide_by_giving_none():
    assert m.closure_rate(3, 4) == 0.75 and m.closure_rate(0, 0) is None
    assert m.on_time_count(10, 3) == 7 and m.on_time_rate(7, 10) == 0.7 and m.on_time_rate(0, 0) is None
    assert m.on_the_spot_share(1, 4) == 0.25 and m.mean_satisfaction(9, 2) == 4.5 and m.mean_satisfaction(0, 0) is None
    assert m.verified_closure_rate(8, 2, 10) == 0.6 and m.flagged_share(2, 10) == 0.2
    assert m.closure_rate(8, 10) - m.verified_closure_rate(8, 2, 10) == pytest.approx(m.flagged_share(2, 10))
    assert m.per_1000(17, 8500) == 2.0 and m.per_1000(5, 0) is None
    assert m.per_grid_worker(8500, 5) == 1700 and m.party_share(11, 17) == pytest.approx(11 / 17)
    assert m.coverage(4, 6) == pytest.approx(4 / 6) and m.coverage(0, 0) is None


def test_the_kpis_the_integrity_report_and_the_ranking_share_one_closure_and_on_time_rate():
    k = m.CaseKpis(cases=7, closed=6, on_time=5, closed_late=1, accepted=5, accepted_in_time=4, unaccepted_late=1,
                   resolved=5, rated=3, satisfied=2)
    rep = IntegrityReport(cases=7, closed=6, n_flagged=2)
    row = _score_frame(pd.DataFrame({"code": ["x"], "name": ["x"], "cases": [7], "closed": [6], "closed_late": [1],
                                     "n_satisfaction": [3], "sum_satisfaction": [11], "overdue_backlog": [0],
                                     "n_accepted": [5], "n_accepted_in_time": [4], "n_resolved": [5],
                                     "n_satisfied": [2], "n_unaccepted_late": [1]}),
                       ScoreWeights(), 1)[0].iloc[0]
    # the 三率 (issue 23): the Overview's and the ranking's are the same functions of the same counts
    # one open case not accepted past its 受理 limit: a failure beside the 5 accepted (4 of 6)
    assert k.response_rate == row["response_rate"] == m.response_rate(4, 5, 1) == pytest.approx(4 / 6)
    assert k.resolution_rate == row["resolution_rate"] == m.resolution_rate(5, 7)
    assert k.satisfaction_rate == row["satisfaction_rate"] == m.satisfaction_rate(2, 3)
    assert k.closure_rate == rep.closure_rate == row["closure_rate"] == m.closure_rate(6, 7)
    assert k.on_time_rate == row["on_time_rate"] == m.on_time_rate(5, 6) and row["on_time"] == 5
    assert row["satisfaction_avg"] == m.mean_satisfaction(11, 3)
    assert rep.verified_closure_rate == m.verified_closure_rate(6, 2, 7) and rep.gap == m.flagged_share(2, 7)
