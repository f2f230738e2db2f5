"""Every chart of ui/charts.py, built in both languages from small frames, is finished: x and y titled, legends
and tooltips titled, quantities formatted, Chinese axis labels in 万 / 亿 past 10^4 / 10^8, a status or a
grade coloured by STATUS_COLORS / GRADE_COLORS and nothing else, no text or background colour that vanishes on
the dark theme, and the CJK font set (by ``finish``, which ``draw`` applies to every chart it sends)."""
from __future__ import annotations

import inspect
import re
from datetime import datetime

import altair as alt
import pandas as pd
import pytest

from data_access.core.metrics import RESOLUTION_LEVELS, STATUSES
from ui import charts, i18n

LANGS = ("zh", "en")


def _samples() -> dict[str, tuple]:
    """Small frames for every builder (the columns the pages pass), one entry per builder."""
    months = ["2026-01", "2026-02", "2026-03"]
    return {
        "monthly_status_chart": (pd.DataFrame(
            [{"month": m, "status": s, "cases": 12_000 + i} for m in months for i, s in enumerate(STATUSES)]),),
        "resolution_level_chart": (pd.DataFrame(
            {"resolution_level": list(RESOLUTION_LEVELS), "cases": [50_000, 30_000, 9_000, 800, 20],
             "share": [0.56, 0.34, 0.1, 0.009, 0.0002]}),),
        "county_map": (pd.DataFrame({"code": ["431302", "431321"], "name": ["娄星区", "双峰县"],
                                     "value": [0.98, 0.95]}), "办结率", ".2%", "431302", "unit.pct"),
        "backlog_age_chart": (pd.DataFrame({"cases": [12_000, 300, 40], "overdue": [100, 30, 40]}),
                              ["0–7", "8–30", ">30"]),
        "backlog_overdue_chart": (pd.DataFrame({"cases": [900, 80, 20]}), ["0", "1–3", ">3"]),
        "overdue_trend_chart": (pd.DataFrame({"month": months, "open_overdue": [120, 15_000, 90],
                                              "month_end": pd.to_datetime(["2026-01-31", "2026-02-28",
                                                                           "2026-03-31"])}),),
        "step_ratio_chart": (pd.DataFrame({"step": ["accept", "accept", "handle"], "bucket": [0, 4, 0],
                                           "bucket_label": ["≤25%", ">100%", "≤25%"], "cases": [10, 2, 7]}),
                             "环节用时"),
        "grade_hours_chart": (pd.DataFrame({"grade": ["normal", "yellow", "red"], "orders": [40, 12, 3],
                                            "median_hours_to_close": [30.5, 20.0, 8.25]}),),
        "workload_histogram": (pd.DataFrame({"workload": [0.1, 0.5, 0.6, 3.0], "flag": ["quiet", "ok", "ok",
                                                                                     "overloaded"]}),
                               0.55, {"overloaded": "偏高", "quiet": "偏低", "ok": "正常"}),
        "team_growth_chart": (pd.DataFrame({"month": [datetime(2024, 1, 1), datetime(2025, 1, 1)],
                                            "teams": [10, 9_905], "members": [100, 120_000]}),),
        "focus_chart": (pd.DataFrame({"tag": ["patrol", "care"], "teams": [300, 12]}),),
        "activities_chart": (pd.DataFrame({"month": months[:2], "kind": ["patrol", "care"],
                                           "activities": [3, 4], "participants": [30, 40],
                                           "person_hours": [60.5, 80.0]}), "person_hours", "服务时长"),
        "revenue_chart": (pd.DataFrame({"month": months[:2], "disposal_mode": ["lease", "use"],
                                        "revenue_wan": [12.5, 30.0]}),),
        "guarantee_chart": (pd.DataFrame({"name": ["A 厂房", "B 岸线"], "minimum_wan": [10.0, 5.0],
                                          "received_wan": [8.0, 6.0], "shortfall_wan": [2.0, 0.0]}),),
        "visitors_chart": (pd.DataFrame({"name": ["古村", "古村"], "month": months[:2],
                                         "visitors_per_day": [120.0, 15_000.0], "visitors": [3_600, 450_000]}),),
        "project_months_chart": (pd.DataFrame({"month": months[:2], "revenue_wan": [8.0, 12.0],
                                               "minimum_wan": [10.0, 10.0], "shortfall_wan": [2.0, None]}),),
        "ratings_chart": (pd.DataFrame({"month": ["2026-01", "2026-02"], "good": [3, 4], "fair": [2, 2],
                                        "poor": [1, 0]}),),
        "unit_history_chart": (pd.DataFrame({"month": ["2026-01", "2026-02"], "rating": ["good", "poor"],
                                             "score": [92.0, 55.5], "rank": [1, 9]}),),
    }


