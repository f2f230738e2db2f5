"""The translation catalog is complete, every key the code uses exists, and numbers read the Chinese way."""
from __future__ import annotations

import re

from tests.conftest import ROOT
from ui import fmt, i18n
from data_access.core.metrics import RESOLUTION_LEVELS, SOURCES, STATUSES


def test_every_key_has_both_languages():
    missing = [(k, lang) for k, v in i18n.CATALOG.items() for lang in i18n.LANGS if not v.get(lang)]
    assert missing == []


def test_every_key_used_in_code_exists():
    used: set[str] = set()
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""", path.read_text(encoding="utf-8")))
    assert used, "the scan found no keys"
    assert sorted(k for k in used if k not in i18n.CATALOG and not k.endswith(".")) == []


def test_enums_are_translated():
    for kind, codes in (("status", STATUSES), ("level", RESOLUTION_LEVELS), ("source", SOURCES)):
        for code in codes:
            assert f"enum.{kind}.{code}" in i18n.CATALOG


def test_placeholders_match_between_languages():
    for key, v in i18n.CATALOG.items():
        assert set(re.findall(r"{(\w+)}", v["zh"])) == set(re.findall(r"{(\w+)}", v["en"])), key


def test_chinese_number_format():
    assert fmt.count(1_070_000, "zh") == "107万"
    assert fmt.count(1_071_234, "zh") == "107.12万"
    assert fmt.count(9_708, "zh") == "9,708"
    assert fmt.count(250_000_000, "zh") == "2.5亿"
    assert fmt.count(1_070_000, "en") == "1,070,000"
    assert fmt.count(None) == "—"
    assert fmt.pct(0.99187) == "99.2%"
    assert fmt.pct(None) == "—"
    assert fmt.delta_pct_points(0.95, 0.97) == "-2.0 pp"
    assert fmt.delta_count(18700, 17613, "zh") == "+1,087"
    assert fmt.hours(10.43, "zh") == "10.4 小时"
    assert fmt.hours(110.04, "zh") == "110 小时" and fmt.hours(1234.5, "en") == "1,234 h"


def test_share_of_a_limit_is_never_capped():
    """The step table showed 999% for 96,000 % (issue 20): a large share reads as a multiple, whole."""
    assert fmt.share_of_limit(0.184) == "18%"
    assert fmt.share_of_limit(2.5) == "250%"
    assert fmt.share_of_limit(9.994) == "999%"
    assert fmt.share_of_limit(10.0) == "10 倍"
    assert fmt.share_of_limit(960.4, "zh") == "960 倍" and fmt.share_of_limit(960.4, "en") == "960×"
    assert fmt.share_of_limit(1234.0, "en") == "1,234×"
    assert fmt.share_of_limit(None) == "—" and fmt.share_of_limit(float("nan")) == "—"


def test_plain_neutralises_markdown_from_the_database():
    from ui.fmt import plain

    assert plain("楼道堆物") == "楼道堆物"
    assert plain("![x](http://t.cn/a.png)") == "\\!\\[x\\]\\(\u2060http\\://t\\.cn/a\\.png\\)"
    assert plain(":red[紧急] $x$ **粗**") == r"\:red\[紧急\] \$x\$ \*\*粗\*\*"
    assert plain("第一行\n# 标题") == r"第一行 \# 标题"
    assert plain(None) == ""


def _autolinks(markdown: str) -> list[str]:
    """What GitHub-flavoured Markdown (remark-gfm, which Streamlit's markdown uses) would turn into links in
    ``markdown``: its autolink-literal pass runs on the text after backslash escapes are resolved
    (mdast-util-gfm-autolink-literal: a URL or email whose previous character is the start, a space or
    punctuation), so escaping ``:`` and ``.`` alone does not stop it (issue 21, item 9, seen in a browser)."""
    import re
    import unicodedata

    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)

    def free(i: int) -> bool:
        return i == 0 or text[i - 1].isspace() or unicodedata.category(text[i - 1])[0] in "PS"
    found = [m.group() for m in re.finditer(r"(?i)(https?://|www(?=\.))[-.\w]+[^ \t\r\n]*", text) if free(m.start())]
    found += [m.group() for m in re.finditer(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+", text) if free(m.start())]
    return found


def test_plain_text_never_becomes_a_link():
    from ui.fmt import plain

    assert _autolinks("see http://evil.example/x") == ["http://evil.example/x"]   # the check can fail
    for raw in ["标题 http://evil.example/x 和 www.evil.example 与 a@b.example", "HTTPS://X.example",
                "(https://evil.example)", "村委会www.evil.example", "联系：li@evil.example"]:
        assert _autolinks(plain(raw)) == [], (raw, plain(raw))
    # shown as typed: the only addition is an invisible word joiner (U+2060)
    assert plain("http://a.example").replace("\u2060", "") == r"http\://a\.example"
