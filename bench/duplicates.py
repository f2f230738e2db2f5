"""Repeat cases (重复件, data_access/core/duplicates.py): precision and recall of ``detect_duplicates`` against the
sample's ground truth (target: precision ≥ 0.9, recall ≥ 0.8), and the detection's wall time, CPU time and
peak RSS.

    python -m bench duplicates [--scale 100k] [--db URL --truth DIR] [--examples 5]

Without ``--db``, the suite's dataset of ``--scale`` (bench/datasets.py: bench/<scale>.db and its CSV folder
bench/data/<scale>/ with ground_truth.json, built if missing or stale); with ``--db``, that loaded database and
the ground truth of ``--truth`` (the CSV folder it was loaded from, or the JSON file).  Reads only.

Precision and recall are counted over unordered case pairs (core/duplicates.group_pairs of the detected
groups, and of the ground truth's groups: a group of n cases is n(n-1)/2 pairs).  A found pair outside the
truth is a false positive, a truth pair not found a miss, counted by the truth group's kind (``recall``: the
same caller on the hotline again; ``another_reporter``).  ``--examples N`` prints N of each with their texts,
to see why.  Writes bench/results/duplicates-<scale>-<backend>.json.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

RESULTS = Path(__file__).resolve().parent / "results"
PRECISION_TARGET, RECALL_TARGET = 0.9, 0.8


def _rss_mb() -> float:
    """This process's resident set now (Linux /proc), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def truth_pairs(groups) -> dict[frozenset[str], str]:
    """Every unordered pair of cases inside a ground-truth group → the group's kind."""
    out: dict[frozenset[str], str] = {}
    for g in groups:
        members = sorted(g.case_nos)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                out[frozenset((a, b))] = g.kind
    return out


def _case_rows(engine, case_nos: set[str]) -> dict[str, dict]:
    from data_access.core.schema import cases

    cols = (cases.c.case_no, cases.c.grid_code, cases.c.category, cases.c.source, cases.c.reporter_phone,
            cases.c.reported_at, cases.c.title, cases.c.description)
    out: dict[str, dict] = {}
    nos = sorted(case_nos)
    with engine.connect() as conn:
        for i in range(0, len(nos), 500):
            for r in conn.execute(select(*cols).where(cases.c.case_no.in_(nos[i:i + 500]))).mappings():
                out[r["case_no"]] = dict(r)
    return out


def _show(label: str, pairs: list[frozenset[str]], rows: dict[str, dict], n: int, note=None) -> None:
    from data_access.core.duplicates import similarity

    if not pairs or n <= 0:
        return
    print(f"\n{label} ({len(pairs)}; {min(n, len(pairs))} shown):")
    for p in pairs[:n]:
        a, b = sorted(p, key=lambda c: (rows.get(c, {}).get("reported_at") or 0, c))
        ra, rb = rows.get(a), rows.get(b)
        if ra is None or rb is None:
            print(f"  {a} / {b}: not in the database")
            continue
        s = similarity(ra["title"], ra["description"], rb["title"], rb["description"])
        extra = f" [{note(p)}]" if note else ""
        print(f"  {a} ~ {b}: text {s:.3f}{extra}; gap {rb['reported_at'] - ra['reported_at']}")
        for r in (ra, rb):
            print(f"    {r['case_no']} {r['grid_code']} {r['category']} {r['source']} {r['reporter_phone'] or '-'} "
                  f"{r['reported_at']:%Y-%m-%d %H:%M} | {r['title']} | {r['description']}")


