"""The benchmark's datasets, built once and cached: sample data of a given scale as CSV files, loaded into
an SQLite file and (optionally) a PostgreSQL database, with the sample's working-day time limits.

    python -m bench datasets --scales 100k,full,5m [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

    python -m bench datasets --scales skewed-100k      # the skewed dataset (issue 24), CSV and SQLite

    python -m bench datasets --scales province-1m --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        --pg-prefix h_province_      # the province sample (Hunan's 14 cities, issue 24) into h_province_province-1m

The province scales (``province-1m`` = 1,071,000 cases, ``province`` = 15,000,000) are the sample on all of
Hunan's divisions (sample_data/province.py), generated and loaded like the city scales.

The skewed scales (``skewed-100k``, ``skewed-200k``, ``skewed-full`` = 1,071,000 cases) are the sample with a
real city's skews (``generate_skewed`` below: shared phones, a busy grid, a dominant category, an open
backlog, long logs, two city roots); ``python -m bench load-skewed`` times their load (bench/load_skewed.py).

Where things go (all ignored by git):
  bench/data/<scale>/           the CSV folder (python -m sample_data --scale <scale> --as-of 2026-10-08)
  bench/<scale>.db              the SQLite file (bench/full.db for the article's scale)
  gov_bench_<scale> on the PG server of --pg (the database part of that URL is replaced)

A stamp file beside each copy records the seed and date it was built from; a copy with a matching stamp is
reused, anything else is rebuilt from scratch.  Each step is a fresh ``python -m sample_data`` or
``python -m data_access`` process, so its time and peak memory are its own.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
AS_OF = "2026-10-08"
SEED = 20231008
# "generator": bumped whenever sample_data changes what it generates, so that cached copies are rebuilt
# (3: the sample behaving like a city's months, issue 20)
STAMP = {"as_of": AS_OF, "seed": SEED, "generator": 7}  # 4: surges, silent grid, duplicates, ground_truth.json;
# 5: titles name a household, entrance or flat (fewer unrelated identical titles); 6: extension requests;
# 7: no chance repeat of a title in a village and category within the duplicate window


def sqlite_url(scale: str) -> str:
    return f"sqlite:///{BENCH / (scale + '.db')}"


def pg_url(scale: str, server_url: str, prefix: str = "gov_bench_") -> str:
    return make_url(server_url).set(database=f"{prefix}{scale}").render_as_string(hide_password=False)


def _stamp(scale: str) -> dict:
    """What a cached copy of ``scale`` was built from (a skewed scale: the skew's version too)."""
    return {**STAMP, "scale": scale, **({"skew": SKEW_VERSION} if scale in SKEWED_SCALES else {})}


def _stamp_ok(path: Path, scale: str) -> bool:
    try:
        return json.loads(path.read_text()) == _stamp(scale)
    except (OSError, ValueError):
        return False


def _write_stamp(path: Path, scale: str, **extra: object) -> None:
    path.write_text(json.dumps(_stamp(scale)))
    if extra:
        path.with_suffix(".log.json").write_text(json.dumps(extra))


def _run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    print("  $ " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, **(env or {})})
    return time.perf_counter() - t0


def ensure_csv(scale: str) -> Path:
    out = BENCH / "data" / scale
    stamp = out / ".stamp"
    if not _stamp_ok(stamp, scale):
        print(f"[datasets] generating {scale} into {out}", flush=True)
        subprocess.run(["rm", "-rf", str(out)], check=True)
        if scale in SKEWED_SCALES:
            secs = _run([sys.executable, "-m", "bench", "datasets", "--write-skewed", scale, str(out)])
        else:
            secs = _run([sys.executable, "-m", "sample_data", "--scale", scale, "--as-of", AS_OF, "--seed",
                         str(SEED), "--out", str(out), "--no-load"])
        _write_stamp(stamp, scale, seconds=round(secs, 1))
    return out


def ensure_sqlite(scale: str) -> str:
    url = sqlite_url(scale)
    db = BENCH / f"{scale}.db"
    stamp = BENCH / f"{scale}.db.stamp"
    if not (db.exists() and _stamp_ok(stamp, scale)):
        csv = ensure_csv(scale)
        print(f"[datasets] loading {scale} into {db}", flush=True)
        for p in BENCH.glob(f"{scale}.db*"):
            p.unlink()
        secs = _load(url, csv)
        _write_stamp(stamp, scale, seconds=round(secs, 1))
    return url


