"""Converting: a CSV record → the row the schema stores, read by the rules by column name.

Each cell is checked and converted by its column's kind in the contract (data_access/core/contract.py):
timestamps to naive Asia/Shanghai local time ('YYYY-MM-DD HH:MM:SS'; an offset other than +08:00 is
converted), dates, months, numbers within their bounds, booleans, enums.  :func:`compile_converter` turns
one file's header into a function ``convert(record, line) -> (row, ok)``; ``row`` is a plain tuple of the
file's :class:`~data_access.core.contract.FileSpec` columns in contract order, whatever their order in the
file, and goes to the database as it is.  The per-table rules (rules.py, case_rules.py) read it by name
through :func:`fields`, whose positions come from the contract, so a new contract column moves nothing.

(Plain tuples rather than named tuples, measured on a 100 k-case dataset: a named tuple per row made the
checking pass 5–10 % slower, and SQLite's ``executemany`` takes a third longer on them than on exact tuples.)
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from operator import itemgetter
from zoneinfo import ZoneInfo

from data_access.core.contract import FILES, Col, FileSpec

SHANGHAI = ZoneInfo("Asia/Shanghai")
_SPECS = {spec.table: spec for spec in FILES}


def fields(table: str, *names: str) -> Callable[[tuple], object]:
    """A getter of the columns ``names`` of a converted row of ``table``, found by name in the contract:
    ``case_no, org = fields("case_events", "case_no", "org_code")(row)`` (one name: the value itself).
    An unknown name fails at import, not on a row."""
    columns = _SPECS[table].column_names
    missing = [n for n in names if n not in columns]
    if missing:
        raise KeyError(f"{table}: no column {', '.join(missing)} in the contract")
    return itemgetter(*(columns.index(n) for n in names))


# --- value converters: raw non-empty cell -> stored value, or ValueError(reason) -----------------
# The rules below are the contract's (docs/DATA_CONTRACT.md, "Values"): a typed cell (int, float, bool,
# date, timestamp, month) is NFKC-normalised before it is parsed, so the full-width digits and signs an
# input method types (２０２６－０１－０５) read as ASCII; what is still not ASCII after that (Arabic-Indic
# digits, say) is refused.  Years lie within YEAR_MIN–YEAR_MAX; an integer fits the schema's Integer (32 bits
# on PostgreSQL).  A text cell holds no control character but tab, newline and carriage return.

YEAR_MIN, YEAR_MAX = 1900, 2200
INT_MIN, INT_MAX = -2 ** 31, 2 ** 31 - 1
_YEARS = f"{YEAR_MIN}–{YEAR_MAX}"
_A = re.ASCII
_TS_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(Z|[+-]\d{2}:\d{2})?", _A)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", _A)
_MONTH_RE = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])", _A)
_INT_RE = re.compile(r"[+-]?\d+", _A)
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", _A)
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_fromiso = datetime.fromisoformat
_FAST_TS = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
                      r"(?:\+08:00)?", _A).fullmatch
# control characters refused in text: C0 but tab, LF and CR; DEL; C1
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]").search
_nfkc = unicodedata.normalize


def _ascii(s: str) -> str:
    """A typed cell as ASCII where NFKC makes it so (full-width digits, signs, colons, letters)."""
    return s if s.isascii() else _nfkc("NFKC", s)


def shown(s: str, limit: int = 40) -> str:
    """A cell's value as quoted in a problem: at most ``limit`` characters (a report never echoes 10 MB)."""
    return s if len(s) <= limit else s[:limit] + f"… ({len(s)} chars)"


def _years(year: int, s: str) -> None:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"year {year} is outside {_YEARS}: '{shown(s)}'")


def parse_ts(s: str) -> str:
    """ISO 8601 timestamp → 'YYYY-MM-DD HH:MM:SS' naive Asia/Shanghai local time."""
    raw, s = s, _ascii(s)
    if _FAST_TS(s) is not None:
        if not "1900" <= s[:4] <= "2200":
            _years(int(s[:4]), raw)
        # the common shape, fully checked by the pattern except a day past the month's end
        local = s[:10] + " " + s[11:19]
        if s[8:10] > "28":
            try:
                _fromiso(local)
            except ValueError:
                raise ValueError(f"not a valid date/time: '{s}'") from None
        return local
    m = _TS_RE.fullmatch(s)
    if m is None:
        raise ValueError(f"not a timestamp YYYY-MM-DDTHH:MM:SS[+08:00]: '{shown(raw)}'")
    d, t, off = m.groups()
    _years(int(d[:4]), raw)
    local = d + " " + t
    try:
        _fromiso(local)
    except ValueError:
        raise ValueError(f"not a valid date/time: '{raw}'") from None
    if off is None or off == "+08:00":
        return local
    try:
        aware = _fromiso(d + "T" + t + ("+00:00" if off == "Z" else off))
    except ValueError:   # +24:00, +99:99: the pattern takes two digits each, Python a day at most
        raise ValueError(f"not a valid offset from UTC (-23:59 … +23:59): '{shown(raw)}'") from None
    local = aware.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    # in range as written, but not in Shanghai time (2200-12-31T23:00:00-12:00 is 2201 there): the stored value
    # must be one the exporter can write and the loader read back
    _years(int(local[:4]), raw)
    return local


def parse_date(s: str) -> str:
    raw, s = s, _ascii(s)
    if _DATE_RE.fullmatch(s) is None:
        raise ValueError(f"not a date YYYY-MM-DD: '{shown(raw)}'")
    _years(int(s[:4]), raw)
    try:
        date.fromisoformat(s)
    except ValueError:
        raise ValueError(f"not a valid date: '{s}'") from None
    return s


