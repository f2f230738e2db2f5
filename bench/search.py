"""Benchmark of the case search at full scale: database time of the match count and of the workbench's first
page (50 newest) for several search strings, whole tree and one county, with plain LIKE before migration 0006
and with the index after it; the time the migration takes to build the index, and its size on disk.

    python -m bench search [--db sqlite:///bench/full.db] [--pg postgresql+psycopg://…/govbench]
                           [--rebuild]

On a database below revision 0006 (brought to 0005 first), or with ``--rebuild`` on one that has it
(downgraded to 0005 — use a copy if others are using the database): LIKE is timed at 0005, then the upgrade
to 0006, then the index.  On a database that already has 0006 and no ``--rebuild``, "LIKE" is timed with the
index present (on PostgreSQL the pg_trgm indexes then serve LIKE too).

Prints a Markdown table (medians of repeated runs, warm caches).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, func, or_, select

from bench.timing import timed as _timed

from data_access.core import db
from data_access.core.filters import CaseFilter, case_conditions, resolve
from data_access.core.schema import cases
from data_access.core.search import text_condition

ROOT = Path(__file__).resolve().parent.parent

NOW = datetime(2026, 10, 8, 12, 0)
QUERIES = [  # (what, search string)
    ("1 char", "水"),
    ("1 char, rare", "彭"),
    ("2 chars", "噪音"),
    ("2 chars, common", "纠纷"),
    ("2 chars, no match", "漏水"),
    ("4 chars", "电信诈骗"),
    ("4 chars, no match", "高空抛物"),
    ("case-number fragment", "20250317"),
    ("ASCII, no match", "xyzzy"),
]
SCOPES = [("whole tree", None), ("county 娄星区", "431302")]
Results = dict[tuple[str, str, str, str], float]  # (query, scope, count|page|n, LIKE|index|generic) → ms or n


def timed(fn: Callable[[], object], repeat: int) -> float:
    return _timed(fn, repeat, warm=True)


def plain_engine(url: str) -> Engine:
    """An engine connected as make_engine connects (pragmas, statement timeout), without migrating."""
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", db._sqlite_pragmas)
        return engine
    return create_engine(url, connect_args={
        "options": f"-c statement_timeout={int(db.STATEMENT_TIMEOUT_S * 1000)}"})


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def index_mb(engine: Engine) -> float:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            size = conn.exec_driver_sql(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'cases\\_fts%' ESCAPE '\\'").scalar_one()
        else:
            size = conn.exec_driver_sql(
                "SELECT sum(pg_relation_size(indexrelid)) FROM pg_index WHERE indexrelid::regclass::text IN "
                "('ix_cases_search_grams', 'ix_cases_case_no_trgm', 'ix_cases_title_trgm', "
                "'ix_cases_description_trgm')").scalar_one()
    return float(size) / 1e6


def like(q: str):
    """The condition before migration 0006: LIKE over the three columns."""
    return or_(*(cases.c[c].icontains(q, autoescape=True) for c in ("case_no", "title", "description")))


def measure(engine: Engine, hows: list[str], repeat: int, out: Results) -> None:
    """Time count and first page of every search in every scope for ``hows`` (LIKE, index, generic).

    "generic" is the index path planned without looking at the string, as PostgreSQL may plan a statement
    that psycopg has prepared (after 5 runs on a connection)."""
    for scope, region in SCOPES:
        base = case_conditions(resolve(engine, CaseFilter(region_code=region)), NOW)
        for _, q in QUERIES:
            for how in hows:
                conds = [*base, like(q) if how == "LIKE" else text_condition(q)]
                count = select(func.count()).select_from(cases).where(*conds)
                page = (select(cases.c.case_no).where(*conds)
                        .order_by(cases.c.reported_at.desc(), cases.c.case_no.desc()).limit(50))
                with engine.connect() as conn:
                    if how == "generic":
                        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
                    out[(q, scope, "count", how)] = timed(lambda s=count: conn.execute(s).scalar_one(), repeat)
                    out[(q, scope, "page", how)] = timed(lambda s=page: conn.execute(s).all(), repeat)
                    out[(q, scope, "n", how)] = conn.execute(count).scalar_one()
                    conn.rollback()  # ends the SET as well


def bench(url: str, rebuild: bool, repeat: int) -> tuple[Results, float | None, float, bool]:
    """Results, seconds of migration 0006 (None: not run), index MB, and whether LIKE ran before 0006."""
    out: Results = {}
    engine = plain_engine(url)
    cfg = db.alembic_config(engine)
    current = revision(engine)
    built = None
    if current is None or current < "0006" or rebuild:
        if current is not None and current >= "0006":
            command.downgrade(cfg, "0005")
        else:
            command.upgrade(cfg, "0005")
        measure(engine, ["LIKE"], repeat, out)
        t = time.perf_counter()
        command.upgrade(cfg, "0006")
        built = time.perf_counter() - t
        print(f"{url}: migration 0006 took {built:.0f} s", file=sys.stderr, flush=True)
    engine.dispose()
    engine = db.make_engine(url)
    hows = ["index"] if built is not None else ["LIKE", "index"]
    measure(engine, hows + (["generic"] if engine.dialect.name == "postgresql" else []), repeat, out)
    mb = index_mb(engine)
    engine.dispose()
    return out, built, mb, built is not None


def print_table(results: dict[str, Results], repeat: int) -> None:
    names = list(results)
    heads = [h for n in names for h in (f"{n} count LIKE → index", f"{n} page LIKE → index")
             + ((f"{n} generic plan count / page",) if n == "PostgreSQL" else ())]
    print("| search | scope | matches | " + " | ".join(heads) + " |")
    print("|---|---|---:|" + "---:|" * len(heads))
    for what, q in QUERIES:
        for scope, _ in SCOPES:
            cells = [f"{results[names[0]][(q, scope, 'n', 'index')]:,}"]
            for n in names:
                r = results[n]
                for how in ("LIKE", "generic"):
                    if (q, scope, "n", how) in r:
                        assert r[(q, scope, "n", how)] == r[(q, scope, "n", "index")], (n, q, scope, how)
                cells += [f"{r[(q, scope, k, 'LIKE')]:.0f} → **{r[(q, scope, k, 'index')]:.0f}**"
                          for k in ("count", "page")]
                if (q, scope, "n", "generic") in r:
                    cells.append(f"{r[(q, scope, 'count', 'generic')]:.0f} / {r[(q, scope, 'page', 'generic')]:.0f}")
            print(f"| {q} ({what}) | {scope} | " + " | ".join(cells) + " |")
    print(f"\nms, median of {repeat} warm runs; generic plan: the index path with plan_cache_mode = "
          "force_generic_plan (what a statement psycopg has prepared may get).")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'full.db'}")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL holding the same dataset")
    ap.add_argument("--rebuild", action="store_true", help="time migration 0006 again (downgrade, upgrade)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    urls = {"SQLite": args.db, **({"PostgreSQL": args.pg} if args.pg else {})}
    results, notes = {}, []
    for name, url in urls.items():
        results[name], built, mb, before = bench(url, args.rebuild, args.repeat)
        took = f"migration 0006 took {built:.0f} s" if built is not None else "index already built"
        notes.append(f"- {name}: {took}; index {mb:.0f} MB on disk; LIKE timed "
                     + ("at revision 0005 (no index)." if before else "with the index present."))
    print_table(results, args.repeat)
    print("\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