def _builders() -> list[str]:
    """Every public function of ui/charts.py that returns a chart (found from its annotation, so a new builder
    without a sample frame here fails the test instead of escaping it)."""
    return sorted(name for name, fn in inspect.getmembers(charts, inspect.isfunction)
                  if fn.__module__ == charts.__name__ and not name.startswith("_")
                  and "alt.Chart" in str(inspect.signature(fn).return_annotation))


@pytest.fixture(params=LANGS)
def lang(request, monkeypatch):
    lg = request.param
    monkeypatch.setattr(charts, "lang", lambda: lg)
    monkeypatch.setattr(charts, "t", lambda key, **kw: i18n.translate(key, lg, **kw))
    return lg


def _specs(lg: str) -> dict[str, dict]:
    return {name: charts.finish(getattr(charts, name)(*args)).to_dict() for name, args in _samples().items()}


def _units(spec: dict):
    """The spec and its layers, each with its encoding."""
    yield spec
    for sub in spec.get("layer", []):
        yield from _units(sub)


def _walk(obj):
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)


# --- a small evaluator of the label expressions (the subset of Vega expressions and d3-format they use) ----------

def _d3(v: float, spec: str) -> str:
    if spec == ",":
        return f"{v:,.12g}" if v != int(v) else f"{int(v):,}"
    m = re.fullmatch(r"\.(\d+)~r", spec)
    if m:
        s = f"{float(f'{v:.{int(m[1])}g}'):f}"
        return s.rstrip("0").rstrip(".") if "." in s else s
    m = re.fullmatch(r"\.(\d+)~s", spec)
    if m:
        for p, sym in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= p:
                return _d3(v / p, f".{m[1]}~r") + sym
        return _d3(v, f".{m[1]}~r")
    raise AssertionError(f"format {spec!r} not covered by the test's evaluator")


def _split_top(expr: str, sep: str) -> tuple[str, str] | None:
    depth, quote = 0, None
    for i, ch in enumerate(expr):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            return expr[:i], expr[i + 1:]
    return None


def label(expr: str, value: float) -> str:
    """What Vega shows for ``value`` under the axis's ``labelExpr``."""
    expr = expr.strip()
    cond = _split_top(expr, "?")
    if cond:
        then_else = _split_top(cond[1], ":")
        assert then_else, expr
        return label(then_else[0] if _eval(cond[0], value) else then_else[1], value)
    return _eval(expr, value)


def _eval(expr: str, value: float):
    env = {"datum": type("D", (), {"value": value}), "format": _d3, "abs": abs}
    return eval(expr.replace("'", '"'), env)  # the test's own fixed expressions, nothing from outside


def test_the_evaluator_reads_the_labels():
    assert label(charts._ZH_LABEL, 12_000) == "1.2万"
    assert label(charts._EN_LABEL, 1_500_000) == "1.5M"


# --- the tests ------------------------------------------------------------------------------------------------

def test_every_builder_has_a_sample():
    assert _builders() == sorted(_samples())


def test_titles_units_and_number_labels(lang):
    for name, spec in _specs(lang).items():
        for unit in _units(spec):
            enc = unit.get("encoding", {})
            for ch in ("x", "y"):
                if ch not in enc or "field" not in enc[ch]:
                    continue
                e = enc[ch]
                assert isinstance(e.get("title"), str) and e["title"].strip(), (name, ch, e)
                axis = e.get("axis") or {}
                # A quantity's axis is labelled by charts.axis: a percent format or the 万 / SI label expression
                # (a layer drawn on another layer's axis, a rule or a tick, may leave the axis to it).
                owns_axis = unit is spec or "axis" in e
                if e.get("type") == "quantitative" and owns_axis and "labelExpr" not in axis:
                    assert "%" in axis.get("format", ""), (name, ch, axis)
                if "labelExpr" in axis:
                    expr = axis["labelExpr"]
                    if lang == "zh" and "万元" in e["title"]:  # already in 万: 10,000 万元 is 1 亿
                        assert label(expr, 12_000) == "1.2亿", (name, expr)
                    elif lang == "zh":
                        assert label(expr, 12_000) == "1.2万", (name, expr)
                        assert label(expr, 1_070_000) == "107万", (name, expr)
                        assert label(expr, 250_000_000) == "2.5亿", (name, expr)
                    if lang == "zh":
                        assert label(expr, 9_708) == "9,708", (name, expr)
                    else:
                        assert "万" not in expr and "亿" not in expr, (name, expr)
                        assert label(expr, 12_000) == "12,000", (name, expr)
            color = enc.get("color", {})
            if "field" in color or "datum" in color:
                legend = color.get("legend", {})
                if legend is not None:
                    title = color.get("title") or legend.get("title")
                    assert isinstance(title, str) and title.strip(), (name, color)
            tips = enc.get("tooltip", [])
            for tip in tips if isinstance(tips, list) else [tips]:
                assert isinstance(tip.get("title"), str) and tip["title"].strip(), (name, tip)
                if tip.get("type") == "quantitative" or tip.get("aggregate"):
                    assert tip.get("format"), (name, tip)


