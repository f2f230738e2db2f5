"""SQL expressions that SQLite and PostgreSQL spell differently, written once."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Float, String, TypeDecorator
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class hours_between(FunctionElement):
    """``hours_between(a, b)``: hours from timestamp ``a`` to timestamp ``b`` (negative when b is earlier)."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element: hours_between, compiler: Any, **kw: Any) -> str:
    # Whole seconds (timestamps are stored without fractions): exact, where julianday's floating-point days
    # made one hour 0.99999999627 h and put a step of exactly its limit on the wrong side of it.
    a, b = list(element.clauses)
    return f"((unixepoch({compiler.process(b, **kw)}) - unixepoch({compiler.process(a, **kw)})) / 3600.0)"


@compiles(hours_between, "postgresql")
def _hours_between_pg(element: hours_between, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    # EXTRACT returns numeric since PostgreSQL 14; double precision keeps it comparable with FLOAT columns
    # (a numeric/float mix in a UNION adds a cast that hides the sort order of an index).
    return (f"(CAST(EXTRACT(EPOCH FROM ({compiler.process(b, **kw)} - {compiler.process(a, **kw)}))"
            f" AS DOUBLE PRECISION) / 3600.0)")


class plus_days(FunctionElement):
    """``plus_days(ts, n)``: the timestamp ``n`` whole days after ``ts`` (``n`` a Python int), in the form the
    timestamp column is stored in, so that comparing a column with it can seek an index on that column."""

    inherit_cache = True
    name = "plus_days"

    def __init__(self, ts: Any, days: int) -> None:
        super().__init__(ts)
        self.type = ts.type
        self.days = int(days)


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element: plus_days, compiler: Any, **kw: Any) -> str:
    # datetime() writes 'YYYY-MM-DD HH:MM:SS', the form the Timestamp type stores (schema.py)
    return f"datetime({compiler.process(next(iter(element.clauses)), **kw)}, '+{element.days} days')"


@compiles(plus_days, "postgresql")
def _plus_days_pg(element: plus_days, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(next(iter(element.clauses)), **kw)} + INTERVAL '{element.days} days')"


class no_index(FunctionElement):
    """``no_index(col)``: the column, but not usable by an index — on SQLite ``+col`` (the documented way to
    steer its planner), elsewhere just ``col``.  The value and its type are unchanged."""

    inherit_cache = True
    name = "no_index"

    def __init__(self, col: Any) -> None:
        super().__init__(col)
        self.type = col.type


@compiles(no_index)
def _no_index_default(element: no_index, compiler: Any, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(no_index, "sqlite")
def _no_index_sqlite(element: no_index, compiler: Any, **kw: Any) -> str:
    return "+" + compiler.process(next(iter(element.clauses)), **kw)


def no_index_on(cond: Any, table: Any) -> Any:
    """``cond`` with every column of ``table`` wrapped in :class:`no_index`: for a query that starts from a few
    rows of another table (orders, extension requests) and looks their cases up by case number, so that SQLite
    never walks a whole region's or period's cases through their index to find the few that have such rows."""
    from sqlalchemy import Column
    from sqlalchemy.sql.visitors import replacement_traverse

    return replacement_traverse(cond, {}, lambda e: no_index(e) if isinstance(e, Column) and e.table is table
                                else None)


class rarely(FunctionElement):
    """``rarely(cond)``: the condition, with SQLite told that few rows meet it (``likelihood(cond, 0.0001)``), so
    that its planner seeks the index of ``cond``'s column rather than a region's or a report period's; SQLite
    without range statistics guesses a quarter of the rows for any range.  Elsewhere just ``cond``
    (PostgreSQL's statistics know).  The result is unchanged: likelihood() is a no-op when run."""

    # no Boolean type: SQLite (no native boolean) would get ``likelihood(…) = 1``, which no index can seek
    inherit_cache = True
    name = "rarely"


@compiles(rarely)
def _rarely_default(element: rarely, compiler: Any, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(rarely, "sqlite")
def _rarely_sqlite(element: rarely, compiler: Any, **kw: Any) -> str:
    return f"likelihood({compiler.process(next(iter(element.clauses)), **kw)}, 0.0001)"


class month_of(FunctionElement):
    """``month_of(d)``: 'YYYY-MM' of a date column."""

    type = String()
    inherit_cache = True
    name = "month_of"


@compiles(month_of, "sqlite")
def _month_of_sqlite(element: month_of, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(next(iter(element.clauses)), **kw)}, 1, 7)"


@compiles(month_of, "postgresql")
def _month_of_pg(element: month_of, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(next(iter(element.clauses)), **kw)}, 'YYYY-MM')"


class day_of(FunctionElement):
    """``day_of(t)``: 'YYYY-MM-DD' of a timestamp column (the day count roll-up's day; a timestamp is stored on
    SQLite as 'YYYY-MM-DD HH:MM:SS', schema.SQLITE_TS_FORMAT)."""

    type = String()
    inherit_cache = True
    name = "day_of"


@compiles(day_of, "sqlite")
def _day_of_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(next(iter(element.clauses)), **kw)}, 1, 10)"


@compiles(day_of, "postgresql")
def _day_of_pg(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(next(iter(element.clauses)), **kw)}, 'YYYY-MM-DD')"


class ValueList(TypeDecorator):
    """A list of strings bound as ONE parameter (for :class:`in_values`): a text[] array on PostgreSQL, a JSON
    array on SQLite.  The caller passes a Python list on both."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(String))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else json.dumps(list(value))


class in_values(FunctionElement):
    """``in_values(col, bindparam("nos", type_=ValueList()))``: ``col`` is one of the list bound as one parameter
    — PostgreSQL ``col = ANY(:nos)``, SQLite ``col IN (SELECT value FROM json_each(:nos))``.  The statement's
    text is the same for any number of values: it is compiled once and (PostgreSQL) prepared once, where an
    IN list of n values is a new statement for every n."""

    inherit_cache = True   # no Boolean type: SQLite would compare the IN with 1 and not use an index for it
    name = "in_values"


@compiles(in_values, "sqlite")
def _in_values_sqlite(element: in_values, compiler: Any, **kw: Any) -> str:
    col, values = list(element.clauses)
    return f"({compiler.process(col, **kw)} IN (SELECT value FROM json_each({compiler.process(values, **kw)})))"


@compiles(in_values, "postgresql")
def _in_values_pg(element: in_values, compiler: Any, **kw: Any) -> str:
    col, values = list(element.clauses)
    return f"({compiler.process(col, **kw)} = ANY({compiler.process(values, **kw)}))"
