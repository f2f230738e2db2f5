"""The catalog's files (ui/catalog/*.toml) load into CATALOG, and a broken file is reported by name and key."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT
from ui import i18n
from ui.i18n import CatalogError, load_catalog

GOOD = '["frame.region"]\nzh = "区域"\nen = "Region"\n'


def _write(directory, **files: str):
    for name, text in files.items():
        (directory / f"{name}.toml").write_text(text, encoding="utf-8")
    return directory


def test_catalog_is_built_from_the_shipped_files():
    files = sorted(i18n.CATALOG_DIR.glob("*.toml"))
    assert len(files) > 10
    assert i18n.CATALOG == load_catalog()
    assert len(i18n.CATALOG) > 1000
    assert i18n.translate("frame.region.level_pick", "en", level="County") == "Choose County"


def test_strings_keep_quotes_newlines_and_edge_spaces():
    assert i18n.CATALOG["stf.gaps.title"]["en"] == 'The "3+1+N" structure'
    assert i18n.CATALOG["guide.page.overview"]["zh"].count("  \n") == 1  # Markdown's hard line break
    assert "\n\n- **Region**" in i18n.CATALOG["guide.filters.body"]["en"]
    assert i18n.CATALOG["ex.xlsx.slow"]["en"].startswith(" A large set")


def test_a_directory_of_good_files_loads(tmp_path):
    _write(tmp_path, frame=GOOD, overview='["ov.title"]\nzh = "总览"\nen = "Overview"\n')
    assert load_catalog(tmp_path) == {"frame.region": {"zh": "区域", "en": "Region"},
                                      "ov.title": {"zh": "总览", "en": "Overview"}}


def test_a_key_in_two_files_names_both(tmp_path):
    _write(tmp_path, frame=GOOD, overview=GOOD)
    with pytest.raises(CatalogError, match=r"overview\.toml: key 'frame\.region' is also in frame\.toml"):
        load_catalog(tmp_path)


def test_a_key_twice_in_one_file_names_the_file(tmp_path):
    _write(tmp_path, frame=GOOD + "\n" + GOOD)
    with pytest.raises(CatalogError, match=r"^frame\.toml: .*frame\.region"):
        load_catalog(tmp_path)


def test_a_missing_english_text_names_the_file_and_key(tmp_path):
    _write(tmp_path, frame=GOOD, staffing='["stf.title"]\nzh = "网格力量"\n')
    with pytest.raises(CatalogError, match=r"staffing\.toml: key 'stf\.title' lacks en"):
        load_catalog(tmp_path)


def test_an_empty_text_counts_as_missing(tmp_path):
    _write(tmp_path, frame='["frame.region"]\nzh = ""\nen = "Region"\n')
    with pytest.raises(CatalogError, match=r"frame\.toml: key 'frame\.region' lacks zh"):
        load_catalog(tmp_path)


def test_an_unknown_language_names_the_file_and_key(tmp_path):
    _write(tmp_path, frame='["frame.region"]\nzh = "区域"\nen = "Region"\nfr = "Région"\n')
    with pytest.raises(CatalogError, match=r"frame\.toml: key 'frame\.region' has an unknown language fr"):
        load_catalog(tmp_path)


def test_an_unquoted_dotted_key_is_caught(tmp_path):
    _write(tmp_path, frame='[frame.region]\nzh = "区域"\nen = "Region"\n')  # a table "frame" holding "region"
    with pytest.raises(CatalogError, match=r"frame\.toml: key 'frame' has an unknown language region.*quotes"):
        load_catalog(tmp_path)


def test_a_file_that_is_not_toml_names_the_file(tmp_path):
    _write(tmp_path, frame='["frame.region"]\nzh = "区域\n')
    with pytest.raises(CatalogError, match=r"^frame\.toml: "):
        load_catalog(tmp_path)


def test_an_empty_directory_fails(tmp_path):
    with pytest.raises(CatalogError, match="no catalog files"):
        load_catalog(tmp_path)


def test_catalog_files_are_not_git_ignored():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = [str(p.relative_to(ROOT)) for p in i18n.CATALOG_DIR.glob("*.toml")]
    ignored = subprocess.run(["git", "check-ignore", *files], cwd=ROOT, capture_output=True, text=True)
    assert ignored.returncode == 1, ignored.stdout  # 1: none of them is ignored


def _placeholders(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _calls_with_a_literal_key():
    """Every t("key", …) / translate("key", lang, …) in the app's code with a literal key: (where, key, the
    keyword names passed, whether **kwargs was passed too)."""
    import ast

    for path in sorted([ROOT / "app.py", *(ROOT / "pages").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in ("t", "translate") or not node.args:
                continue
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value in i18n.CATALOG:
                yield (f"{path.relative_to(ROOT)}:{node.lineno}", key.value,
                       {k.arg for k in node.keywords if k.arg}, any(k.arg is None for k in node.keywords))


def test_zh_and_en_of_a_key_take_the_same_placeholders():
    differ = [k for k, e in i18n.CATALOG.items() if _placeholders(e["zh"]) != _placeholders(e["en"])]
    assert differ == []


def test_every_call_of_a_key_with_placeholders_gives_them_all():
    """A key whose text has {n} called without n shows a literal "{n}" on screen (issue 20, defect 3: the ranking's
    minimum-cases field read "当月案件不少于 {n} 件的单位参与排名")."""
    calls = list(_calls_with_a_literal_key())
    assert len(calls) > 500  # the scan finds the app's calls
    missing = [(where, key, sorted(_placeholders(i18n.CATALOG[key]["zh"]) - given))
               for where, key, given, spread in calls
               if not spread and _placeholders(i18n.CATALOG[key]["zh"]) - given]
    assert missing == []