def ensure_pg(scale: str, server_url: str, prefix: str = "gov_bench_") -> str:
    """The dataset of ``scale`` in the database ``<prefix><scale>`` of the server ``server_url``."""
    from sqlalchemy import create_engine, text

    url = pg_url(scale, server_url, prefix)
    name = make_url(url).database
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        stamp = None
        if exists:
            db = create_engine(url)
            try:
                with db.connect() as c2:
                    c2.execute(text("CREATE TABLE IF NOT EXISTS bench_stamp (stamp text)"))
                    stamp = c2.execute(text("SELECT stamp FROM bench_stamp")).scalar()
                    c2.commit()
            finally:
                db.dispose()
        if stamp == json.dumps(_stamp(scale)):
            return url
        csv = ensure_csv(scale)
        print(f"[datasets] loading {scale} into PostgreSQL {name}", flush=True)
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _load(url, csv)
    db = create_engine(url)
    with db.begin() as c2:
        c2.execute(text("CREATE TABLE IF NOT EXISTS bench_stamp (stamp text)"))
        c2.execute(text("DELETE FROM bench_stamp"))
        c2.execute(text("INSERT INTO bench_stamp VALUES (:s)"), {"s": json.dumps(_stamp(scale))})
    db.dispose()
    return url


def _load(url: str, csv: Path) -> float:
    """The validated load, then the sample's working-day rules, as ``python -m sample_data`` does."""
    secs = _run([sys.executable, "-m", "data_access", "--db", url, "load", str(csv), "--replace"])
    script = ("import sys; from data_access.core.db import get_engine; from sample_data import "
              "configure_sample_time_limits as c; print(c(get_engine(sys.argv[1])), 'due times set')")
    secs += _run([sys.executable, "-c", script, url])
    return secs


# --- the skewed dataset (issue 24) ----------------------------------------------------------------------
# The project's sample spreads cases evenly; a city's real data does not: a hotline's frequent callers and an
# office's shared number report hundreds or thousands of cases, one busy grid and one category dominate, a
# backlog stays open, a long dispute collects hundreds of log entries.  ``generate_skewed`` writes the same
# interchange format (docs/DATA_CONTRACT.md) with those skews, reusing the project's generator for everything
# else: it runs sample_data.generate with two of its pieces wrapped (the step that writes cases, and the CSV
# writer), so that the structure, the timelines and the logs stay the generator's own.

SKEW_SEED_OFFSET = 24_024          # the skew draws from its own stream (issue 24)
SKEW_VERSION = 1                   # bumped whenever generate_skewed changes what it writes
SKEWED_SCALES = {"skewed-100k": 100_000, "skewed-200k": 200_000, "skewed-full": 1_071_000}
SHARED_PHONES = 10_000             # phones shared by a third of all cases (about 36 cases each at 1.07 M)
SHARED_PHONE_SHARE = 1 / 3
PHONE_ZIPF = 0.6                   # case share of the phone of rank r ~ r^-0.6: the first few on thousands
OFFICE_PHONES = 5                  # the most frequent phones report from the busy grid (an office's number)
BIG_GRID_SHARE = 0.10              # one grid with a tenth of all cases
BIG_CATEGORY, BIG_CATEGORY_SHARE = "neighbour", 0.50   # one category half of everything
OPEN_SHARE = 0.10                  # cases still open at as_of
YUEYANG_SHARE = 0.15               # cases moved to grids of the second city root (岳阳市)
LONG_LOG_PER_CASES, LONG_LOG_EVENTS = 5_000, (100, 600)   # one case in 5,000 has 100–600 extra log entries
# Unicode beyond the BMP and beyond Chinese: emoji, a CJK Extension B character, combining marks.
LONG_LOG_NOTES = ("群众再次来电催办☎️", "𠮷家巷路灯仍未修复", "居民反映：噪音😠又出现了", "网格员回访，群众表示满意👍",
                  "Café owner called again — naïve façade complaint", "协调会第N次：双方未达成一致")
OFFICE_NAMES = ("娄底市12345热线☎", "娄星区𠮷祥社区居委会", "大科街道办（共用号码）", "涟源市信访局·来访登记",
                "双峰县“网格通”服务台")


def skewed_cases(scale: str) -> int:
    try:
        return SKEWED_SCALES[scale]
    except KeyError:
        raise SystemExit(f"unknown skewed scale {scale!r}; expected one of {', '.join(SKEWED_SCALES)}") from None


