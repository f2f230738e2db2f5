"""Chart builders (Altair) with translated labels and one colour per status everywhere."""
from __future__ import annotations

import altair as alt
import pandas as pd

from data_access.metrics import RESOLUTION_LEVELS, STATUSES

from .state import t

# One colour per status on every page (colour-blind-safe, Okabe–Ito based); closed is the calm one.
STATUS_COLORS = {
    "reported": "#E69F00",
    "accepted": "#56B4E9",
    "dispatched": "#CC79A7",
    "handling": "#D55E00",
    "feedback": "#F0E442",
    "closed": "#009E73",
}
LEVEL_COLORS = ["#1B7837", "#5AAE61", "#A6DBA0", "#F4A582", "#D6604D"]  # grid … city


def monthly_status_chart(df: pd.DataFrame) -> alt.Chart:
    d = df.copy()
    d["status_label"] = [t(f"enum.status.{s}") for s in d["status"]]
    order = [t(f"enum.status.{s}") for s in STATUSES]
    return (
        alt.Chart(d)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=t("ov.trend.month"), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("sum(cases):Q", title=t("ov.trend.cases"), axis=alt.Axis(tickMinStep=1, format=",d")),
            color=alt.Color("status_label:N", title=t("ov.trend.status"),
                            scale=alt.Scale(domain=order, range=[STATUS_COLORS[s] for s in STATUSES]),
                            sort=order),
            order=alt.Order("status_order:Q"),
            tooltip=[alt.Tooltip("month:O", title=t("ov.trend.month")),
                     alt.Tooltip("status_label:N", title=t("ov.trend.status")),
                     alt.Tooltip("cases:Q", title=t("ov.trend.cases"), format=",")],
        )
        .transform_calculate(status_order=f"indexof({order!r}, datum.status_label)")
        .properties(height=300)
    )


def resolution_level_chart(df: pd.DataFrame) -> alt.Chart:
    d = df.copy()
    d["label"] = [t(f"enum.level.{lv}") for lv in d["resolution_level"]]
    order = [t(f"enum.level.{lv}") for lv in RESOLUTION_LEVELS]
    return (
        alt.Chart(d)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=t("ov.levels.level")),
            x=alt.X("share:Q", title=t("ov.levels.share"), axis=alt.Axis(format="%")),
            color=alt.Color("label:N", scale=alt.Scale(domain=order, range=LEVEL_COLORS), legend=None),
            tooltip=[alt.Tooltip("label:N", title=t("ov.levels.level")),
                     alt.Tooltip("cases:Q", title=t("ov.rank.cases"), format=","),
                     alt.Tooltip("share:Q", title=t("ov.levels.share"), format=".1%")],
        )
        .properties(height=220)
    )


def county_map(features: list[dict], values: pd.DataFrame, measure_title: str, fmt: str,
               selected: str | None = None) -> alt.Chart:
    """Choropleth of ``values`` (columns code, name, value) over the county polygons; ``selected`` outlined."""
    geo = alt.Data(values=features)
    is_selected = f"datum.properties.code === {selected!r}" if selected else "false"
    return (
        alt.Chart(geo)
        .mark_geoshape()
        .transform_lookup(lookup="properties.code",
                          from_=alt.LookupData(values, "code", ["name", "value"]))
        .encode(
            color=alt.Color("value:Q", title=measure_title, scale=alt.Scale(scheme="blues"),
                            legend=alt.Legend(format=fmt)),
            tooltip=[alt.Tooltip("name:N", title=t("ov.rank.name")),
                     alt.Tooltip("value:Q", title=measure_title, format=fmt)],
            stroke=alt.condition(is_selected, alt.value("#C8102E"), alt.value("white")),
            strokeWidth=alt.condition(is_selected, alt.value(3), alt.value(1)),
        )
        .project(type="mercator")
        .properties(height=380)
    )


# Text on a light or dark background: the same hues as STATUS_COLORS, dark enough to read as letters.
STATUS_TEXT_COLORS = {
    "reported": "#B27300",
    "accepted": "#0072B2",
    "dispatched": "#AA3F8D",
    "handling": "#D55E00",
    "feedback": "#8C7D00",
    "closed": "#00805C",
}
OVERDUE_COLOR = "#D55E00"  # overdue, over a limit, past a deadline: the same vermilion everywhere
OVERDUE_STYLE = f"color: {OVERDUE_COLOR}; font-weight: 600"
GRADE_COLORS = {"normal": "#6B7280", "yellow": "#B27300", "red": "#D55E00"}  # 普通 / 黄牌 / 红牌

