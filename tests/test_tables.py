"""ui/tables.py: a table described as (column, catalog key, kind[, options]) data becomes what st.dataframe is
given — values as shown (per cent, labels, links), st.column_config, and the Styler of coloured cells."""
from __future__ import annotations

import ast
from types import SimpleNamespace

import pandas as pd
import pytest

from tests.conftest import ROOT
from ui import i18n, tables
from ui.i18n import translate

RED = "color: #C00; font-weight: 600"


def test_prepare_shows_fractions_as_per_cent_codes_as_labels_and_case_links():
    df = pd.DataFrame({"case_no": ["c1", "c2"], "share": [0.125, None], "used": [1.5, 0.0],
                       "status": ["closed", None], "category": ["A", "Z"], "n": [3, 4]})
    shown = tables.prepare(df, [
        ("case_no", "wb.col.case_no", "case"),
        ("share", "sc.backlog.share_overdue", "pct"),
        ("used", "wb.step.used", "bar"),
        ("status", "wb.col.status", "text", {"labels": "enum.status"}),
        ("category", "wb.col.category", "text", {"labels": {"A": "邻里纠纷"}}),
        ("n", "sc.backlog.open", "int"),
        ("absent", "sc.backlog.open", "int"),  # a column the frame does not have is left out
    ])
    assert shown["case_no"].tolist() == ["cases?case=c1", "cases?case=c2"]
    assert shown["share"].iloc[0] == 12.5 and pd.isna(shown["share"].iloc[1])
    assert shown["used"].tolist() == [150.0, 0.0]
    assert shown["status"].iloc[0] == translate("enum.status.closed", "zh") and pd.isna(shown["status"].iloc[1])
    assert shown["category"].tolist() == ["邻里纠纷", "Z"]  # a code without a label is shown as it is
    assert shown["n"].tolist() == [3, 4] and "absent" not in shown
    assert df["share"].iloc[0] == 0.125  # the frame given is not changed


def test_column_config_by_kind_with_options():
    cfg = tables.column_config([
        ("n", "sc.backlog.open", "int"),
        ("x", "#", "number", {"width": "small"}),
        ("share", "sc.backlog.share_overdue", "pct", {"help": "sc.integrity.gap.help"}),
        ("gap", "sc.integrity.gap", "pct2", {"format": "%.2f pp"}),
        ("used", "wb.step.used", "bar", {"color": "#0072B2", "labels": "ignored", "style": str}),
        ("change", "rank.col.rank_change", "change"),
        ("at", "wb.step.entered", "datetime", {"format": "MM-DD HH:mm"}),
        ("case_no", "wb.col.case_no", "case", {"pinned": True}),
    ])
    fmt = {name: c["type_config"].get("format") for name, c in cfg.items()}
    assert fmt == {"n": "localized", "x": None, "share": "%.1f%%", "gap": "%.2f pp", "used": "%.0f%%",
                   "change": "%+d", "at": "MM-DD HH:mm", "case_no": None}
    assert cfg["x"]["label"] == "#" and cfg["x"]["width"] == "small"  # not a catalog key: shown as it is
    assert cfg["share"]["help"] == translate("sc.integrity.gap.help", "zh")
    assert cfg["used"]["type_config"]["type"] == "progress" and cfg["used"]["type_config"]["max_value"] == 100
    assert cfg["case_no"]["type_config"]["display_text"] == r"case=(.*)$" and cfg["case_no"]["pinned"] is True
    with pytest.raises(ValueError, match="unknown column kind"):
        tables.column_config([("a", "b", "colour")])


def test_styled_colours_cells_by_their_codes_or_by_a_row_flag():
    df = pd.DataFrame({"step": ["accept", "handle"], "hours": [1.0, 9.0], "over": [False, True],
                       "grade": ["red", "normal"], "hidden": [1, 2]})
    columns = [
        ("step", "wb.ev.action", "text", {"labels": "enum.step", "style": lambda o: RED if o else "",
                                          "style_by": "over"}),
        ("hours", "wb.case.hours", "num1"),
        ("grade", "wb.col.grade", "text", {"labels": "enum.grade", "style": tables.colored({"red": "#C00"})}),
    ]
    styler = tables.styled(tables.prepare(df, columns), df, columns)
    assert list(styler.data.columns) == ["step", "hours", "grade"]  # only the columns on screen are styled
    ctx = styler._compute().ctx
    assert ctx[(1, 0)] == [("color", "#C00"), ("font-weight", "600")]  # handle: over its limit
    assert (0, 0) not in ctx or ctx[(0, 0)] == []
    assert ctx[(0, 2)] == [("color", "#C00"), ("font-weight", "600")]  # red, by its code
    assert ctx[(1, 2)] == [("color", "inherit"), ("font-weight", "600")]
    plain = tables.prepare(df, columns[1:2])
    assert tables.styled(plain, df, columns[1:2]) is plain  # nothing to colour: no Styler


def test_selected_reads_the_picked_row():
    df = pd.DataFrame({"case_no": ["c1", "c2"]})
    assert tables.selected(SimpleNamespace(selection=SimpleNamespace(rows=[1])), df, "case_no") == "c2"
    assert tables.selected(SimpleNamespace(selection=SimpleNamespace(rows=[])), df, "case_no") is None
    assert tables.selected(None, df, "case_no") is None


KINDS = {"text", "int", "number", "pct", "pct2", "bar", "num0", "num1", "num2", "change", "datetime", "date", "case",
         "link"}


def test_every_catalog_key_a_column_description_names_exists():
    """As tests/test_i18n_fmt.py checks the keys of t("…") calls: the label keys, ``help`` keys and ``labels``
    prefixes written in the column descriptions of pages/ and ui/ (a key without a dot, "#", is shown as is)."""
    keys, prefixes = set(), set()
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Tuple) and len(node.elts) in (3, 4)
                    and isinstance(node.elts[2], ast.Constant) and node.elts[2].value in KINDS):
                continue
            if isinstance(node.elts[1], ast.Constant):
                keys.add(node.elts[1].value)
            if len(node.elts) == 4 and isinstance(node.elts[3], ast.Dict):
                for k, v in zip(node.elts[3].keys, node.elts[3].values):
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant):
                        (keys if k.value == "help" else prefixes if k.value == "labels" else set()).add(v.value)
    assert len(keys) > 50 and {"enum.status", "enum.grade"} <= prefixes, "the scan found the descriptions"
    assert sorted(k for k in keys if "." in k and k not in i18n.CATALOG) == []
    assert sorted(p for p in prefixes if not any(key.startswith(p + ".") for key in i18n.CATALOG)) == []
