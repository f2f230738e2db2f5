"""bench/results/REPORT.md from the JSON results of the suite, bench/suite.py (each part, scale and database)."""
from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

SCALES = ("100k", "full", "5m")
BACKENDS = (("sqlite", "SQLite"), ("pg", "PostgreSQL"))
TARGET_COLD = {"100k": 1000, "full": 1000, "5m": 1000}   # issue 24: every page ≤ 1 s cold at 5 M too


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
           f"Streamlit {m.get('streamlit')}, pandas {m.get('pandas')}"
           + "".join(f", {n} {m[k]}" for k, n in (("duckdb", "DuckDB"), ("datasette", "Datasette")) if m.get(k))
           + f"; measured {m.get('measured')}.", "",
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
           "period change on the open page.  Targets: cold ≤ 1 s at 1.07 M and at 5 M cases (issue 24); a "
           "filter change ≤ 300 ms.", ""]
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
            over = [f"{r['label']} {_ms(r['cold_ms'])}" for r in rows if r["cold_ms"] > TARGET_COLD[scale]]
            out.append(f"{lb}: slowest cold page {worst['label']} {_ms(worst['cold_ms'])} ms (target "
                       f"{TARGET_COLD[scale]:,}); slowest filter change {_ms(max(r['change_ms'] for r in rows))} ms"
                       + (f"; next page of the case list {_ms(nxt[0])} ms" if nxt else "") + "; "
                       + (f"**over the cold target: {', '.join(over)}**" if over else "every page within the cold target")
                       + ".")
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
            cells.append(_ms(r.get("vm_hwm_mib")) if r else "—")
        out.append(f"| {label} server peak RSS after every page, MiB | " + " | ".join(cells) + " |")
    return out + [""]


def export_section(results: Path) -> list[str]:
    out = []
    for b, label in BACKENDS:
        r = _load(results, "export", "full", b)
        if not r:
            continue
        if not out:
            out = ["## Export of about 100,000 cases (full scale, staff user, a fresh process each)", "",
                   "| database | format | rows | seconds | peak RSS MB | file MB |", "|---|---|---:|---:|---:|---:|"]
        for fmt_, x in r.items():
            out.append(f"| {label} | {fmt_.upper()} | {x['rows']:,} | {x['seconds']:.1f} | {x['peak_mb']:.0f} | "
                       f"{x['bytes'] / 1e6:.1f} |")
    return out + [""] if out else []


def rss_section(results: Path) -> list[str]:
    out = ["## Peak RSS of a real `streamlit run` (every page and view, Chinese then English, one server)", "",
           "| scale | database | visits | errors | slowest visit s | peak RSS MiB (target ≤ 300 at full) |",
           "|---|---|---:|---:|---:|---:|"]
    rows = 0
    for s in SCALES:
        for b, label in BACKENDS:
            r = _load(results, "rss", s, b)
            if not r:
                continue
            rows += 1
            slow = max(r["visits"], key=lambda v: v["seconds"])
            out.append(f"| {s} | {label} | {len(r['visits'])} | {r['errors']} | {slow['seconds']:.2f} "
                       f"({slow['label']}, {slow['lang']}) | {r['vm_hwm_mib']:.0f} |")
    return out + [""] if rows else []