def generate_skewed(out_dir: Path, n_cases: int, seed: int = SEED, as_of: str = AS_OF,
                    n_activities: int | None = None) -> dict[str, int]:
    """Write a skewed dataset of ``n_cases`` cases into ``out_dir`` (deterministic for a seed); return the
    rows per file.  What is skewed is listed in the constants above; the rest is sample_data's (the full
    scale's 150,000 volunteer activities unless ``n_activities``: tests)."""
    import datetime as dt

    import numpy as np

    from sample_data import generator as g

    skew = np.random.default_rng(seed + SKEW_SEED_OFFSET)
    state: dict = {}
    write_cases, writer_cls = g._write_cases, g._Writer

    def skewed_write_cases(ctx, w, c, rng, anomaly_rng=None):
        state.update(_skew_cases(ctx, c, skew, g))
        return write_cases(ctx, w, c, rng, anomaly_rng)

    class SkewWriter(writer_cls):
        def write(self, fname, header, rows):
            if fname == "grids.csv":
                rows = list(rows) + _yueyang_grids(header, state)
            elif fname == "cases.csv":
                rows = _skew_case_rows(header, rows, state)
            elif fname == "case_events.csv":
                rows = _long_logs(rows, state)
            return super().write(fname, header, rows)

    state["skew"] = skew
    g._write_cases, g._Writer = skewed_write_cases, SkewWriter
    try:
        return g.generate(Path(out_dir), scale="full", seed=seed, as_of=dt.date.fromisoformat(as_of),
                          _n_cases=n_cases, _n_activities=n_activities)
    finally:
        g._write_cases, g._Writer = write_cases, writer_cls


def _yueyang_grids(header: list[str], state: dict) -> list[list]:
    """One grid in each village of 岳阳市 (the second city root; the sample's grids are all in 娄底市)."""
    from sample_data import generator as g

    villages = [r for r in g._read_divisions()[1] if r["level"] == "village"]
    codes = [r["code"] + "001" for r in villages]
    state["yy_grids"] = codes
    rows = []
    for r, code in zip(villages, codes):
        row = dict.fromkeys(header, "")
        row.update(code=code, name=g._short_name(r["name"]) + "第1网格", village_code=r["code"])
        rows.append([row[h] for h in header])
    return rows