def run(url: str, truth_dir: str | Path, examples: int = 0) -> dict:
    from data_access.core import metrics
    from data_access.core.db import get_engine
    from data_access.core.duplicates import _DROP, detect_duplicates, group_pairs, precision_recall
    from data_access.core.schema import cases
    from sample_data.ground_truth import read

    truth = read(truth_dir)
    engine = get_engine(url)
    with engine.connect() as conn:
        n_cases = conn.execute(select(func.count()).select_from(cases)).scalar_one()
    if n_cases != truth.cases:
        print(f"warning: the database holds {n_cases:,} cases, the ground truth of {truth_dir} {truth.cases:,}: "
              "not the same dataset?", file=sys.stderr)

    rss0 = _rss_mb()
    c0, t0 = time.process_time(), time.perf_counter()
    groups = detect_duplicates(engine)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_mb()

    found = group_pairs(groups)
    kinds = truth_pairs(truth.duplicate_groups)
    tset = set(kinds)
    precision, recall = precision_recall(found, tset)
    tp, fp, miss = found & tset, sorted(found - tset, key=sorted), sorted(tset - found, key=sorted)
    by_kind = Counter(kinds.values())
    missed_by_kind = Counter(kinds[p] for p in miss)
    truth_cases = {c for g in truth.duplicate_groups for c in g.case_nos}
    # a false pair inside a found group: both cases unrelated to the truth, or a true duplicate paired wrong
    fp_both_outside = sum(1 for p in fp if not (p & truth_cases))
    groups_whole = sum(1 for g in truth.duplicate_groups
                       if any(set(g.case_nos) <= fg.case_nos for fg in groups if g.primary in fg.case_nos))
    recall_pairs = sum(1 for g in groups for p in g.pairs if p.same_caller)

    result = {
        "cases": n_cases, "scale": truth.scale, "seed": truth.seed,
        "thresholds": {"DUP_MIN_SCORE": metrics.DUP_MIN_SCORE, "DUP_MAX_COMPARE": metrics.DUP_MAX_COMPARE,
                       "DUP_WINDOW_DAYS": metrics.DUP_WINDOW_DAYS},
        "truth_groups": len(truth.duplicate_groups), "truth_pairs": len(tset),
        "truth_pairs_by_kind": dict(by_kind),
        "found_groups": len(groups), "found_pairs": len(found), "found_recall_pairs": recall_pairs,
        "true_positives": len(tp), "false_positives": len(fp), "false_positives_both_outside_truth": fp_both_outside,
        "misses": len(miss), "misses_by_kind": {k: missed_by_kind.get(k, 0) for k in by_kind},
        "recall_by_kind": {k: round(1 - missed_by_kind.get(k, 0) / v, 4) for k, v in by_kind.items()},
        "truth_groups_found_whole": groups_whole,
        "precision": None if precision is None else round(precision, 4),
        "recall": None if recall is None else round(recall, 4),
        "target": {"precision": PRECISION_TARGET, "recall": RECALL_TARGET},
        "meets_target": bool(precision is not None and recall is not None and precision >= PRECISION_TARGET
                             and recall >= RECALL_TARGET),
        "detect_wall_s": round(wall, 2), "detect_cpu_s": round(cpu, 2),
        "rss_before_mb": round(rss0, 1), "peak_rss_mb": round(peak, 1),
    }
    # false pairs whose two titles are the same text (NFKC, spaces and punctuation dropped): no text rule can
    # tell them from a repeat; the sample's template titles make them by chance (docs/PERFORMANCE.md)
    fp_rows = _case_rows(engine, {c for p in fp for c in p})
    norm = lambda c: _DROP.sub("", unicodedata.normalize("NFKC", fp_rows[c]["title"] or ""))  # noqa: E731
    same_title = sum(1 for p in fp if all(c in fp_rows for c in p) and len({norm(c) for c in p}) == 1)
    result["false_positives_identical_titles"] = same_title
    if examples:
        rows = _case_rows(engine, {c for p in fp[:examples] + miss[:examples] for c in p})
        _show("false positives", fp, rows, examples)
        _show("misses", miss, rows, examples, note=lambda p: kinds[p])
        print()
    engine.dispose()
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog=sys.argv[0], description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="100k", choices=["100k", "full", "5m"],
                    help="the suite's dataset (bench/datasets.py); without --db it is built if missing")
    ap.add_argument("--db", default=None, help="a loaded database to reuse (then --truth is required)")
    ap.add_argument("--truth", default=None, help="its ground truth: the CSV folder or ground_truth.json")
    ap.add_argument("--examples", type=int, default=0, help="print this many false positives and misses")
    args = ap.parse_args(argv)
    if args.db:
        if not args.truth:
            ap.error("--db needs --truth DIR (the CSV folder the database was loaded from)")
        url, truth_dir = args.db, args.truth
    else:
        from bench import datasets

        url = datasets.ensure_sqlite(args.scale)
        truth_dir = args.truth or datasets.ensure_csv(args.scale)
    from sample_data.ground_truth import GroundTruthError

    try:
        result = run(url, truth_dir, args.examples)
    except GroundTruthError as exc:
        print(f"python -m bench duplicates: {exc}", file=sys.stderr)
        return 1
    backend = "sqlite" if make_url(url).get_backend_name() == "sqlite" else "pg"
    scale = result["scale"] or args.scale
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"duplicates-{scale}-{backend}.json"
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    r = result
    print(f"{backend}, {r['cases']:,} cases: {r['found_groups']:,} groups found, {r['found_pairs']:,} pairs "
          f"({r['true_positives']:,} true, {r['false_positives']:,} false, "
          f"{r['false_positives_identical_titles']:,} of them with identical titles); truth {r['truth_groups']} groups, "
          f"{r['truth_pairs']} pairs, {r['misses']} missed {r['misses_by_kind']}")
    print(f"precision {r['precision']} (target ≥ {PRECISION_TARGET}), recall {r['recall']} (target ≥ "
          f"{RECALL_TARGET}): {'met' if r['meets_target'] else 'NOT met'}")
    print(f"detection: {r['detect_wall_s']:.1f} s wall, {r['detect_cpu_s']:.1f} s CPU, peak RSS "
          f"{r['peak_rss_mb']:.0f} MB (before {r['rss_before_mb']:.0f} MB) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
