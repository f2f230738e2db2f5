"""A list of keys (case numbers) that several statements of one transaction select by: small lists bound as one
parameter, large ones put once in a temporary table and joined.

A sync of 10,000 cases selects them in a dozen statements (event counts, due times, callbacks, tombstones, event
sequences).  As IN lists of bound values each statement had 5,000–10,000 placeholders for SQLAlchemy to render and
psycopg to split again on every execution (about a second of client CPU on PostgreSQL for such a batch).  A
:class:`KeySet` of more than :data:`KEY_TABLE_MIN` keys fills ``tmp_keys_<name>`` once (one INSERT, the list one
parameter) and each statement joins it (``col IN (SELECT k FROM tmp_keys_<name>)``) — the same statements on
SQLite and PostgreSQL; a few keys (a 1-case batch, an app write) are bound as one parameter
(:class:`~data_access.core.sqlfn.in_values`) and no table is made.  Like the roll-ups' difference tables
(core/rollups.py), the table is temporary: PostgreSQL empties it at commit, and it is emptied before each fill.

The table is SQLite's way only.  On PostgreSQL every set is one array parameter (``col = ANY(:keys)``): joined to
a temporary table without statistics, an UPDATE of a 10,000-case batch's due times was planned as a sequential
scan of all 1.07 M cases hashed against the keys (1.56 s), where the array is probed in the primary key (0.43 s;
the event counts' select 0.50 → 0.10 s).  Issue 19.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import Column, Connection, MetaData, String, Table, bindparam, delete, select, text
from sqlalchemy.schema import CreateTable

from data_access.core.sqlfn import ValueList, in_values

# more keys than this: a temporary table (tests lower it to run that way on small fixtures)
KEY_TABLE_MIN = 200

_metadata = MetaData()   # not the schema's: never created by migrations


@cache
def _table(name: str) -> Table:
    return Table(f"tmp_keys_{name}", _metadata, Column("k", String, primary_key=True),
                 prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS")


@cache
def _fill_sql(dialect: str, table: str):
    src = "unnest(:v)" if dialect == "postgresql" else "value FROM json_each(:v)"
    return text(f"INSERT INTO {table} (k) SELECT {src}").bindparams(bindparam("v", type_=ValueList()))


class KeySet:
    """The keys ``values`` (strings; duplicates dropped) for the statements of ``conn``'s transaction; ``name``
    tells apart the sets one transaction uses at once.  :meth:`where` gives the condition on a column."""

    def __init__(self, conn: Connection, values: Iterable[str], name: str):
        self.values = sorted(set(values))
        self.dialect = conn.dialect.name
        self.table: Table | None = None
        if len(self.values) > KEY_TABLE_MIN and conn.dialect.name != "postgresql":
            t = _table(name)
            conn.execute(CreateTable(t, if_not_exists=True))
            conn.execute(delete(t))
            conn.execute(_fill_sql(conn.dialect.name, t.name), {"v": self.values})
            self.table = t

    def __len__(self) -> int:
        return len(self.values)

    def where(self, col):
        """``col`` is one of the keys."""
        if self.table is None:
            return in_values(col, bindparam(None, self.values, type_=ValueList()))
        return col.in_(select(self.table.c.k))

    def sql(self, column: str) -> tuple[str, list]:
        """The condition as SQL text on the column named ``column``, with the bound parameters it needs (for a
        text statement: ``text(…).bindparams(*params)``)."""
        if self.table is not None:
            return f"{column} IN (SELECT k FROM {self.table.name})", []
        form = ("{} = ANY(:keyset_values)" if self.dialect == "postgresql"
                else "{} IN (SELECT value FROM json_each(:keyset_values))")   # in_values as text
        return form.format(column), [bindparam("keyset_values", self.values, type_=ValueList())]
