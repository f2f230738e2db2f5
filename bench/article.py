"""The article's figures at full scale (tests/test_article_figures.py), on a built dataset or a fresh build.

    python -m bench article [--db URL]

The check builds (or reads) the 1.07 M-case sample and compares it with the newspaper page's figures: 9,708
grids, 9,721 grid workers, 9,905 volunteer teams, 1.07 M cases with 99 % closed, 17,000 house meetings ….  It
is a scale check, so it runs here and in the benchmark suite (part ``article``), not in CI: the build alone
takes 3–4 minutes of a CI run's 20.  Without ``--db`` the test builds the dataset itself in a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/test_article_figures.py"


def summary_counts(line: str) -> dict[str, int]:
    """pytest's last line ("5 passed, 1 failed, 2 deselected in 12.3s") as {"passed": 5, "failed": 1, …}."""
    head = line.strip("= ").split(" in ")[0]
    return {part.split()[1]: int(part.split()[0]) for part in head.split(", ")
            if len(part.split()) >= 2 and part.split()[0].isdigit()}


def run(url: str | None) -> dict:
    """Run the article's tests (marker ``slow``) in one process; their counts and the time taken."""
    env = dict(os.environ)
    if url:
        env["GOV_FULL_DB_URL"] = url
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", TEST, "-m", "slow", "-n", "0", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = round(time.perf_counter() - t0, 1)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = summary_counts(tail)
    return {"passed": counts.get("passed", 0), "failed": counts.get("failed", 0) + counts.get("error", 0),
            "seconds": seconds, "exit": proc.returncode, "summary": tail,
            "output": proc.stdout[-4000:] if proc.returncode else ""}


def main() -> int:
    ap = argparse.ArgumentParser(prog=sys.argv[0], description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="a database already built with python -m sample_data --scale full "
                                 "--as-of 2026-10-08 (default: build one)")
    args = ap.parse_args()
    result = run(args.db)
    print(result["output"] or result["summary"])
    print(f"article figures: {result['passed']} passed, {result['failed']} failed in {result['seconds']} s")
    return 0 if result["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
