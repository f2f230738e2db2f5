"""``python -m sample_data.live --surge CODE:CATEGORY[:MULTIPLIER]`` (and with --inbox): a surge injected on demand
for the early warning's demo, on a copy of the hand-computable fixture (tests/fixtures/metrics)."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from data_access import cli
from data_access.core.schema import cases
from sample_data import live, live_inbox
from tests.test_live_feed import assert_every_case_follows_the_contract, fake_clock
from tests.test_workflow_writes import assert_rollups_exact

DAY0, DAY1 = datetime(2026, 3, 20), datetime(2026, 3, 21)   # fake_clock starts at 2026-03-20 12:00


def _today(engine, column: str, code: str, category: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(cases.c[column] == code, cases.c.category == category,
                                                       cases.c.reported_at >= DAY0, cases.c.reported_at < DAY1)
                            ).scalar_one()


def test_parse_says_what_is_wrong():
    assert live.Surge.parse("G3:A") == live.Surge("G3", "A", 4.0)
    assert live.Surge.parse(" 110 : B : 2.5 ") == live.Surge("110", "B", 2.5)
    for text, message in (("G3", "expected CODE:CATEGORY"), ("G3::4", "expected CODE:CATEGORY"),
                          ("G3:A:x", "'x' is not a number"), ("G3:A:1", "above 1 and at most 100"),
                          ("G3:A:4:5", "expected CODE:CATEGORY")):
        with pytest.raises(ValueError, match=message):
            live.Surge.parse(text)


def test_a_grid_surge_reaches_the_multiplier_times_its_baseline(loaded_engine):
    # G3 (with its micro-grid G3-01) had 1 case of A in the 28 days before 20 March (c06): 1/28 a day, so the
    # surge adds max(3, ceil(4 × 1/28)) = 3 reports of A in G3 today
    assert _today(loaded_engine, "top_grid_code", "G3", "A") == 0
    lines: list[str] = []
    taken = live.run(loaded_engine, rate=0, steps=30, seed=11, clock=fake_clock(), out=lines.append,
                     surge=live.Surge.parse("G3:A:4"))
    assert lines[0] == "surge G3 A ×4: 0.04 a day over the 28 days before, 0 today; 3 report(s) to add"
    assert taken["surge"] == 3 and len(lines) == 31
    surge_lines = [ln for ln in lines[1:] if " surge " in ln]
    assert len(surge_lines) == 3 and all((" G3 A " in ln or " G3-01 A " in ln) for ln in surge_lines)
    assert _today(loaded_engine, "top_grid_code", "G3", "A") >= 3
    assert_every_case_follows_the_contract(loaded_engine)
    assert_rollups_exact(loaded_engine)


def test_a_county_surge_counts_today_and_the_baseline_from_the_database(loaded_engine):
    # county 110 (G1, G2): B in the 28 days before 20 March: c07 (19 March) -> 1/28; multiplier 2 -> 3 reports
    feed = live.Feed(loaded_engine, seed=1, clock=fake_clock(), surge=live.Surge.parse("110:B:2"))
    s = feed.surge
    assert (s.grids, s.today, s.left) == (["G1", "G2"], 0, 3) and s.baseline == pytest.approx(1 / 28)
    assert s.weights == pytest.approx([1 / 3, 2 / 3])       # by population: 1,000 and 2,000
    done = [feed.step() for _ in range(40)]
    assert sum(d.action == "surge" and not d.skipped for d in done) == 3 and s.left == 0
    assert _today(loaded_engine, "county_code", "110", "B") >= 3


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_unknown_place_or_category_is_one_line(loaded_engine, capsys):
    url = loaded_engine.url.render_as_string(hide_password=False)
    for arg, message in (("nowhere:A", "error: --surge: 'nowhere' is neither a grid nor a region"),
                         ("G1:Z", "error: --surge: 'Z' is not a category; the categories are A, B")):
        assert live.main(["--db", url, "--steps", "1", "--rate", "0", "--surge", arg]) == 2
        err = capsys.readouterr().err
        assert err.startswith(message) and "Traceback" not in err, err
    with pytest.raises(SystemExit):
        live.main(["--db", url, "--surge", "G1"])
    assert "--surge 'G1': expected CODE:CATEGORY[:MULTIPLIER]" in capsys.readouterr().err


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_surge_goes_out_in_the_batches_too(loaded_engine, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    taken, batches = live_inbox.run_inbox(loaded_engine, inbox, rate=0, steps=20, seed=3, clock=fake_clock(),
                                          batch_steps=10, out=None, surge=live.Surge.parse("G2:B"))
    assert taken["surge"] == 3 and len(batches) >= 2
    assert _today(loaded_engine, "grid_code", "G2", "B") == 0           # the database is only read
    monkeypatch.setattr(cli, "_engine", lambda _args: loaded_engine)
    assert cli.main(["sync", "--watch", str(inbox), "--once"]) == 0
    assert _today(loaded_engine, "grid_code", "G2", "B") >= 3