def concurrency_section(results: Path) -> list[str]:
    out = ["## 20 concurrent sessions on one server (full scale, 60 s, scripted websocket tabs)", "",
           "Each tab opens the Overview, then goes round region, period, case-list status and paging and "
           "supervision-view changes made through the widgets, as a browser sends them; a change counts when the "
           "page shows it.  Target: no errors, median filter change ≤ 1 s.", "",
           "| database | pause between clicks | changes | median s | p95 s | errors | server CPU s | peak RSS MiB |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    rows = 0
    for b, label in BACKENDS:
        r = _load(results, "concurrency", "full", b)
        for name, x in (r or {}).items():
            rows += 1
            out.append(f"| {label} | {x['think_s'][0]:g}–{x['think_s'][1]:g} s ({name}) | {x['changes']} | "
                       f"{x['change_median_s']:.2f} | {x['change_p95_s']:.2f} | {x['errors']} | "
                       f"{x['server_cpu_s']:.0f} | {x['vm_hwm_mib']:.0f} |")
    r = _load(results, "scaleout", "full", "pg")
    if r and r.get("concurrency"):
        x = r["concurrency"]
        rows += 1
        out.append(f"| PostgreSQL, **two processes behind nginx** | {x['think_s'][0]:g}–{x['think_s'][1]:g} s (busy) | "
                   f"{x['changes']} | {x['change_median_s']:.2f} | {x['change_p95_s']:.2f} | {x['errors']} | "
                   f"{' + '.join(f'{c:.0f}' for c in x['server_cpu_s'])} | "
                   f"{' / '.join(str(m) for m in x['peak_rss_mib'])} |")
    return out + [""] if rows else []


def alternatives_section(results: Path) -> list[str]:
    out = ["## The usual ways: a pandas page, DuckDB and Datasette (SQLite)", "",
           "The same three questions: the first render of the city (last 12 months), a change to 娄星区, a text "
           "search (纠纷).  Ours: the Overview and the case workbench in AppTest, cold; pandas: a Streamlit page "
           "that reads the case table into pandas (bench/alt_pandas_app.py); DuckDB: a Streamlit page that copies "
           "the SQLite file's case table into DuckDB on its first render and asks in SQL (bench/alt_duckdb_app.py); "
           "Datasette 0.65 on the same file (the cases table page with facets; `title__contains`).  Each way in a "
           "fresh process; ratio = theirs ÷ ours.  Targets at full scale: pandas ≥ 15× in time and ≥ 7× in memory, "
           "Datasette ≥ 6×.", "",
           "| scale | question | ours ms | pandas ms | × | DuckDB ms | × | Datasette ms | × |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    rows = 0
    for s in SCALES:
        r = _load(results, "alternatives", s, "sqlite")
        if not r:
            continue
        ours = r["ours"]["median_ms"]
        others = [(r.get(w) or {}).get("median_ms", {}) for w in ("pandas", "duckdb", "datasette")]
        for q, text in r["questions"].items():
            rows += 1
            o = ours.get(q)
            cells = [f"{_ms(m[q])} | {m[q] / o:.1f}×" if q in m and o else "— | —" for m in others]
            out.append(f"| {s} | {text} | {_ms(o)} | " + " | ".join(cells) + " |")
        peaks = [(r.get(w) or {}).get("peak_rss_mb") for w in ("pandas", "duckdb")]
        out.append(f"| {s} | peak RSS MB | {r['ours']['peak_rss_mb']:,.0f} | "
                   + " | ".join(f"{p:,.0f} | {p / r['ours']['peak_rss_mb']:.1f}×" if p else "— | —" for p in peaks)
                   + " | | |")
        cpu = [(label, (r.get(w) or {}).get("cpu_median_ms")) for w, label in
               (("ours", "ours"), ("pandas", "pandas"), ("duckdb", "DuckDB"))]
        cpu = [(label, c) for label, c in cpu if c]
        if cpu:
            notes.append(f"{s}: CPU time of the process (every thread), median ms for the three questions: "
                         + "; ".join(f"{label} " + " / ".join(_ms(c.get(q)) for q in r["questions"])
                                     for label, c in cpu)
                         + f" (the wall times above were taken at a load average of {r['loadavg'][0]:.1f} on "
                           f"{os.cpu_count()} cores)" * bool(r.get("loadavg")) + ".")
        ld = (r.get("duckdb") or {}).get("load")
        if ld:
            notes.append(f"{s} ({r['cases']:,} cases): DuckDB {r['duckdb'].get('version')} got the data in by "
                         f"{ld['method']}, {ld['median_s']:.1f} s (CPU {ld['cpu_median_s']:.1f} s), inside its "
                         "first render.")
        elif (r.get("duckdb") or {}).get("why"):
            notes.append(f"{s}: DuckDB not measured ({r['duckdb']['why']}).")
        elif "duckdb" not in r:
            notes.append(f"{s}: measured before DuckDB was part of the comparison.")
    if not rows:
        return []
    return out + [""] + (["- " + n for n in notes] + [""] if notes else [])


def scaleout_section(results: Path) -> list[str]:
    r = _load(results, "scaleout", "full", "pg")
    if not r:
        return []
    w = r.get("write", {})
    return ["## Two processes behind nginx, one PostgreSQL (full scale)", "",
            f"- Health through the proxy: {r['health']['status']}; {len(r['tabs'])} tabs through it, served by "
            f"{', '.join(r['upstreams'])} (both: {r['both_used']}), all signed in and without error: {r['tabs_ok']}.",
            f"- A red order issued through process A's form: in B's case panel after {w.get('case_panel_s')} s "
            f"(uncached), in B's count of open red orders after {w.get('seen_in_b_count_s')} s "
            f"(refresh interval {w.get('refresh_s')} s).",
            f"- Process B stopped: every new tab served by A: {r['failover_ok']}.", f"- All checks: {r['ok']}.", ""]


def sync_section(results: Path, facts: dict) -> list[str]:
    """Incremental sync (bench/sync.py): batch latency, readers beside a sync, batches against a full load."""
    out = ["## Incremental sync (`python -m data_access sync`)", "",
           "On a copy of the dataset; each batch made from the database as it stands, applied with sync_batch in "
           "the benchmark's process (median); wall time, and CPU time (the process and, on PostgreSQL, the server "
           "process of its connection; on a shared machine the wall time also holds the waits for a core and the "
           "disk).  Targets: 1 case ≤ 0.3 s, 10,000 cases (~40,000 events) ≤ 10 s at 1.07 M cases; at 5 M within "
           "1.5× of those.", "",
           "| scale | database | 1 case: wall s (runs) | CPU s | 10,000 cases: wall s (runs) | CPU s | events | "
           "roll-up slices | 1 case by the command, wall s |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = 0
    for s in SCALES:
        for b, label in BACKENDS:
            r = (_load(results, "sync", s, b) or {}).get("latency")
            if not r:
                continue
            rows += 1
            one, big = r["one_case"], r["10k_cases"]
            ev = statistics.median(x["events"] for x in big["batches"])
            sl = statistics.median(x["slices"] for x in big["batches"])
            out.append(f"| {s} ({r['cases_before']:,} cases) | {label} | {one['median_s']:.2f} "
                       f"({', '.join(f'{x:.2f}' for x in one['seconds'])}) | {_sec(one.get('cpu_median_s'))} | "
                       f"{big['median_s']:.1f} ({', '.join(f'{x:.1f}' for x in big['seconds'])}) | "
                       f"{_sec(big.get('cpu_median_s'))} | {ev:,.0f} | {sl:,.0f} | {r.get('cli_one_case_s', 0):.1f} |")
    if rows:
        out.append("")
    readers = [(label, (_load(results, "sync", "full", b) or {}).get("readers")) for b, label in BACKENDS]
    readers = [(label, r) for label, r in readers if r]
    if readers:
        out += ["20 reading sessions (3–8 s between clicks) on one server, alone and beside a batch synced every "
                "10 s.  Target: no reader error, p95 within 1.5× of the run alone.", "",
                "| database | seconds | batch | syncs (median s) | changes alone / beside | p95 alone s | "
                "p95 beside s | ratio | reader errors | sync errors |",
                "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label, r in readers:
            a, w = r["alone"], r["beside_sync"]
            out.append(f"| {label} | {r['seconds']:.0f} | {r['batch']['new']} new + {r['batch']['changed']} changed "
                       f"| {r['syncs']} ({_sec(r['sync_median_s'])}) | {a['changes']} / {w['changes']} | "
                       f"{_sec(a['change_p95_s'])} | {_sec(w['change_p95_s'])} | "
                       f"{r['p95_ratio']:.2f}× | {a['errors']} / {w['errors']} | {len(r['sync_errors'])} |")
        out.append("")
    eq = [(s, label, (_load(results, "sync", s, b) or {}).get("equality")) for s in SCALES for b, label in BACKENDS]
    eq = [x for x in eq if x[2]]
    if eq:
        out += ["A sample split into batches in time order, synced one after another into an empty database, "
                "against a full load of the end state: every dataset table and roll-up table row by row.", "",
                "| scale | database | batches | rows applied | sync total s (median, max per batch) | full load s | "
                "equal |", "|---|---|---:|---:|---:|---:|---|"]
        for s, label, r in eq:
            out.append(f"| {s} | {label} | {r['batches']} | {r['rows_applied']:,} | {r['sync_total_s']:.0f} "
                       f"({r['sync_median_s']:.2f}, {r['sync_max_s']:.2f}) | {r['full_load_s']:.0f} | "
                       + _equal_cell(r) + " |")
        out.append("")
    return out if rows or readers or eq else []


def article_section(results: Path) -> list[str]:
    """The article's figures read back from the full-scale dataset (bench/article.py)."""
    rows = [(label, _load(results, "article", "full", b)) for b, label in BACKENDS]
    rows = [(label, r) for label, r in rows if r]
    if not rows:
        return []
    out = ["## The article's figures at full scale (`python -m bench article`)", "",
           "tests/test_article_figures.py on the suite's full dataset: 9,708 grids, 9,721 grid workers, 9,905 teams, "
           "1.07 M cases with 99 % closed, Lianyuan's house meetings, Yueyang's projects, Louxing's units.", "",
           "| database | passed | failed | seconds |", "|---|---:|---:|---:|"]
    out += [f"| {label} | {r['passed']} | {'**' + str(r['failed']) + '**' if r['failed'] else 0} | {r['seconds']:.0f} |"
            for label, r in rows]
    return out + [""]


def escalation_section(results: Path) -> list[str]:
    """The escalation pass (bench/escalation.py)."""
    rows = [(s, label, _load(results, "escalation", s, b)) for s in SCALES for b, label in BACKENDS]
    rows = [x for x in rows if x[2]]
    if not rows:
        return []
    out = ["## The escalation pass (`python -m data_access escalate`)", "",
           "The four shipped rules switched on, the clock at the dataset's as-of day.  Target: ≤ 5 s over 1.07 M "
           "cases.", "", "| scale | database | open cases | dry run s (orders) | first pass s (orders; CPU s) | "
           "next pass s |", "|---|---|---:|---:|---:|---:|"]
    for s, label, r in rows:
        f = r["first_pass"]
        out.append(f"| {s} | {label} | {r['open']:,} | {r['dry_run_median_s']:.2f} ({r['orders_planned']:,}) | "
                   f"{f['seconds']:.2f} ({f['orders']:,}; {f['cpu_s']:.2f}) | {r['next_pass_median_s']:.2f} |")
    return out + [""]


def plan_regressions(results: Path) -> list[str]:
    """Every plan check of the last plans part (bench/plans.py) that left its intended index, as
    "scale database · question · statistics"."""
    out = []
    for s in SCALES:
        for b, label in BACKENDS:
            for r in _load(results, "plans", s, b) or []:
                if not r["ok"]:
                    out.append(f"{s} {label} · {r['check']} · {r['stats']} statistics: {r['plan']}")
    return out


def plans_section(results: Path) -> list[str]:
    """The plan checks (bench/plans.py): regressions first and loud, then each question's time per statistics."""
    rows = [(s, label, _load(results, "plans", s, b)) for s in SCALES for b, label in BACKENDS]
    rows = [x for x in rows if x[2]]
    if not rows:
        return []
    out = ["## Query plans under every kind of statistics (`python -m bench plans`)", ""]
    bad = plan_regressions(results)
    if bad:
        out += [f"**{len(bad)} plan(s) left their intended index:**", ""] + [f"- **{b}**" for b in bad] + [""]
    else:
        out += ["Every checked plan reads its intended index under exact (full ANALYZE), sampled and no statistics.",
                ""]
    out += ["| scale | database | question | statistics | intended index | wall ms | CPU ms |",
            "|---|---|---|---|---|---:|---:|"]
    for s, label, checks in rows:
        for r in checks:
            ms = r.get("ms") or (None, None)
            out.append(f"| {s} | {label} | {r['check']} | {r['stats']} | {'ok' if r['ok'] else '**REGRESSED**'} | "
                       f"{_sec_ms(ms[0])} | {_sec_ms(ms[1])} |")
    return out + [""]


def _sec_ms(x) -> str:
    return "—" if x is None else f"{x:.1f}"


def _equal_cell(r: dict) -> str:
    if r["equal"]:
        return "yes, exactly"
    if r.get("equal_rounded"):
        n = sum(d["only_synced"] for d in r["differences"].values())
        return (f"yes to 9 significant digits; {n:,} rows of {', '.join(r['differences'])} differ in the last bits "
                "of a float sum (another summing order)")
    return "**no**: " + ", ".join(r.get("differences_rounded") or r["differences"])


def _sec(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def write(results: Path) -> None:
    """REPORT.md and REPORT.json (this report's numbers and their comparison with the previous REPORT.json)."""
    facts_p = results / "facts.json"
    facts = json.loads(facts_p.read_text()) if facts_p.exists() else {}
    numbers_p = results / NUMBERS
    previous, unreadable = None, None
    if numbers_p.exists():
        try:
            previous = json.loads(numbers_p.read_text())
            if not isinstance(previous.get("measurements"), dict):
                raise ValueError("no 'measurements' object")
        except (ValueError, AttributeError) as exc:
            previous, unreadable = None, f"{numbers_p} could not be read ({exc}); it is replaced"
            print(f"warning: {unreadable}", file=sys.stderr)
    doc = numbers_document(results, facts, previous)
    lines = ["# Benchmark report", "",
             "Written by `python -m bench` (bench/suite.py, see its docstring); every number is a measurement on the "
             "machine below.", ""]
    lines += machine_section(facts)
    lines += comparison_section(doc, previous, unreadable)
    lines += plans_section(results)
    lines += growth_section(results, facts)
    lines += pages_section(results)
    lines += alternatives_section(results)
    lines += concurrency_section(results)
    lines += rss_section(results)
    lines += export_section(results)
    lines += scaleout_section(results)
    lines += sync_section(results, facts)
    lines += article_section(results)
    lines += escalation_section(results)
    (results / "REPORT.md").write_text("\n".join(lines) + "\n")
    numbers_p.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


# ---------------------------------------------------------------------------------------------- against the previous


NUMBERS = "REPORT.json"  # this report's numbers, beside REPORT.md; the next report compares with them
# A change is called out when it is worse (or better) by more than REL and by more than the unit's absolute
# minimum: a 20 ms wobble of a 60 ms step, or 5 MB of a 200 MB peak, is noise on a shared 2-core machine.
REL = 0.20
ABS_MIN = {"ms": 50.0, "s": 0.05, "MB": 20.0, "count": 0.5}
LIST_CAP = 40
# Settings of a run that look like measurements (a run's length, a refresh interval, pauses between clicks).
SETTINGS = {"refresh_s", "think_s", "ran_s", "think", "runs"}
MACHINE_KEYS = ("cores", "cpu", "memory_gb")
VERSION_KEYS = ("python", "sqlite", "postgresql", "sqlalchemy", "streamlit", "pandas", "duckdb", "datasette")


def _unit(name: str) -> str | None:
    if name.endswith("_ms"):
        return "ms"
    if name.endswith("_s") or name == "seconds":
        return "s"
    if name.endswith(("_mb", "_mib")):
        return "MB"
    if name in ("errors", "failed"):
        return "count"
    return None


def _walk(node, path: list[str], parent_unit: str | None, out: dict) -> None:
    if isinstance(node, dict):
        own = _unit(path[-1]) if path else None  # {"median_ms": {"first": 605}}: the children are ms
        for k, v in node.items():
            k = str(k)
            if k in SETTINGS or (k == "seconds" and ("sessions" in node or "think_s" in node)):
                continue
            _walk(v, path + [k], own, out)
    elif isinstance(node, list):
        if not all(isinstance(x, dict) for x in node):
            return  # the raw runs behind a median, load averages, settings
        for i, x in enumerate(node):
            name = " ".join(str(x[f]) for f in ("label", "lang", "phase", "format") if x.get(f) is not None)
            _walk(x, path + [name or f"#{i + 1}"], None, out)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        unit = _unit(path[-1]) if path else None
        unit = unit or parent_unit
        if unit:
            key = " · ".join(path)
            while key in out:
                key += "'"
            out[key] = {"value": float(node), "unit": unit}


def _scale_of(stem: str, facts: dict) -> str | None:
    return max((s for s in facts.get("datasets", {}) if f"-{s}-" in stem + "-"), key=len, default=None)


def measurements(results: Path, facts: dict) -> dict:
    """Every number measured in ``results/*.json`` (times, memory, error counts), keyed by the result file
    (part, scale, database) and the path inside it.  Each carries its unit, the case count of its dataset and
    the fingerprint of its result file (re-measured = another fingerprint)."""
    out: dict = {}
    for p in sorted(results.glob("*.json")):
        if p.name in ("facts.json", NUMBERS):
            continue
        try:
            doc = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        scale = _scale_of(p.stem, facts)
        cases = doc.get("cases") if isinstance(doc, dict) and isinstance(doc.get("cases"), int) else None
        if cases is None and scale:
            cases = facts["datasets"][scale].get("cases")
        found: dict = {}
        _walk(doc, [], None, found)
        stamp = hashlib.sha1(p.read_bytes()).hexdigest()[:12]
        for key, m in found.items():
            out[f"{p.stem} · {key}"] = {**m, "cases": cases, "file": p.name, "stamp": stamp}
    return out


def compare(previous: dict | None, current: dict, machine: dict) -> dict:
    """This report's numbers against the previous report's (its REPORT.json).  Per measurement: a number not
    measured again since that report (same file fingerprint) keeps the comparison that report made, so
    rewriting the report (``--report``) or running only some parts does not lose a regression found earlier;
    a number measured again is compared with the previous report's value of the same key.  Numbers on another
    machine or another dataset size are not compared but listed as such."""
    prev = (previous or {}).get("measurements", {})
    prev_base = (previous or {}).get("baseline", {})
    prev_new = set((previous or {}).get("new", []))
    same_machine = previous is None or all(
        (previous.get("machine") or {}).get(k) == machine.get(k) for k in MACHINE_KEYS)
    baseline, new, incomparable = {}, [], {}
    for key, m in current.items():
        o = prev.get(key)
        if o is None:
            if previous is not None:
                new.append(key)
        elif o["stamp"] == m["stamp"] and o["value"] == m["value"]:
            if key in prev_base:
                baseline[key] = prev_base[key]
            if key in prev_new:
                new.append(key)
            if key in (previous.get("incomparable") or {}):
                incomparable[key] = previous["incomparable"][key]
        elif not same_machine or (o.get("cases") and m.get("cases") and o["cases"] != m["cases"]):
            incomparable[key] = {"value": o["value"], "cases": o.get("cases"), "stamp": o["stamp"]}
        else:
            baseline[key] = {"value": o["value"], "stamp": o["stamp"]}
    gone = {k: o for k, o in prev.items() if k not in current}
    if previous is not None and set(prev) == set(current):
        gone.update({k: o for k, o in (previous.get("gone") or {}).items() if k not in current})
    return {"baseline": baseline, "new": new, "gone": gone, "incomparable": incomparable}


def change_kind(before: float, after: float, unit: str) -> str | None:
    """'regression', 'improvement' or None (within noise).  Every number here is better lower."""
    diff = after - before
    if abs(diff) <= ABS_MIN[unit]:
        return None
    if unit != "count" and (before <= 0 or abs(diff) / before <= REL):
        return None
    return "regression" if diff > 0 else "improvement"


def _num(x: float, unit: str) -> str:
    if unit == "ms":
        return f"{x:,.0f} ms"
    if unit == "s":
        return f"{x:,.2f} s"
    if unit == "MB":
        return f"{x:,.0f} MB"
    return f"{x:,.0f}"


def _capped(rows: list[str], what: str) -> list[str]:
    if len(rows) <= LIST_CAP:
        return rows
    return rows[:LIST_CAP] + [f"", f"… and {len(rows) - LIST_CAP:,} more {what} (all in bench/results/{NUMBERS})."]


def comparison_section(doc: dict, previous: dict | None, unreadable: str | None = None) -> list[str]:
    out = ["## Against the previous report", ""]
    if unreadable:
        return out + [f"Nothing compared: {unreadable}.  This report's {len(doc['measurements']):,} numbers are "
                      "stored there for the next one.", ""]
    if previous is None:
        return out + [f"No previous report's numbers (bench/results/{NUMBERS} was absent): nothing to compare. "
                      f"This report's {len(doc['measurements']):,} numbers are stored there for the next one.", ""]
    pm = previous.get("machine") or {}
    cm = doc.get("machine") or {}
    out.append(f"Every number of this report (times, memory, error counts of every result file, "
               f"{len(doc['measurements']):,} of them) against the same measurement — same part, dataset, database "
               f"and page — in the report before it (bench/results/{NUMBERS}, written {doc.get('previous_written')}). "
               f"Called out when worse or better by more than {REL:.0%} and by more than "
               + ", ".join(f"{v:g} {u}" for u, v in ABS_MIN.items() if u != "count")
               + " (any change in an error count); smaller changes are noise on this shared machine.")
    if not all(pm.get(k) == cm.get(k) for k in MACHINE_KEYS):
        out.append(f"**Another machine** ({', '.join(str(pm.get(k)) for k in MACHINE_KEYS)} before, "
                   f"{', '.join(str(cm.get(k)) for k in MACHINE_KEYS)} now): no number is compared.")
    changed = [f"{k} {pm.get(k)} → {cm.get(k)}" for k in VERSION_KEYS if pm.get(k) != cm.get(k) and pm.get(k)]
    if changed:
        out.append("Versions changed since: " + "; ".join(changed) + ".")
    out.append("")
    ms = doc["measurements"]
    rows = {"regression": [], "improvement": []}
    for key, b in doc["baseline"].items():
        m = ms[key]
        kind = change_kind(b["value"], m["value"], m["unit"])
        if kind:
            pct = (m["value"] - b["value"]) / b["value"] * 100 if b["value"] else float("inf")
            rows[kind].append((abs(pct), f"| {key} | {_num(b['value'], m['unit'])} | {_num(m['value'], m['unit'])} "
                                         f"| {pct:+,.0f} % |"))
    head = ["| measurement | before | after | change |", "|---|---:|---:|---:|"]
    for kind, title in (("regression", "Regressions"), ("improvement", "Improvements")):
        found = [r for _, r in sorted(rows[kind], reverse=True)]
        out += [f"### {title} ({len(found)})", ""]
        out += (head + _capped(found, kind + "s")) if found else ["None."]
        out.append("")
    out += [f"### New measurements ({len(doc['new'])})", ""]
    out += _capped([f"- {k}: {_num(ms[k]['value'], ms[k]['unit'])}" for k in doc["new"]], "new measurements") \
        if doc["new"] else ["None."]
    out += ["", f"### Measurements no longer in the results ({len(doc['gone'])})", ""]
    out += _capped([f"- {k} (was {_num(o['value'], o['unit'])})" for k, o in doc["gone"].items()],
                   "measurements") if doc["gone"] else ["None."]
    if doc["incomparable"]:
        out += ["", f"### Not compared: another machine or dataset size ({len(doc['incomparable'])})", ""]
        out += _capped([f"- {k}: {_num(o['value'], ms[k]['unit'])} at {o.get('cases')} cases → "
                        f"{_num(ms[k]['value'], ms[k]['unit'])} at {ms[k].get('cases')} cases"
                        for k, o in doc["incomparable"].items()], "measurements")
    return out + [""]


def numbers_document(results: Path, facts: dict, previous: dict | None) -> dict:
    cur = measurements(results, facts)
    machine = facts.get("machine", {})
    doc = {"format": 1, "written": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine,
           "datasets": facts.get("datasets", {}), "thresholds": {"relative": REL, "absolute": ABS_MIN},
           "measurements": cur}
    doc.update(compare(previous, cur, machine))
    if previous is not None:
        prev = previous.get("measurements", {})
        same = set(prev) == set(cur) and all(prev[k].get("stamp") == m["stamp"] for k, m in cur.items())
        # Only rewritten (nothing measured again): still compared with the report the numbers were compared with.
        doc["previous_written"] = previous.get("previous_written", previous.get("written")) if same \
            else previous.get("written")
    return doc
