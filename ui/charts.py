"""Chart builders (Altair) with translated labels and one colour per status everywhere.

Every builder takes its axes, legends and tooltips from the helpers below (``axis``, ``legend``, ``tip``), so
that numbers read the same on every chart: in Chinese 12,000 is 1.2万 (and 1.2亿 past 10^8), in English
12,000 or 1.2M; percentages as %; titles carry their unit (件, 小时, 天, %, 万元, 人…).  Colours come from
the constants here (Okabe–Ito, colour-blind-safe) and from nowhere else: a status, a grade, a level, an
activity kind or a disposal mode has the same colour on every page.  No chart hard-codes a text or background
colour: the Streamlit theme (light or dark, ``.streamlit/config.toml``) gives those; the few neutral marks
(rules, outlines, ticks) use ``NEUTRAL``, a mid grey that shows on both backgrounds.  The font is set once,
in ``finish``, with a CJK family so that Chinese labels render.

Pages draw a chart with ``draw(builder, *args)``: the same element as ``st.altair_chart(builder(*args),
width="stretch")``, but the chart's Vega-Lite spec is built once per process for the same arguments and
language (building an Altair chart and validating it against the Vega-Lite schema is most of the CPU of a
warm rerun: the county map alone took ~45 ms a click).
"""
from __future__ import annotations

import hashlib
import pickle
import threading
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st
from altair.utils import schemapi

from data_access.core import geo
from data_access.core.metrics import RESOLUTION_LEVELS, STATUSES

from .state import lang, t


def draw(builder: Callable[..., alt.TopLevelMixin], *args) -> None:
    """``st.altair_chart(builder(*args), width="stretch")``, with the spec cached (see the module's doc).

    The cache key is the builder, the session's language (every builder translates its labels) and the
    arguments themselves (their pickled bytes: equal bytes unpickle to equal data), so a chart is never shown
    with another's data or words.  A builder must depend on nothing else: no session state, no clock.
    (Streamlit's own hashing of a data frame argument costs ~1.5 ms; pickling a small one ~0.05 ms.)"""
    code = builder.__code__
    try:
        blob = pickle.dumps((code.co_filename, builder.__qualname__, code.co_code, lang(), args), protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):  # an argument that does not pickle: uncached
        st.altair_chart(finish(builder(*args)), width="stretch")
        return
    spec = _spec(hashlib.blake2b(blob, digest_size=32).hexdigest(), _builder=builder, _args=args)
    st.vega_lite_chart(spec=spec, width="stretch")  # what st.altair_chart does with the converted chart


# Bounded: a spec holds its chart's data (most are a few kB; the county map ~100 kB), and the server's memory
# budget is 300 MB (README, Performance).  An hour without use and a spec is dropped.
@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def _spec(key: str, _builder: Callable[..., alt.TopLevelMixin], _args: tuple) -> dict:
    return build_spec(_builder, _args)


class _Unvalidated:
    """A chart whose ``to_dict`` skips the Vega-Lite schema check (what Streamlit's conversion calls)."""

    def __init__(self, chart: alt.TopLevelMixin) -> None:
        self.chart = chart

    def to_dict(self, **kwargs) -> dict:
        return self.chart.to_dict(validate=False, **kwargs)


_BUILDING = threading.Lock()   # Altair's debug mode is one global: one build at a time switches it off


