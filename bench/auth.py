"""Cost of sign-in and of keeping a session, on each database: what a user waits for at sign-in, and what
every click adds (the account is re-read on every run).

    python -m bench auth [--db sqlite:///…] [--pg postgresql+psycopg://…/db]

Works on any database with regions (the fixture is loaded into a fresh temporary SQLite file without --db).
Prints a Markdown table: medians in ms.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.timing import timed

from data_access.core import users
from data_access.core.db import make_engine
from data_access.core.schema import user_sessions, users as users_table

ROOT = Path(__file__).resolve().parent.parent

PASSWORD = "bench password 123"


def measure(url: str) -> dict[str, float]:
    engine = make_engine(url)
    name = "bench.auth"
    with engine.begin() as conn:
        conn.execute(users_table.delete().where(users_table.c.username == name))
    user = users.add_user(engine, name, display_name="基准", role="staff", scope_code=None,
                          password=PASSWORD).as_user()
    token = users.open_session(engine, user)
    out = {
        "sign-in, right password (argon2id verify + audit row)":
            timed(lambda: users.authenticate(engine, name, PASSWORD), repeat=9, warm=True),
        "sign-in, wrong password (counted, slowed down after the 2nd)":
            timed(lambda: _wrong(engine, name), repeat=3),
        "every click: re-read the account": timed(lambda: users.current_account_user(engine, name), repeat=51,
                                                  warm=True),
        "a reload: resume the session from its cookie token":
            timed(lambda: users.resume_session(engine, token, 120), repeat=51, warm=True),
    }
    with engine.begin() as conn:
        conn.execute(user_sessions.delete().where(user_sessions.c.username == name))
        conn.execute(users_table.delete().where(users_table.c.username == name))
    engine.dispose()
    return out


def _wrong(engine, name: str) -> None:
    try:
        users.authenticate(engine, name, "wrong")
    except users.SignInRefused:
        pass


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db")
    ap.add_argument("--pg")
    a = ap.parse_args()
    urls = {}
    if a.db:
        urls["SQLite"] = a.db
    else:
        from data_access.ingest.loader import load_dataset

        tmp = Path(tempfile.mkdtemp()) / "auth.db"
        load_dataset(ROOT / "tests" / "fixtures" / "metrics", make_engine(f"sqlite:///{tmp}"))
        urls["SQLite"] = f"sqlite:///{tmp}"
    if a.pg:
        urls["PostgreSQL"] = a.pg
    results = {k: measure(u) for k, u in urls.items()}
    print("| step | " + " | ".join(f"{k} ms" for k in results) + " |")
    print("|---|" + "---:|" * len(results))
    for step in next(iter(results.values())):
        print(f"| {step} | " + " | ".join(f"{r[step]:.1f}" for r in results.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
