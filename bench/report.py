"""bench/results/REPORT.md from the JSON results of bench/run_all.py (each part, scale and database)."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

SCALES = ("100k", "full", "5m")
BACKENDS = (("sqlite", "SQLite"), ("pg", "PostgreSQL"))
TARGET_COLD = {"100k": 1000, "full": 1000, "5m": 2000}


def _load(results: Path, part: str, scale: str, backend: str):
    p = results / f"{part}-{scale}-{backend}.json"
    return json.loads(p.read_text()) if p.exists() else None


def _ms(x) -> str:
    return "—" if x is None else f"{x:,.0f}"


def machine_section(facts: dict) -> list[str]:
    m = facts.get("machine", {})
    out = ["## Machine and data", "",
           f"{m.get('cores')} cores ({m.get('cpu')}), {m.get('memory_gb')} GB; Python {m.get('python')}, "
           f"SQLite {m.get('sqlite')}, {m.get('postgresql')}, SQLAlchemy {m.get('sqlalchemy')}, "
           f"Streamlit {m.get('streamlit')}, pandas {m.get('pandas')}; measured {m.get('measured')}.", "",
           "| dataset | cases | case events |", "|---|---:|---:|"]
    for scale in SCALES:
        d = facts.get("datasets", {}).get(scale)
        if d:
            out.append(f"| {scale} | {d['cases']:,} | {d['events']:,} |")
    return out + [""]


def pages_section(results: Path) -> list[str]:
    out = ["## Every page and view (AppTest, whole page with the frame)", "",
           "Cold = every cached answer dropped (median of 3); database = the part of the cold render spent in "
           "SQL; warm = a new session while the cache holds the answers; change = a region (city → 娄星区) or "
           "period change on the open page.  Targets: cold ≤ 1 s at 1.07 M cases, ≤ 2 s at 5 M; a filter "
           "change ≤ 300 ms.", ""]
    for scale in SCALES:
        cols = [(b, label, _load(results, "pages", scale, b)) for b, label in BACKENDS]
        cols = [c for c in cols if c[2]]
        if not cols:
            continue
        out += [f"### {scale}", "",
                "| page / view | " + " | ".join(f"{lb} cold | db | warm | change" for _, lb, _ in cols) + " |",
                "|---|" + "---:|---:|---:|---:|" * len(cols)]
        for i, row in enumerate(cols[0][2]):
            cells = []
            for _, _, rows in cols:
                r = rows[i] if i < len(rows) else {}
                cells.append(" | ".join(_ms(r.get(k)) for k in ("cold_ms", "db_ms", "warm_ms", "change_ms")))
            out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
        for _, lb, rows in cols:
            nxt = [r["next_page_ms"] for r in rows if "next_page_ms" in r]
            worst = max(rows, key=lambda r: r["cold_ms"])
            out.append("")
            out.append(f"{lb}: slowest cold page {worst['label']} {_ms(worst['cold_ms'])} ms (target "
                       f"{TARGET_COLD[scale]:,}); slowest filter change {_ms(max(r['change_ms'] for r in rows))} ms"
                       + (f"; next page of the case list {_ms(nxt[0])} ms" if nxt else "") + ".")
        out.append("")
    return out


def growth_section(results: Path, facts: dict) -> list[str]:
    out = ["## How cost grows with the case count", "",
           "Cold whole-page render, median and slowest over every page and view, ms.", "",
           "| database | " + " | ".join(
               f"{s} ({facts.get('datasets', {}).get(s, {}).get('cases', 0):,} cases)" for s in SCALES) + " |",
           "|---|" + "---:|" * len(SCALES)]
    for b, label in BACKENDS:
        cells = []
        for s in SCALES:
            rows = _load(results, "pages", s, b)
            cells.append(f"{statistics.median(r['cold_ms'] for r in rows):,.0f} / {max(r['cold_ms'] for r in rows):,.0f}"
                         if rows else "—")
        out.append(f"| {label} median / max | " + " | ".join(cells) + " |")
    for b, label in BACKENDS:
        cells = []
        for s in SCALES:
            rows = _load(results, "pages", s, b)
            ov = next((r for r in rows or [] if r["label"] == "overview, city"), None)
            cells.append(_ms(ov["cold_ms"]) if ov else "—")
        out.append(f"| {label} Overview of the city | " + " | ".join(cells) + " |")
    for b, label in BACKENDS:
        cells = []
        for s in SCALES:
            r = _load(results, "rss", s, b)
            cells.append(_ms(r.get("peak_rss_mb")) if r else "—")
        out.append(f"| {label} server peak RSS, MB | " + " | ".join(cells) + " |")
    return out + [""]


def generic_section(results: Path, part: str, title: str) -> list[str]:
    """A part whose JSON is a flat-ish dict: its numbers as a table per (scale, database)."""
    out = []
    for s in SCALES:
        for b, label in BACKENDS:
            r = _load(results, part, s, b)
            if r is None:
                continue
            if not out:
                out = [f"## {title}", ""]
            out += [f"{s} · {label}:", "", "```", json.dumps(r.get("summary", r) if isinstance(r, dict) else r,
                                                             ensure_ascii=False, indent=1)[:4000], "```", ""]
    return out


def write(results: Path) -> None:
    facts_p = results / "facts.json"
    facts = json.loads(facts_p.read_text()) if facts_p.exists() else {}
    lines = ["# Benchmark report", "",
             "Written by `python bench/run_all.py` (see its docstring); every number is a measurement on the "
             "machine below.", ""]
    lines += machine_section(facts)
    lines += growth_section(results, facts)
    lines += pages_section(results)
    for part, title in (("export", "Export of 100,000 cases"), ("rss", "Peak RSS of a real server"),
                        ("concurrency", "20 concurrent sessions"), ("alternatives", "The usual ways"),
                        ("scaleout", "Two processes behind nginx")):
        lines += generic_section(results, part, title)
    (results / "REPORT.md").write_text("\n".join(lines) + "\n")