def build_spec(builder: Callable[..., alt.TopLevelMixin], args: tuple) -> dict:
    """The Vega-Lite spec of ``finish(builder(*args))`` as ``st.altair_chart`` sends it (Streamlit's own
    conversion: tabular data become Arrow datasets named by their content), built without Altair's schema
    checks.  Checking each object as it is made and the whole spec against the Vega-Lite JSON schema was about
    half of a spec's CPU (the county map 47 → 22 ms, a bar chart 5 → 2 ms), paid on every filter change; it
    changes nothing in the spec.  tests/test_chart_finish.py builds every chart both ways and asserts the
    checked spec is valid and equal, so the check still runs, in the tests."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    with _BUILDING, schemapi.debug_mode(False):
        return _convert_altair_to_vega_lite_spec(_Unvalidated(finish(builder(*args))))


# --- one look for every chart: font, numbers, titles, neutral marks ------------------------------------------

# Latin in the app's own face, Chinese in Noto Sans CJK SC (Debian fonts-noto-cjk; the Mac and Windows faces
# after it for browsers without it), then whatever sans-serif the browser has.
FONT = ('"Source Sans", "Source Sans Pro", "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", '
        '"Microsoft YaHei", sans-serif')
# Rules, outlines and ticks: a mid grey with contrast on the light (#FFFFFF) and the dark (#0E1117) background.
NEUTRAL = "#8A8F98"
BRAND = "#C8102E"  # 娄底红, the theme's primary colour
# Any other categorical series (e.g. one line per project): Okabe–Ito, black replaced by the neutral grey.
CATEGORICAL = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", NEUTRAL]

# Number kinds: "count" (whole things: 件, 人, 支 …), "number" (hours, ratios), "wan" (already in 万元),
# "percent" (a share 0…1).  Axis and legend labels: in Chinese 万 / 亿 past 10^4 / 10^8, in English ',' and
# SI suffixes past a million.
_ZH_LABEL = ("abs(datum.value) >= 1e8 ? format(datum.value / 1e8, '.4~r') + '亿'"
             " : abs(datum.value) >= 1e4 ? format(datum.value / 1e4, '.4~r') + '万'"
             " : format(datum.value, ',')")
_ZH_WAN_LABEL = ("abs(datum.value) >= 1e4 ? format(datum.value / 1e4, '.4~r') + '亿'"
                 " : format(datum.value, ',')")
_EN_LABEL = "abs(datum.value) >= 1e6 ? format(datum.value, '.3~s') : format(datum.value, ',')"
_TIP_FORMAT = {"count": ",", "number": ",.1f", "wan": ",.2f", "percent": ".1%"}


def finish(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The chart as drawn: the CJK font list set once for every text of it (the Streamlit theme gives colours
    and sizes).  ``draw`` applies it; builders do not."""
    return chart.configure(font=FONT)


def _labels(kind: str) -> dict:
    if kind == "percent":
        return {"format": "~%"}
    if lang() == "zh":
        return {"labelExpr": _ZH_WAN_LABEL if kind == "wan" else _ZH_LABEL}
    return {"labelExpr": _EN_LABEL}


def axis(kind: str = "count", **kw) -> alt.Axis:
    """The axis of a quantity of ``kind`` (see the kinds above); ``kw`` as alt.Axis (labelAngle, orient…)."""
    if kind == "count":
        kw.setdefault("tickMinStep", 1)
    return alt.Axis(**_labels(kind), **kw)


def legend(kind: str = "count", **kw) -> alt.Legend:
    """The legend of a quantitative colour (the maps), labelled like ``axis``."""
    return alt.Legend(**_labels(kind), **kw)


def tip(field: str, title: str, kind: str | None = None, **kw) -> alt.Tooltip:
    """A tooltip field, always titled; a quantity formatted by its kind (exact: ',' not 万)."""
    if kind is not None:
        kw.setdefault("format", _TIP_FORMAT[kind])
    return alt.Tooltip(field, title=title, **kw)


def with_unit(title: str, unit_key: str | None) -> str:
    """``title`` followed by the translated unit, 办结率（%） / Closure rate (%)."""
    return title if unit_key is None else t("chart.with_unit", name=title, unit=t(unit_key))


# --- colours: the only source of each ---------------------------------------------------------------------

# One colour per status on every page (Okabe–Ito); closed is the calm green.
STATUS_COLORS = {
    "reported": "#E69F00",
    "accepted": "#56B4E9",
    "dispatched": "#CC79A7",
    "handling": "#D55E00",
    "feedback": "#F0E442",
    "closed": "#009E73",
}
# Where a level is settled, grid … city: low levels (小事不出村) cool, settled upward warm.
LEVEL_COLORS = {"grid": "#009E73", "village": "#56B4E9", "township": "#0072B2", "county": "#E69F00",
                "city": "#D55E00"}
OVERDUE_COLOR = "#D55E00"  # overdue, over a limit, past a deadline: the same vermilion everywhere
WITHIN_COLOR = "#0072B2"  # within a limit / not overdue: the calm blue (colour-blind-safe against vermilion)
# 普通 / 黄牌 / 红牌: grey, orange, vermilion — orange and vermilion differ in lightness as well as hue, and the
# grade's name is always written beside its colour (axis labels, table cells, badges).
GRADE_COLORS = {"normal": NEUTRAL, "yellow": "#E69F00", "red": "#D55E00"}
# st.badge takes only Streamlit's named colours: the nearest to each colour above.
STATUS_BADGE = {"reported": "orange", "accepted": "blue", "dispatched": "violet", "handling": "red",
                "feedback": "yellow", "closed": "green"}