def test_status_and_grade_colours_come_from_one_place(lang):
    seen = set()
    for name, spec in _specs(lang).items():
        for unit in _units(spec):
            color = unit.get("encoding", {}).get("color", {})
            field = str(color.get("field", ""))
            if "status" in field:
                seen.add("status")
                assert color["scale"]["range"] == [charts.STATUS_COLORS[s] for s in STATUSES], name
                assert color["scale"]["domain"] == [i18n.translate(f"enum.status.{s}", lang) for s in STATUSES]
            if name == "grade_hours_chart" and field:
                seen.add("grade")
                assert color["scale"]["range"] == list(charts.GRADE_COLORS.values())
                assert color["scale"]["domain"] == [i18n.translate(f"enum.grade.{g}", lang)
                                                    for g in charts.GRADE_COLORS]
    assert seen == {"status", "grade"}
    # Text tones: the same hue, dark enough for letters on white and light enough on the dark background.
    for key, c in charts.STATUS_COLORS.items():
        tone = charts.text_tone(c)
        assert charts.STATUS_TEXT_COLORS[key] == tone
        lum = charts._luminance(tuple(int(tone[i:i + 2], 16) / 255 for i in (1, 3, 5)))
        assert 0.15 < lum < 0.21, (key, tone)
    assert set(charts.STATUS_BADGE) == set(STATUSES) and set(charts.GRADE_BADGE) == set(charts.GRADE_COLORS)


def test_font_and_no_colour_that_vanishes_on_a_theme(lang):
    for name, spec in _specs(lang).items():
        font = spec["config"]["font"]
        assert "Noto Sans CJK SC" in font and font.rstrip().endswith("sans-serif"), name
        assert "background" not in spec and "background" not in spec["config"], name  # the theme's
        for d in _walk({k: v for k, v in spec.items() if k not in ("datasets", "data")}):
            for k in ("color", "fill", "stroke", "titleColor", "labelColor"):
                v = d.get(k)
                if isinstance(v, str) and v.startswith("#") and len(v) == 7:
                    lum = charts._luminance(tuple(int(v[i:i + 2], 16) / 255 for i in (1, 3, 5)))
                    # a near-black or near-white mark vanishes on one of the two backgrounds
                    assert 0.03 < lum < 0.9, (name, k, v)
                elif isinstance(v, str):
                    assert v.lower() not in ("black", "white"), (name, k, v)


def test_draw_sends_the_finished_spec(monkeypatch):
    """``draw`` (cached or not) applies ``finish``: the font reaches the browser."""
    sent = []
    monkeypatch.setattr(charts.st, "vega_lite_chart", lambda spec, **kw: sent.append(spec))
    monkeypatch.setattr(charts, "lang", lambda: "zh")
    monkeypatch.setattr(charts, "t", lambda key, **kw: i18n.translate(key, "zh", **kw))
    charts.draw(charts.focus_chart, pd.DataFrame({"tag": ["patrol"], "teams": [3]}))
    assert sent and "Noto Sans CJK SC" in sent[0]["config"]["font"]


def test_builders_are_altair_charts(lang):
    for name, args in _samples().items():
        assert isinstance(getattr(charts, name)(*args), alt.TopLevelMixin), name


def test_the_drawn_spec_is_the_checked_one(lang):
    """draw() builds a spec without Altair's schema checks (charts.build_spec, for the CPU of a filter change);
    here each chart is also converted the checked way, which raises on a spec Vega-Lite's schema rejects, and
    the two must be equal, datasets included."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    for name, args in _samples().items():
        builder = getattr(charts, name)
        checked = _convert_altair_to_vega_lite_spec(charts.finish(builder(*args)))
        assert charts.build_spec(builder, args) == checked, name
        assert checked["datasets"] or name == "county_map", name   # (the map's shapes are inline values)


def test_an_invalid_chart_fails_the_check():
    """The check the test above relies on does reject a spec outside Vega-Lite's schema."""
    from altair.utils.schemapi import SchemaValidationError
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from altair.utils.schemapi import debug_mode

    with debug_mode(False):   # made unchecked, as build_spec makes it
        bad = alt.Chart(pd.DataFrame({"a": [1]})).mark_bar().encode(x=alt.X("a:Q", axis=alt.Axis(labelAngle="wide")))
    with pytest.raises(SchemaValidationError, match="labelAngle"):
        _convert_altair_to_vega_lite_spec(bad)