def _skew_cases(ctx, c: dict, rng, g) -> dict:
    """The skews that change a case's timeline or references, made on the generator's arrays before they are
    written (so that the events, due times and supervision orders follow): shared phones (chosen here, written
    in :func:`_skew_case_rows`), the busy grid, the big category, the open backlog."""
    import numpy as np

    n = c["n"]
    out: dict = {"ctx": ctx}
    # shared phones: a third of all cases, non-patrol ones (a grid worker's own phone is on patrol reports)
    cand = np.nonzero(c["src"] != 0)[0]
    k = min(len(cand), int(round(SHARED_PHONE_SHARE * n)))
    chosen = np.sort(rng.choice(cand, k, replace=False))
    w = np.arange(1, SHARED_PHONES + 1, dtype=float) ** -PHONE_ZIPF
    rank = np.full(n, -1, dtype=np.int64)
    rank[chosen] = rng.choice(SHARED_PHONES, k, p=w / w.sum())
    phones = np.unique(g._phones(rng, 3 * SHARED_PHONES))
    out["phones"] = rng.permutation(phones)[:SHARED_PHONES]
    out["rank"] = rank
    # the busy grid: the most populous one, with the offices' cases and then others up to a tenth
    big = int(np.argmax(ctx.g_pop))
    office = (rank >= 0) & (rank < OFFICE_PHONES)
    c["grid"][office] = big
    have = c["grid"] == big
    need = int(round(BIG_GRID_SHARE * n)) - int(have.sum())
    if need > 0:
        c["grid"][rng.choice(np.nonzero(~have)[0], need, replace=False)] = big
    c["micro"][c["grid"] == big] = -1
    out["big_grid"] = ctx.g_code[big]
    # the big category (due time and department follow it)
    from sample_data import vocab

    k0 = [x[0] for x in vocab.CATEGORIES].index(BIG_CATEGORY)
    have = c["cat"] == k0
    need = int(round(BIG_CATEGORY_SHARE * n)) - int(have.sum())
    if need > 0:
        move = rng.choice(np.nonzero(~have)[0], need, replace=False)
        c["cat"][move] = k0
        c["due"][move] = c["rep"][move] + vocab.CATEGORIES[k0][3] * g.HOUR
        c["dept_kind"][move] = vocab.CATEGORY_DEPT_KIND[k0]
    # the open backlog: closed cases (not settled on the spot, not one of the anomalies) stopped at a step
    special = np.zeros(n, dtype=bool)
    for key in ("fast", "no_feedback"):
        special[c[key]] = True
    special[c["reopen"]["case"]] = True
    st = c["steps"]
    need = int(round(OPEN_SHARE * n)) - int((~c["closed"]).sum())
    cand = np.nonzero(c["closed"] & ~c["on_spot"] & ~special & (st[:, 3] != g.NA))[0]
    if need > 0 and len(cand):
        stop = np.sort(rng.choice(cand, min(need, len(cand)), replace=False))
        stage = rng.integers(1, 5, len(stop))            # 受理 … 反馈 reached, not closed
        for s in range(1, 5):
            rows = stop[stage == s]
            st[rows[:, None], np.arange(s, 5)[None, :]] = g.NA
            c["stage"][rows] = s
        c["closed"][stop] = False
        c["sat"][stop] = 0
        handled = st[:, 2] != g.NA
        c["has_dept"] &= st[:, 1] != g.NA
        c["bounce"] = np.where(handled, c["bounce"], 0)
        c["reassign"] &= handled
        c["escalate"] &= handled
    # second city root: some cases (not the busy grid's) move to 岳阳市's grids (written in _skew_case_rows)
    yy = (c["grid"] != big) & (rng.random(n) < YUEYANG_SHARE)
    out["yy"] = np.where(yy, rng.integers(0, 1 << 30, n), -1)
    # long logs: open or closed, one case in LONG_LOG_PER_CASES
    m = max(1, n // LONG_LOG_PER_CASES)
    long_cases = rng.choice(n, m, replace=False)
    out["long"] = {str(c["case_no"][i]): int(x) for i, x in
                   zip(long_cases.tolist(), rng.integers(*LONG_LOG_EVENTS, m).tolist())}
    return out


def _skew_case_rows(header: list[str], chunks, state: dict):
    """cases.csv as the generator writes it, with the shared phones (and the offices' names) and the cases
    moved to 岳阳市."""
    ip, iname, igrid = header.index("reporter_phone"), header.index("reporter_name"), header.index("grid_code")
    rank, phones, yy, yy_grids = state["rank"], state["phones"], state["yy"], state["yy_grids"]
    i = 0
    for chunk in chunks:
        out = []
        for row in chunk:
            r, y = int(rank[i]), int(yy[i])
            if r >= 0 or y >= 0:
                row = list(row)
                if r >= 0:
                    row[ip] = str(phones[r])
                    if r < OFFICE_PHONES:
                        row[iname] = OFFICE_NAMES[r]
                if y >= 0:
                    row[igrid] = yy_grids[y % len(yy_grids)]
            out.append(row)
            i += 1
        yield out


def _long_logs(chunks, state: dict):
    """case_events.csv as the generator writes it, with hundreds of notes after the last entry of the chosen
    cases (at the same time as that entry: ``at`` never goes back)."""
    long = state["long"]
    for chunk in chunks:
        out = []
        for j, row in enumerate(chunk):
            out.append(row)
            extra = long.get(row[0])
            if extra and (j + 1 == len(chunk) or chunk[j + 1][0] != row[0]):
                case_no, seq, at = row[0], int(row[1]), row[2]
                out.extend((case_no, seq + k, at, "note", "网格员", "", LONG_LOG_NOTES[k % len(LONG_LOG_NOTES)])
                           for k in range(1, extra + 1))
        yield out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="100k,full,5m")
    ap.add_argument("--pg", default=None, help="a PostgreSQL server URL; its database name is replaced")
    ap.add_argument("--pg-prefix", default="gov_bench_",
                    help="the PostgreSQL database is <prefix><scale> (default gov_bench_: the shared copies)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--write-skewed", nargs=2, metavar=("SCALE", "DIR"),
                    help=f"only write the skewed dataset SCALE ({', '.join(SKEWED_SCALES)}) into DIR")
    args = ap.parse_args()
    if args.write_skewed:
        scale, out = args.write_skewed
        t0 = time.perf_counter()
        counts = generate_skewed(Path(out), skewed_cases(scale))
        print(f"wrote {sum(counts.values()):,} rows in {time.perf_counter() - t0:.1f}s into {out}: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        return
    for scale in args.scales.split(","):
        if not args.no_sqlite:
            print(ensure_sqlite(scale))
        if args.pg:
            print(ensure_pg(scale, args.pg, args.pg_prefix))


if __name__ == "__main__":
    main()
