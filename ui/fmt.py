"""Numbers the Chinese way in Chinese (万, 亿, %), the English way in English."""
from __future__ import annotations

import math
import re


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def count(n, lang: str = "zh") -> str:
    """1070000 → '107万' (zh) / '1,070,000' (en); below 10,000 plain with separators."""
    if _missing(n):
        return "—"
    n = int(n)
    if lang == "zh":
        a = abs(n)
        if a >= 100_000_000:
            return f"{n / 100_000_000:.2f}".rstrip("0").rstrip(".") + "亿"
        if a >= 10_000:
            return f"{n / 10_000:.2f}".rstrip("0").rstrip(".") + "万"
        return f"{n:,}"
    return f"{n:,}"


def pct(r, digits: int = 1) -> str:
    """0.9921 → '99.2%'; None → '—'."""
    if _missing(r):
        return "—"
    return f"{r * 100:.{digits}f}%"


SHARE_AS_MULTIPLE_FROM = 10.0  # from 1,000 % on, a share of a limit reads as a multiple of it


def share_of_limit(r, lang: str = "zh") -> str:
    """Time used as a share of its limit: 0.18 → '18%', 2.5 → '250%'; from ten times the limit on a multiple,
    the whole number at any size (960.4 → '960 倍' / '960×'), never a capped '999%' that hides 96,000 %."""
    if _missing(r):
        return "—"
    if r < SHARE_AS_MULTIPLE_FROM:
        return f"{r * 100:,.0f}%"
    return f"{r:,.0f} 倍" if lang == "zh" else f"{r:,.0f}×"


def hours(h, lang: str = "zh", unit: bool = True) -> str:
    """10.43 → '10.4 小时'; from 100 h on, whole hours (so a KPI card never truncates); ``unit=False``
    for a label that already names the unit."""
    if _missing(h):
        return "—"
    text = f"{h:.1f}" if abs(h) < 100 else f"{h:,.0f}"
    if not unit:
        return text
    return f"{text} 小时" if lang == "zh" else f"{text} h"


def delta_pct_points(cur, prev) -> str | None:
    """Change of a rate in percentage points, for st.metric's delta; a change that rounds to zero is "0.0 pp"
    (no sign: never a red "-0.0 pp" for no change; :func:`delta_style` shows it without arrow or colour)."""
    if _missing(cur) or _missing(prev):
        return None
    return delta_number((cur - prev) * 100, 1, " pp")


def delta_count(cur, prev, lang: str = "zh") -> str | None:
    if _missing(cur) or _missing(prev):
        return None
    d = int(cur) - int(prev)
    if d == 0:
        return "0"
    sign = "+" if d > 0 else "-"
    return sign + count(abs(d), lang)


def delta_number(d, digits: int = 1, unit: str = "") -> str | None:
    """A signed change with ``digits`` decimals (+1.5, -0.3); one that rounds to zero is unsigned ("0.0")."""
    if _missing(d):
        return None
    text = f"{abs(d):.{digits}f}"
    if float(text) == 0:
        return text + unit
    return ("+" if d > 0 else "-") + text + unit


def delta_style(delta: str | None, color: str = "normal") -> dict:
    """st.metric's ``delta_color`` and ``delta_arrow`` for ``delta`` (a string of this module): no change (every
    digit a zero) is grey without an arrow, any other delta keeps ``color`` and its arrow."""
    if delta is not None and any(ch.isdigit() for ch in delta) and not any(ch in "123456789" for ch in delta):
        return {"delta_color": "off", "delta_arrow": "off"}
    return {"delta_color": color, "delta_arrow": "auto"}


_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~<>$:&\"'=")
# Where GitHub-flavoured Markdown would start a link of its own (a URL, www., an email's local part): its
# autolink pass runs on the text after escapes are resolved, so backslashes do not stop it.  An invisible
# word joiner (U+2060) in front is neither a space nor punctuation, which such a link must follow.
_AUTOLINK_START = re.compile(r"(?i)(?=https?:|www\.)|(?<![-.\w+])(?=[-.\w+]+@)")


def plain(text: object) -> str:
    """Text from the database or a user, made safe for an element that renders Markdown (titles, captions,
    alerts, button labels): every ASCII punctuation mark is backslash-escaped, so a case title like
    ``![x](http://…)`` or ``:red[…]`` shows as typed and never becomes a link, an image, a colour, maths or
    an icon; a bare URL or email gets an invisible word joiner in front so it is not linked either.  Line
    breaks become spaces.  (HTML is never rendered: ``unsafe_allow_html`` is not used.)"""
    s = "" if text is None else str(text)
    s = " ".join(s.splitlines())
    s = _AUTOLINK_START.sub("\u2060", s)   # a URL or an email in the text stays text, not a link
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)


def days(d, lang: str = "zh") -> str:
    """12.4 → '12 天' / '12 days' (whole days, rounded down: an age or a time past a deadline)."""
    if _missing(d):
        return "—"
    n = int(math.floor(d))
    return f"{n:,} 天" if lang == "zh" else f"{n:,} day{'s' if n != 1 else ''}"


def labelled(label: str, text: str, lang: str = "zh") -> str:
    """'地点：东镇' (zh, full-width colon) / 'Place: East' (en)."""
    return f"{label}：{text}" if lang == "zh" else f"{label}: {text}"


def wan(x) -> str:
    """An amount in 万元: 54,350 from 1,000 up (no decimals), 12.5 below; None → '—'."""
    if _missing(x):
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.1f}"