GRADE_BADGE = {"normal": "gray", "yellow": "orange", "red": "red"}


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_tone(color: str, target: float = 0.18) -> str:
    """The same hue as ``color`` at a relative luminance near ``target``: coloured text (a status in a table
    cell) that reads on the light background (contrast ~4.5) and on the dark one (~4)."""
    rgb = tuple(int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    toward = (0.0, 0.0, 0.0) if _luminance(rgb) > target else (1.0, 1.0, 1.0)
    lo, hi = 0.0, 1.0  # share of ``toward`` mixed in
    for _ in range(30):
        mid = (lo + hi) / 2
        mixed = tuple(c + (w - c) * mid for c, w in zip(rgb, toward))
        if (_luminance(mixed) > target) == (toward[0] == 0.0):
            lo = mid
        else:
            hi = mid
    mixed = tuple(c + (w - c) * hi for c, w in zip(rgb, toward))
    return "#" + "".join(f"{round(c * 255):02X}" for c in mixed)


# Text on a light or dark background: STATUS_COLORS' and GRADE_COLORS' hues, toned to read as letters.
STATUS_TEXT_COLORS = {s: text_tone(c) for s, c in STATUS_COLORS.items()}
GRADE_TEXT_COLORS = {g: text_tone(c) for g, c in GRADE_COLORS.items()}
OVERDUE_STYLE = f"color: {text_tone(OVERDUE_COLOR)}; font-weight: 600"


def _scale(colors: dict[str, str], keys, labels) -> alt.Scale:
    """The colour scale of translated ``labels`` of ``keys``: each key's own colour from ``colors``."""
    return alt.Scale(domain=list(labels), range=[colors[k] for k in keys])


def _translated(df: pd.DataFrame, column: str, prefix: str, keys, colors: dict[str, str],
                label: str = "label") -> tuple[pd.DataFrame, list[str], alt.Scale]:
    """``df`` with a ``label`` column: ``column``'s codes in the session's language (catalog key
    ``{prefix}.{code}``); the labels of ``keys`` in their order (the legend's and the axis's); and the colour
    scale that gives each its own colour from ``colors``."""
    order = [t(f"{prefix}.{k}") for k in keys]
    d = df.assign(**{label: [t(f"{prefix}.{x}") for x in df[column]]})
    return d, order, _scale(colors, keys, order)


def monthly_status_chart(df: pd.DataFrame) -> alt.Chart:
    d, order, scale = _translated(df, "status", "enum.status", STATUSES, STATUS_COLORS, label="status_label")
    return (
        alt.Chart(d)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=t("ov.trend.month"), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("sum(cases):Q", title=t("chart.cases"), axis=axis("count")),
            color=alt.Color("status_label:N", title=t("ov.trend.status"),
                            scale=scale, sort=order),
            order=alt.Order("status_order:Q"),
            tooltip=[tip("month:O", t("ov.trend.month")),
                     tip("status_label:N", t("ov.trend.status")),
                     tip("cases:Q", t("chart.cases"), "count")],
        )
        .transform_calculate(status_order=f"indexof({order!r}, datum.status_label)")
        .properties(height=300)
    )


def resolution_level_chart(df: pd.DataFrame) -> alt.Chart:
    d, order, scale = _translated(df, "resolution_level", "enum.level", RESOLUTION_LEVELS, LEVEL_COLORS)
    return (
        alt.Chart(d)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=t("ov.levels.level")),
            x=alt.X("share:Q", title=t("chart.share"), axis=axis("percent")),
            color=alt.Color("label:N", title=t("ov.levels.level"),
                            scale=scale, legend=None),
            tooltip=[tip("label:N", t("ov.levels.level")),
                     tip("cases:Q", t("chart.cases"), "count"),
                     tip("share:Q", t("chart.share"), "percent")],
        )
        .properties(height=220)
    )


def county_map(values: pd.DataFrame, measure_title: str, fmt: str, selected: str | None = None,
               unit_key: str | None = None) -> alt.Chart:
    """Choropleth of ``values`` (columns code, name, value) over the polygons of its counties (those that have
    one); ``selected`` outlined.  ``fmt`` (d3) formats the tooltip; a '%' in it makes the legend a percent
    one; ``unit_key`` (an i18n key) is the unit shown after ``measure_title``."""
    shapes = alt.Data(values=geo.features_for(list(values["code"])))
    is_selected = f"datum.properties.code === {selected!r}" if selected else "false"
    title = with_unit(measure_title, unit_key)
    kind = "percent" if "%" in fmt else "number"
    return (
        alt.Chart(shapes)
        .mark_geoshape()
        .transform_lookup(lookup="properties.code",
                          from_=alt.LookupData(values, "code", ["name", "value"]))
        .encode(
            # The palest blues would vanish into the light background: the ramp starts a step in.
            color=alt.Color("value:Q", title=title, scale=alt.Scale(scheme={"name": "blues", "extent": [0.2, 1]}),
                            legend=legend(kind)),
            tooltip=[tip("name:N", t("ov.rank.name")), tip("value:Q", title, format=fmt)],
            # alt.condition(is_selected, alt.value(BRAND), alt.value(NEUTRAL)) gives the same spec, but as a
            # plain dict Altair finds its class by trying the schema's alternatives: ~13 ms of the map's 22.
            stroke=alt.StrokeValue(NEUTRAL, condition={"test": is_selected, "value": BRAND}),
            strokeWidth=alt.StrokeWidthValue(0.8, condition={"test": is_selected, "value": 3}),
        )
        .project(type="mercator")
        .properties(height=380)
    )