def parse_month(s: str) -> str:
    raw, s = s, _ascii(s)
    if _MONTH_RE.fullmatch(s) is None:
        raise ValueError(f"not a month YYYY-MM: '{shown(raw)}'")
    _years(int(s[:4]), raw)
    return s


def parse_bool(s: str) -> bool:
    v = _BOOLS.get(_ascii(s).lower())
    if v is None:
        raise ValueError(f"not a boolean (true/false/1/0): '{shown(s)}'")
    return v


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def make_converter(col: Col) -> Callable[[str], object] | None:
    """The converter of one column (None: the raw string is stored as is)."""
    if col.kind == "str":
        return None
    if col.kind == "enum":
        allowed = frozenset(col.enum)
        expected = ", ".join(col.enum)

        def conv_enum(s: str) -> str:
            if s not in allowed:
                raise ValueError(f"unknown value '{s}' (expected one of {expected})")
            return s
        return conv_enum
    if col.kind in ("int", "float"):
        is_int = col.kind == "int"
        pattern = _INT_RE if is_int else _FLOAT_RE
        lo, hi, gt = col.min, col.max, col.gt
        if is_int:   # the schema's Integer: 32 bits on PostgreSQL
            lo = INT_MIN if lo is None else max(lo, INT_MIN)
            hi = INT_MAX if hi is None else min(hi, INT_MAX)
        what = "an integer" if is_int else "a number"

        def conv_num(s: str):
            raw = s
            if not s.isascii():
                s = _nfkc("NFKC", s)
            if is_int and s.isdigit() and s.isascii() and len(s) < 12:
                v = int(s)
            elif pattern.fullmatch(s) is None:
                raise ValueError(f"not {what}: '{shown(raw)}'")
            elif is_int and len(s.lstrip("+-0")) > 11:   # int() of thousands of digits is refused anyway
                raise ValueError(f"{shown(s)} is {'below the minimum' if s[0] == '-' else 'above the maximum'} "
                                 f"{_num(lo if s[0] == '-' else hi)}")
            else:   # int() reads at most 4,300 digits, leading zeros too: they are dropped first
                v = int(s[0] + (s[1:].lstrip("0") or "0") if s[0] in "+-" else (s.lstrip("0") or "0")) if is_int \
                    else float(s)
                if not is_int and not math.isfinite(v):
                    raise ValueError(f"not a finite number: '{shown(raw)}'")
            if lo is not None and v < lo:
                raise ValueError(f"{shown(s)} is below the minimum {_num(lo)}")
            if hi is not None and v > hi:
                raise ValueError(f"{shown(s)} is above the maximum {_num(hi)}")
            if gt is not None and v <= gt:
                raise ValueError(f"{shown(s)} must be greater than {_num(gt)}")
            return v
        return conv_num
    return {"bool": parse_bool, "date": parse_date, "ts": parse_ts, "month": parse_month}[col.kind]


def compile_converter(spec: FileSpec, pos: dict[str, int], report) -> Callable:
    """A function ``convert(record, line) -> (row, ok)`` for one file's header (``pos``: column name →
    position in the record), as straight-line code.  ``row`` holds the contract's columns in contract
    order; a problem is reported (``report(line, column, reason)``), its value set to None and ``ok`` false.

    Generated once per file so that the per-row work is a few comparisons per
    column with no loop or tuple unpacking (this is the hot path of a 5 M row load).
    """
    env: dict[str, object] = {"report": report, "CONTROL": CONTROL, "SHOWN": shown}
    body = ["def convert(row, line):", "    ok = True"]
    names = []
    for i, col in enumerate(spec.columns):
        v = f"v{i}"
        names.append(v)
        idx = pos.get(col.name)
        env[f"D{i}"] = col.default
        if idx is None:                       # optional column left out of the file
            body.append(f"    {v} = D{i}")
            continue
        body.append(f"    {v} = row[{idx}]")
        body.append(f"    if {v} == '':")
        if col.required:
            body.append(f"        report(line, {col.name!r}, 'required value is missing')")
            body.append("        ok = False")
        body.append(f"        {v} = D{i}")
        if col.kind == "str":
            # isprintable() is one fast C call; only a cell that fails it is searched for a control char
            body.append(f"    elif not {v}.isprintable() and (m := CONTROL({v})) is not None:")
            body.append(f"        report(line, {col.name!r}, 'contains the control character U+%04X "
                        f"(text may hold tab and newline, no other control character)' % ord(m.group()))")
            body.append(f"        {v} = None")
            body.append("        ok = False")
            body.append(f"    elif len({v}) > {col.max_len}:")
            body.append(f"        report(line, {col.name!r}, 'too long, %d chars, max {col.max_len}' % len({v}))")
            body.append(f"        {v} = None")
            body.append("        ok = False")
            continue
        if col.kind == "enum":
            env[f"E{i}"] = frozenset(col.enum)
            env[f"M{i}"] = f"unknown value '%s' (expected one of {', '.join(col.enum)})"
            body.append(f"    elif {v} not in E{i}:")
            body.append(f"        report(line, {col.name!r}, M{i} % SHOWN({v}))")
            body.append(f"        {v} = None")
            body.append("        ok = False")
            continue
        env[f"C{i}"] = make_converter(col)
        body.append("    else:")
        body.append("        try:")
        body.append(f"            {v} = C{i}({v})")
        body.append("        except ValueError as exc:")
        body.append(f"            report(line, {col.name!r}, str(exc))")
        body.append(f"            {v} = None")
        body.append("            ok = False")
    body.append(f"    return ({', '.join(names)},), ok")
    exec(compile("\n".join(body), f"<convert {spec.name}>", "exec"), env)  # noqa: S102 - generated from the contract
    return env["convert"]  # type: ignore[return-value]
