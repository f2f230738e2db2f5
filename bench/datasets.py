"""The benchmark's datasets, built once and cached: sample data of a given scale as CSV files, loaded into
an SQLite file and (optionally) a PostgreSQL database, with the sample's working-day time limits.

    python -m bench datasets --scales 100k,full,5m [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

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
STAMP = {"as_of": AS_OF, "seed": SEED, "generator": 4}  # 4: surges, silent grid, duplicates, ground_truth.json


def sqlite_url(scale: str) -> str:
    return f"sqlite:///{BENCH / (scale + '.db')}"


def pg_url(scale: str, server_url: str, prefix: str = "gov_bench_") -> str:
    return make_url(server_url).set(database=f"{prefix}{scale}").render_as_string(hide_password=False)


def _stamp_ok(path: Path, scale: str) -> bool:
    try:
        return json.loads(path.read_text()) == {**STAMP, "scale": scale}
    except (OSError, ValueError):
        return False


def _write_stamp(path: Path, scale: str, **extra: object) -> None:
    path.write_text(json.dumps({**STAMP, "scale": scale}))
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
        secs = _run([sys.executable, "-m", "sample_data", "--scale", scale, "--as-of", AS_OF, "--seed", str(SEED),
                     "--out", str(out), "--no-load"])
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
        if stamp == json.dumps({**STAMP, "scale": scale}):
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
        c2.execute(text("INSERT INTO bench_stamp VALUES (:s)"), {"s": json.dumps({**STAMP, "scale": scale})})
    db.dispose()
    return url


def _load(url: str, csv: Path) -> float:
    """The validated load, then the sample's working-day rules, as ``python -m sample_data`` does."""
    secs = _run([sys.executable, "-m", "data_access", "--db", url, "load", str(csv), "--replace"])
    script = ("import sys; from data_access.core.db import get_engine; from sample_data import "
              "configure_sample_time_limits as c; print(c(get_engine(sys.argv[1])), 'due times set')")
    secs += _run([sys.executable, "-c", script, url])
    return secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="100k,full,5m")
    ap.add_argument("--pg", default=None, help="a PostgreSQL server URL; its database name is replaced")
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()
    for scale in args.scales.split(","):
        if not args.no_sqlite:
            print(ensure_sqlite(scale))
        if args.pg:
            print(ensure_pg(scale, args.pg))


if __name__ == "__main__":
    main()