# --- supervision centre -------------------------------------------------------------------------------------

# Step time ÷ step limit: four blues within the limit, four oranges to vermilion past it.
RATIO_COLORS = ["#C6DBEF", "#9ECAE1", "#6BAED6", "#2171B5", "#FDD0A2", "#FDAE6B", "#F16913", "#D55E00"]
# Days past due: the calm blue, then oranges deepening to vermilion and beyond.
OVERDUE_RAMP = ["#FDAE6B", "#FD8D3C", "#F16913", "#E6550D", "#D55E00", "#A63603"]


def backlog_age_chart(df: pd.DataFrame, labels: list[str]) -> alt.Chart:
    """Open cases by age bucket, split into overdue and not yet overdue."""
    d = df.assign(label=labels[: len(df)], within=df["cases"] - df["overdue"])
    long = pd.concat([
        d[["label", "within"]].rename(columns={"within": "n"}).assign(part=t("sc.chart.within")),
        d[["label", "overdue"]].rename(columns={"overdue": "n"}).assign(part=t("sc.chart.overdue")),
    ])
    parts = [t("sc.chart.within"), t("sc.chart.overdue")]
    return (
        alt.Chart(long).mark_bar()
        .encode(
            x=alt.X("label:N", sort=labels, title=t("sc.chart.age"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(n):Q", title=t("sc.chart.open_cases"), axis=axis("count")),
            color=alt.Color("part:N", title=t("chart.overdue_state"), sort=parts,
                            scale=alt.Scale(domain=parts, range=[WITHIN_COLOR, OVERDUE_COLOR]),
                            legend=alt.Legend(orient="top")),
            order=alt.Order("part:N", sort="descending"),
            tooltip=[tip("label:N", t("sc.chart.age")), tip("part:N", t("chart.overdue_state")),
                     tip("n:Q", t("sc.chart.open_cases"), "count")],
        ).properties(height=260)
    )


def backlog_overdue_chart(df: pd.DataFrame, labels: list[str]) -> alt.Chart:
    """Open cases by how long past their due time (the first bucket: not overdue)."""
    d = df.assign(label=labels[: len(df)])
    colors = [WITHIN_COLOR] + OVERDUE_RAMP[: len(d) - 1]
    return (
        alt.Chart(d).mark_bar()
        .encode(
            x=alt.X("label:N", sort=labels, title=t("sc.chart.overdue_by"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("cases:Q", title=t("sc.chart.open_cases"), axis=axis("count")),
            color=alt.Color("label:N", title=t("sc.chart.overdue_by"),
                            scale=alt.Scale(domain=list(d["label"]), range=colors), legend=None),
            tooltip=[tip("label:N", t("sc.chart.overdue_by")),
                     tip("cases:Q", t("sc.chart.open_cases"), "count")],
        ).properties(height=260)
    )


def overdue_trend_chart(df: pd.DataFrame) -> alt.Chart:
    """Open and overdue cases at each month end (the last point: now)."""
    return (
        alt.Chart(df).mark_line(point=alt.OverlayMarkDef(color=OVERDUE_COLOR), color=OVERDUE_COLOR)
        .encode(
            x=alt.X("month:O", title=t("sc.chart.month_end"), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("open_overdue:Q", title=t("sc.chart.overdue_open"), axis=axis("count")),
            tooltip=[tip("month_end:T", t("sc.chart.month_end"), format="%Y-%m-%d %H:%M"),
                     tip("open_overdue:Q", t("sc.chart.overdue_open"), "count")],
        ).properties(height=240)
    )


def step_ratio_chart(df: pd.DataFrame, title: str) -> alt.Chart:
    """Per step, the share of cases in each bucket of step time ÷ the step's limit (100 % bars)."""
    d = df.copy()
    d["step_label"] = [t(f"proc.step.{s}") for s in d["step"]]
    steps = [t(f"proc.step.{s}") for s in ("accept", "dispatch", "handle", "feedback")]
    buckets = list(dict.fromkeys(d.sort_values("bucket")["bucket_label"]))
    return (
        alt.Chart(d).mark_bar()
        .encode(
            y=alt.Y("step_label:N", sort=steps, title=t("proc.col.step")),
            x=alt.X("sum(cases):Q", stack="normalize", title=t("chart.share_of_cases"),
                    axis=axis("percent", tickCount=10)),
            color=alt.Color("bucket_label:N", sort=buckets, title=t("sc.chart.ratio"),
                            scale=alt.Scale(domain=buckets, range=RATIO_COLORS[: len(buckets)]),
                            legend=alt.Legend(orient="bottom", columns=8)),
            order=alt.Order("bucket:Q"),
            tooltip=[tip("step_label:N", t("proc.col.step")),
                     tip("bucket_label:N", t("sc.chart.ratio")),
                     tip("cases:Q", t("chart.cases"), "count")],
        ).properties(height=alt.Step(40), title=title)
    )


def grade_hours_chart(df: pd.DataFrame) -> alt.Chart:
    """Median hours from a supervision order to the case's close, per grade (named on the axis and on the bar,
    so a red card is never told by its colour alone)."""
    d, order, scale = _translated(df, "grade", "enum.grade", GRADE_COLORS, GRADE_COLORS)
    x = alt.X("label:N", sort=order, title=t("sup_eff.col.grade"), axis=alt.Axis(labelAngle=0))
    y = alt.Y("median_hours_to_close:Q", title=t("chart.median_hours_to_close"), axis=axis("number"))
    bars = alt.Chart(d).mark_bar().encode(
        x=x, y=y,
        color=alt.Color("label:N", title=t("sup_eff.col.grade"), scale=scale, legend=None),
        tooltip=[tip("label:N", t("sup_eff.col.grade")),
                 tip("orders:Q", t("chart.orders"), "count"),
                 tip("median_hours_to_close:Q", t("chart.median_hours_to_close"), "number")],
    )
    text = alt.Chart(d).mark_text(dy=-8, color=NEUTRAL, fontWeight="bold").encode(
        x=x, y=y, text=alt.Text("median_hours_to_close:Q", format=",.1f"))
    return (bars + text).properties(height=240)


# --- grid staffing and volunteer teams ----------------------------------------------------------------------

# Workload flags: overloaded in the overdue vermilion, quiet in amber, the rest calm.
FLAG_COLORS = {"overloaded": OVERDUE_COLOR, "quiet": "#E69F00", "ok": WITHIN_COLOR}
# Activity kinds (Okabe–Ito, colour-blind-safe), the same on every chart.
ACTIVITY_COLORS = {"patrol": "#0072B2", "anti_fraud": "#D55E00", "mediation": "#009E73", "publicity": "#CC79A7",
                   "epidemic": "#56B4E9", "cleanup": "#E69F00", "care": "#F0E442", "other": NEUTRAL}


def _nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k not below ``raw`` (the bin widths a reader takes in at a glance)."""
    import math

    if raw <= 0:
        return 1.0
    k = 10 ** math.floor(math.log10(raw))
    return next(m * k for m in (1, 2, 2.5, 5, 10) if m * k >= raw)


def workload_bins(df: pd.DataFrame, flag_labels: dict[str, str], maxbins: int = 40) -> pd.DataFrame:
    """Grids per workload bin and flag (bin_start, bin_end, flag_label, grids): the histogram's data, a few
    dozen rows instead of one per grid (9,708 at full scale), so the chart sent to the browser stays small."""
    w = df.loc[df["workload"].notna(), ["workload", "flag"]]
    if w.empty:
        return pd.DataFrame(columns=["bin_start", "bin_end", "flag_label", "grids"])
    lo, hi = float(w["workload"].min()), float(w["workload"].max())
    step = _nice_step((hi - lo) / maxbins if hi > lo else 1.0)
    start = ((w["workload"] / step + 1e-9) // 1) * step  # 2.4 / 0.2 is 11.999…: the slack keeps it in [2.4, 2.6)
    out = (w.assign(bin_start=start, flag_label=w["flag"].map(flag_labels))
           .groupby(["bin_start", "flag_label"], as_index=False).size().rename(columns={"size": "grids"}))
    return out.assign(bin_end=out["bin_start"] + step)


def workload_histogram(df: pd.DataFrame, median: float | None, flag_labels: dict[str, str]) -> alt.Chart:
    """Grids by workload (cases per worker per month), coloured by flag, with the median as a rule."""
    data = workload_bins(df, flag_labels)
    order = [flag_labels[k] for k in FLAG_COLORS]
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("bin_start:Q", bin="binned", title=t("chart.workload"), axis=axis("number")),
        x2="bin_end:Q",
        y=alt.Y("grids:Q", title=t("chart.grids"), stack=True, axis=axis("count")),
        color=alt.Color("flag_label:N", title=t("stf.col.flag"),
                        scale=_scale(FLAG_COLORS, FLAG_COLORS, order), sort=order),
        tooltip=[tip("flag_label:N", t("stf.col.flag")),
                 tip("bin_start:Q", t("chart.workload"), format=".2f"),
                 tip("grids:Q", t("chart.grids"), "count")],
    )
    if median is None:
        return bars.properties(height=260)
    rule = alt.Chart(pd.DataFrame({"m": [median]})).mark_rule(strokeDash=[4, 3], color=NEUTRAL, strokeWidth=2).encode(
        x=alt.X("m:Q", title=t("chart.workload")), tooltip=[tip("m:Q", t("stf.work.median"), format=".2f")])
    return (bars + rule).properties(height=260)


def team_growth_chart(df: pd.DataFrame) -> alt.Chart:
    """Cumulative teams (bars would hide the members) and members, two axes; the legend names the lines (solid:
    teams, dashed: members)."""
    series = [t("chart.teams_cum"), t("chart.members_cum")]
    colors = alt.Scale(domain=series, range=[BRAND, WITHIN_COLOR])
    key = alt.Legend(title=t("vol.acts.measure"), orient="top")
    base = alt.Chart(df).encode(x=alt.X("month:T", title=t("vol.acts.month"), timeUnit="yearmonth",
                                        axis=alt.Axis(format="%Y", tickCount="year")))
    teams = base.mark_line().encode(
        y=alt.Y("teams:Q", title=series[0], axis=axis("count", titleColor=BRAND)),
        color=alt.Color("series:N", title=key.title, scale=colors, legend=key),
        tooltip=[tip("month:T", t("vol.acts.month"), timeUnit="yearmonth", format="%Y-%m"),
                 tip("teams:Q", series[0], "count"),
                 tip("members:Q", series[1], "count")])
    members = base.mark_line(strokeDash=[5, 3]).encode(
        y=alt.Y("members:Q", title=series[1], axis=axis("count", titleColor=WITHIN_COLOR)),
        color=alt.Color("series:N", title=key.title, scale=colors, legend=key))
    teams = teams.transform_calculate(series=repr(series[0]))
    members = members.transform_calculate(series=repr(series[1]))
    return alt.layer(teams, members).resolve_scale(y="independent").properties(height=260)


def focus_chart(df: pd.DataFrame) -> alt.Chart:
    data = df.assign(label=[t(f"enum.activity.{k}") for k in df["tag"]])
    return alt.Chart(data).mark_bar(color=BRAND).encode(
        y=alt.Y("label:N", title=t("vol.card.focus"), sort="-x"),
        x=alt.X("teams:Q", title=t("chart.teams"), axis=axis("count")),
        tooltip=[tip("label:N", t("vol.card.focus")), tip("teams:Q", t("chart.teams"), "count")],
    ).properties(height=260)


# The activity chart's measures and their titles with units (the page's picker names them without).
ACTIVITY_MEASURES = {"activities": ("chart.activities", "count"), "participants": ("chart.participations", "count"),
                     "person_hours": ("chart.person_hours", "number")}


def activities_chart(df: pd.DataFrame, measure: str, measure_title: str) -> alt.Chart:
    """Stacked bars per month, one colour per activity kind.  ``measure_title`` is used only for a measure
    without a titled unit in ACTIVITY_MEASURES."""
    kinds = [k for k in ACTIVITY_COLORS if k in set(df["kind"])]
    labels = [t(f"enum.activity.{k}") for k in kinds]
    data = df.assign(kind_label=[t(f"enum.activity.{k}") for k in df["kind"]])
    key, kind = ACTIVITY_MEASURES.get(measure, (None, "number"))
    title = t(key) if key else measure_title
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("month:O", title=t("vol.acts.month"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y(f"sum({measure}):Q", title=title, axis=axis(kind)),
        color=alt.Color("kind_label:N", title=t("vol.col.kind"), scale=_scale(ACTIVITY_COLORS, kinds, labels),
                        sort=labels),
        order=alt.Order("kind_order:Q"),  # stacked in the legend's order, not the labels' alphabet
        tooltip=[tip("month:O", t("vol.acts.month")), tip("kind_label:N", t("vol.col.kind")),
                 tip(f"sum({measure}):Q", title, format=",.0f")],
    ).transform_calculate(kind_order=f"indexof({labels!r}, datum.kind_label)").properties(height=280)


# --- idle-asset revitalisation ------------------------------------------------------------------------------

DISPOSAL_COLORS = {"use": "#009E73", "sell": "#CC79A7", "lease": "#0072B2", "finance": "#E69F00"}


def revenue_chart(df: pd.DataFrame) -> alt.Chart:
    """Stacked monthly revenue (万元) by disposal mode."""
    modes = [m for m in DISPOSAL_COLORS if m in set(df["disposal_mode"])]
    labels = [t(f"enum.disposal.{m}") for m in modes]
    data = df.assign(mode_label=[t(f"enum.disposal.{m}") for m in df["disposal_mode"]])
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("month:O", title=t("ast.col.month"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("sum(revenue_wan):Q", title=t("chart.revenue_wan"), axis=axis("wan")),
        color=alt.Color("mode_label:N", title=t("ast.col.mode"), scale=_scale(DISPOSAL_COLORS, modes, labels),
                        sort=labels),
        tooltip=[tip("month:O", t("ast.col.month")), tip("mode_label:N", t("ast.col.mode")),
                 tip("sum(revenue_wan):Q", t("chart.revenue_wan"), "wan")],
    ).properties(height=280)


def _guarantee_color(data: pd.DataFrame) -> tuple[pd.DataFrame, alt.Color]:
    """Short of the minimum in vermilion, met in blue, with a titled legend saying which is which."""
    met, short = t("chart.guarantee.met"), t("chart.guarantee.short")
    data = data.assign(guarantee=[short if s else met for s in data["short"]])
    return data, alt.Color("guarantee:N", title=t("chart.guarantee"), sort=[met, short],
                           scale=alt.Scale(domain=[met, short], range=[WITHIN_COLOR, OVERDUE_COLOR]),
                           legend=alt.Legend(orient="top"))


def guarantee_chart(df: pd.DataFrame) -> alt.Chart:
    """Per guaranteed project: the minimum owed (a tick) against what was received (a bar), short ones vermilion."""
    data, color = _guarantee_color(df.assign(short=df["shortfall_wan"] > 0))
    y = alt.Y("name:N", title=t("ast.col.name"), sort=list(data["name"]), axis=alt.Axis(labelLimit=320))
    tips = [tip("name:N", t("ast.col.name")),
            tip("minimum_wan:Q", t("chart.minimum_wan"), "wan"),
            tip("received_wan:Q", t("chart.received_wan"), "wan"),
            tip("shortfall_wan:Q", t("chart.shortfall_wan"), "wan"),
            *([tip("short_months:N", t("ast.col.short_months"))] if "short_months" in data else [])]
    bars = alt.Chart(data).mark_bar().encode(
        y=y, x=alt.X("received_wan:Q", title=t("chart.received_wan"), axis=axis("wan")), color=color, tooltip=tips)
    # The minimum: a tick in the neutral grey, seen on the bar and on either background.
    ticks = alt.Chart(data).mark_tick(color=NEUTRAL, thickness=4, size=26).encode(
        y=y, x=alt.X("minimum_wan:Q", title=t("chart.received_wan")), tooltip=tips)
    return (bars + ticks).properties(height=max(120, 34 * len(data)))


def visitors_chart(df: pd.DataFrame) -> alt.Chart:
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("month:O", title=t("ast.col.month"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("visitors_per_day:Q", title=t("chart.visitors_per_day"), axis=axis("number")),
        color=alt.Color("name:N", title=t("ast.col.name"), scale=alt.Scale(range=CATEGORICAL),
                        legend=alt.Legend(labelLimit=260)),
        tooltip=[tip("name:N", t("ast.col.name")), tip("month:O", t("ast.col.month")),
                 tip("visitors_per_day:Q", t("chart.visitors_per_day"), format=",.0f"),
                 tip("visitors:Q", t("chart.visitors"), "count")],
    ).properties(height=260)


def project_months_chart(df: pd.DataFrame) -> alt.Chart:
    """A project's monthly revenue; with a guaranteed minimum, the minimum as a line and short months vermilion."""
    has_min = df["minimum_wan"].notna().any()
    data, color = _guarantee_color(df.assign(short=(df["shortfall_wan"].fillna(0) > 0)))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("month:O", title=t("ast.col.month"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("revenue_wan:Q", title=t("chart.revenue_wan"), axis=axis("wan")),
        color=color if has_min else alt.value(WITHIN_COLOR),
        tooltip=[tip("month:O", t("ast.col.month")),
                 tip("revenue_wan:Q", t("chart.revenue_wan"), "wan"),
                 *([tip("minimum_wan:Q", t("chart.minimum_wan"), "wan"),
                    tip("shortfall_wan:Q", t("chart.shortfall_wan"), "wan")] if has_min else [])],
    )
    if not has_min:
        return bars.properties(height=260)
    line = alt.Chart(data).mark_rule(color=NEUTRAL, strokeDash=[5, 3], strokeWidth=2).encode(
        y=alt.Y("mean(minimum_wan):Q", title=t("chart.revenue_wan")),
        tooltip=[tip("mean(minimum_wan):Q", t("chart.minimum_wan"), "wan")])
    return (bars + line).properties(height=260)


# --- clean-governance units ---------------------------------------------------------------------------------

RATING_COLORS = {"good": "#009E73", "fair": "#56B4E9", "poor": "#D55E00"}  # 好 / 一般 / 差


def ratings_chart(trend: pd.DataFrame) -> alt.Chart:
    """Units rated good, fair and poor per review month (stacked)."""
    from .bulletin import month_label

    lg = lang()
    long = trend.melt(id_vars=["month"], value_vars=list(RATING_COLORS), var_name="rating", value_name="units")
    long, order, scale = _translated(long, "rating", "cln.rating", RATING_COLORS, RATING_COLORS)
    long["month_label"] = [month_label(m, lg) for m in long["month"]]
    return (alt.Chart(long).mark_bar().encode(
        x=alt.X("month_label:O", title=t("cln.col.month"), sort=list(dict.fromkeys(long["month_label"])),
                axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("units:Q", title=t("chart.units"), axis=axis("count")),
        color=alt.Color("label:N", title=t("cln.col.rating"), sort=order, scale=scale),
        order=alt.Order("order:Q"),
        tooltip=[tip("month_label:O", t("cln.col.month")),
                 tip("label:N", t("cln.col.rating")),
                 tip("units:Q", t("chart.units"), "count")])
        .transform_calculate(order=f"indexof({order!r}, datum.label)").properties(height=280))


def unit_history_chart(months: pd.DataFrame) -> alt.Chart:
    """A clean-governance unit's monthly score, each month's point coloured by its rating."""
    from .bulletin import month_label

    lg = lang()
    d, _, scale = _translated(months.assign(month_label=[month_label(m, lg) for m in months["month"]]),
                              "rating", "cln.rating", RATING_COLORS, RATING_COLORS)
    low = max(0, min(60, int(d["score"].min()) // 10 * 10))
    x = alt.X("month_label:O", title=t("cln.col.month"), sort=list(d["month_label"]), axis=alt.Axis(labelAngle=-45))
    y = alt.Y("score:Q", title=t("chart.score"), scale=alt.Scale(domain=[low, 100]), axis=axis("number"))
    line = alt.Chart(d).mark_line(color=NEUTRAL).encode(x=x, y=y)
    points = alt.Chart(d).mark_point(filled=True, size=90).encode(
        x=x, y=y, color=alt.Color("label:N", title=t("cln.col.rating"), scale=scale),
        tooltip=[tip("month_label:O", t("cln.col.month")),
                 tip("score:Q", t("chart.score"), "number"),
                 tip("label:N", t("cln.col.rating")),
                 tip("rank:Q", t("cln.col.rank"), "count")])
    return (line + points).properties(height=260)


def warning_series_chart(df: pd.DataFrame) -> alt.LayerChart:
    """A warning's place and category day by day (data_access/core/warnings.series): the usual range as a band,
    the expected count as a dashed line, the cases seen as points on a line (the warning's colour)."""
    base = alt.Chart(df).encode(x=alt.X("day:T", title=t("wn.chart.day"), axis=alt.Axis(format="%m-%d")))
    tips = [tip("day:T", t("wn.chart.day"), format="%Y-%m-%d"), tip("observed:Q", t("wn.chart.observed"), "count"),
            tip("expected:Q", t("wn.chart.expected"), "number"), tip("lower:Q", t("wn.chart.band"), "count"),
            tip("upper:Q", t("wn.chart.band"), "count")]
    band = base.mark_area(opacity=0.25, color=NEUTRAL).encode(
        y=alt.Y("lower:Q", title=t("wn.chart.observed"), axis=axis("count")), y2="upper:Q")
    expected = base.mark_line(strokeDash=[4, 3], color=NEUTRAL).encode(y="expected:Q")
    seen = base.mark_line(point=True, color=BRAND).encode(y="observed:Q", tooltip=tips)
    return alt.layer(band, expected, seen).properties(height=260)
