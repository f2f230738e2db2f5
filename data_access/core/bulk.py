"""Many rows into a table by one statement: on PostgreSQL the rows are one JSON parameter
(``json_populate_recordset``), on SQLite an executemany (its driver's loop is in C already).

A 10,000-case batch inserts ~40,000 events and ~20,000 roll-up differences (core/rollups.py).  Through psycopg's
executemany each row was its own bound execution: SQLAlchemy built and processed 60,000 parameter sets and
PostgreSQL executed the INSERT 60,000 times — ~1.5 s of client and server CPU.  One statement whose rows arrive
as one JSON document costs a ``json.dumps`` on the client and one set-based INSERT on the server.  The values are
those the table's columns take: strings, integers, floats, booleans, None, and naive dates and timestamps
(written as ISO text, which PostgreSQL reads back exactly; an aware timestamp is refused, since psycopg would
have bound it as a timestamptz and PostgreSQL converted it).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache

from sqlalchemy import Connection, Table, insert, literal_column, select, text

ROWS_PER_STATEMENT = 20_000


def _json_value(v):
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            raise ValueError(f"bulk.insert_rows: an aware timestamp {v!r} (the columns hold naive local times)")
        return v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    raise TypeError(f"bulk.insert_rows: {type(v).__name__} is not a column value")


@cache
def _pg_insert(table: str, cols: tuple[str, ...]):
    names = ", ".join(f'"{c}"' for c in cols)
    return text(f'INSERT INTO {table} ({names}) SELECT {names} '
                f'FROM json_populate_recordset(NULL::{table}, CAST(:doc AS json))')


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """INSERT ``rows`` (dicts of column -> value, all with the same keys) into ``table``."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    cols = tuple(rows[0])
    stmt = _pg_insert(table.name, cols)
    for i in range(0, len(rows), ROWS_PER_STATEMENT):
        conn.execute(stmt, {"doc": json_doc(rows[i:i + ROWS_PER_STATEMENT])})


def json_rows(table: Table, cols: Sequence[str]):
    """``SELECT cols FROM`` the rows bound as the JSON parameter ``:doc`` (PostgreSQL), typed as ``table``'s
    columns: the source of an ``INSERT … SELECT`` (the sync's upsert of the cases).  Bind :func:`json_doc`."""
    return (select(*[literal_column(f'r."{c}"') for c in cols])
            .select_from(text(f"json_populate_recordset(NULL::{table.name}, CAST(:doc AS json)) AS r")))


def json_doc(rows: Sequence[dict]) -> str:
    """The rows as the JSON parameter of :func:`json_rows`."""
    return json.dumps(list(rows), ensure_ascii=False, default=_json_value)
