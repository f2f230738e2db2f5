"""Free-text search over case number, title and description: the one place that turns a search string
into a WHERE condition on ``cases``, and the index behind it.  At the end, the find boxes of the staffing,
volunteers and clean-units pages (a name or code containing the typed text: :func:`find_text`,
:func:`name_or_code_match`), which need no index.

Meaning (both databases): a case matches when its number, title or description contains the normalised
string, ignoring case — exactly ``lower(column) LIKE '%' || lower(string) || '%'`` with ``%``, ``_`` and
the escape character escaped.  The string is always a bound parameter, never spliced into SQL.

The index only narrows the rows that LIKE has to look at; which index depends on the database:

SQLite — ``cases_fts``, a contentless FTS5 table with the ``trigram`` tokenizer (``detail=none``, no
    case folding) over ``lower(column)`` followed by two U+0001 characters, keyed by ``cases.rowid``.

    * 3+ characters: every trigram of the string (AND).  Exactly 3 characters is one trigram, an exact
      answer; longer strings are checked with LIKE on the rows found.
    * 1–2 characters: the trigram tokenizer cannot search them, but thanks to the padding every
      occurrence of such a string starts a trigram of its column, so the cases that contain it are
      exactly the documents of the indexed trigrams beginning with it — a range scan of the index's
      vocabulary (``cases_fts_terms``, fts5vocab ``instance``).
    * A string with a control character (U+0000–U+001F, which includes the padding) uses LIKE alone.

    Triggers on ``cases`` keep the index exact for single-row writes.  The bulk loader drops the
    triggers and empties the index before it loads (:func:`suspend_text_index`) and fills it once after
    (:func:`resume_text_index`).  Rows are written with plain INSERT / UPDATE / DELETE (``INSERT OR
    REPLACE`` deletes without firing triggers); VACUUM keeps ``rowid`` and so the index valid.

PostgreSQL — the cases are narrowed by an index, then ILIKE on the three columns joined by newlines
    (``case_search_doc``) decides.  A string with three consecutive letters or digits is narrowed by
    ILIKE on each column, which ``pg_trgm`` GIN indexes serve (pg_trgm indexes words of letters and
    digits; CJK characters are letters under the database's C.UTF-8 ctype).  Every other string (1–2
    characters, punctuation) is narrowed by ``ix_cases_search_grams``, a GIN index of the unigrams and
    bigrams of the lower-cased joined text: cases having the string itself (1–2 characters) or all its
    unigrams and bigrams.  A string with a control character uses ILIKE alone.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from data_access.core.access import clean_text
from data_access.core.schema import cases
from data_access.core.sqlfn import no_index

MAX_SEARCH_LENGTH = 100

SEARCHED_COLUMNS = ("case_no", "title", "description")
_CONTROL = re.compile(r"[\x00-\x1f]")
_TRIGRAM_WORD = re.compile(r"[^\W_]{3}")  # three letters/digits in a row: something pg_trgm can look up
# What a case number looks like: the sources' numbers are letters, the report date and a serial
# (LD20240105000001); a few letters and at least eight digits, whole or a prefix of one, is one.
CASE_NO_SHAPE = re.compile(r"[A-Za-z]{0,4}[0-9]{8,}")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

def looks_like_case_no(text: str | None) -> bool:
    """The search string has the shape of a case number (or of its first part): the workbench then looks for it
    whatever the period (queries/cases.case_no_search)."""
    return CASE_NO_SHAPE.fullmatch(normalise(text)) is not None


# --- SQLite objects ------------------------------------------------------------------------------------

_FTS = table("cases_fts", column("rowid", Integer))
_TERMS = table("cases_fts_terms", column("term", Text), column("doc", Integer))
_CASE_ROWID = column("rowid", Integer, _selectable=cases)
_PAD = "char(1, 1)"  # two U+0001 after each value: every 1–2 character substring starts a trigram


def _fts_values(row: str) -> str:
    """The indexed values of ``row`` (``new``, ``old`` or ``cases``), as SQL: lower-cased and padded."""
    return ", ".join(f"lower({row}.{c}) || {_PAD}" for c in SEARCHED_COLUMNS)


_COLS = ", ".join(SEARCHED_COLUMNS)
_FTS_ADD = f"INSERT INTO cases_fts(rowid, {_COLS}) VALUES (new.rowid, {_fts_values('new')});"
# A contentless table forgets a row when told the values it indexed for it.
_FTS_REMOVE = (f"INSERT INTO cases_fts(cases_fts, rowid, {_COLS}) "
               f"VALUES ('delete', old.rowid, {_fts_values('old')});")
_SQLITE_CREATE = [
    (f"CREATE VIRTUAL TABLE cases_fts USING fts5({_COLS}, content='', detail=none, "
     "tokenize='trigram case_sensitive 1')"),
    "CREATE VIRTUAL TABLE cases_fts_terms USING fts5vocab(cases_fts, instance)",
]
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN {_FTS_ADD} END",
    f"CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN {_FTS_REMOVE} END",
    ("CREATE TRIGGER cases_fts_update AFTER UPDATE ON cases WHEN old.rowid IS NOT new.rowid"
     + "".join(f" OR old.{c} IS NOT new.{c}" for c in SEARCHED_COLUMNS)
     + f" BEGIN {_FTS_REMOVE} {_FTS_ADD} END"),
]
_SQLITE_TRIGGER_NAMES = ("cases_fts_insert", "cases_fts_delete", "cases_fts_update")

# --- PostgreSQL objects --------------------------------------------------------------------------------

_PG_FUNCTIONS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # The three columns as one text (a newline between them); immutable, so it can be indexed.
    ("CREATE OR REPLACE FUNCTION case_search_doc(case_no text, title text, description text) RETURNS text "
     "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
     "$$ SELECT case_no || chr(10) || title || chr(10) || coalesce(description, '') $$"),
    # Unigrams and bigrams of lower(t): the characters, then pairs at even and at odd offsets.
    ("CREATE OR REPLACE FUNCTION case_search_grams(t text) RETURNS text[] "
     "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_remove("
     "string_to_array(lower(t), NULL)"
     " || string_to_array(regexp_replace(lower(t), '(..)', '\\1' || chr(1), 'g'), chr(1))"
     " || string_to_array(regexp_replace(substr(lower(t), 2), '(..)', '\\1' || chr(1), 'g'), chr(1)), '') $$"),
    # Statistics of the joined text, so that the planner knows how common a string is: the first page of a
    # common one walks ix_cases_reported backwards (2 ms), a rare one is read from the index (6 ms); without
    # them every string looked rare and 纠纷 (200k cases) took 520 ms.
    ("CREATE STATISTICS IF NOT EXISTS cases_search_doc_stats "
     "ON (case_search_doc(case_no, title, description)) FROM cases"),
]
# The trigram index of each searched column.  case_no's is on lower(case_no): pg_trgm (≥ 1.6) also serves
# "=" from an index on the bare column, and PostgreSQL then chose it for every case_no lookup and join
# (the workbench's "supervised only" count ran for 11 minutes instead of a tenth of a second).
_PG_TRGM_INDEXES = {"ix_cases_case_no_trgm": "(lower(case_no))", "ix_cases_title_trgm": "title",
                    "ix_cases_description_trgm": "description"}
_PG_GRAMS_INDEX = "ix_cases_search_grams"
# Keys compared bytewise (COLLATE "C"): the same index as with the database collation, built ~25 % faster.
_PG_GRAMS_EXPR = 'case_search_grams(case_search_doc(case_no, title, description)) COLLATE "C"'


def _doc() -> ColumnElement:
    return func.case_search_doc(cases.c.case_no, cases.c.title, cases.c.description, type_=Text)


def _doc_grams() -> ColumnElement:
    """``_PG_GRAMS_EXPR`` as SQLAlchemy, so that PostgreSQL matches it with the index."""
    return func.case_search_grams(_doc(), type_=ARRAY(Text)).collate("C")


# --- the condition -------------------------------------------------------------------------------------

def normalise(text: str | None) -> str:
    """The search string as it is matched: trimmed, inner whitespace collapsed, at most 100 characters, no NUL
    (no stored text can hold one, and PostgreSQL refuses it in a parameter)."""
    return " ".join((text or "").replace("\x00", "").split())[:MAX_SEARCH_LENGTH]


def text_condition(text: str, *, per_row: bool = False, common: bool = False) -> ColumnElement | None:
    """Cases whose number, title or description contains ``text`` (case-insensitive); None for empty text.

    ``per_row``: the same answer, tested on each row the rest of the query reads instead of looked up in
    the index — for a query whose other conditions or index walk read few rows whatever the string (the
    open cases; the first rows of a sort order when the string is common).  On SQLite the index form
    builds the whole set of matching cases first (201,812 for 纠纷, 160–300 ms) even when the query then
    reads 300 rows; PostgreSQL's planner weighs the two itself (statistics of the joined text).

    ``common`` (what :func:`reading_every_match` answered for the string): on SQLite the index's set of matching
    cases is built once and each row the other conditions select is tested against it, instead of the set
    driving the query — each of a common string's matches would then be read from the table at random (the
    count of 纠纷's 72,870 cases in a city's year at 1.07 M: 593 ms that way, 341 ms through the covering index
    of the period, ``ix_cases_reported_cover``, which holds every column a count adds up)."""
    text = normalise(text)
    if not text:
        return None
    like = or_(*(cases.c[c].icontains(text, autoescape=True) for c in SEARCHED_COLUMNS))
    if _CONTROL.search(text):
        return like
    on_sqlite = like if per_row else _sqlite_condition(text, like, common)
    return _PerDialect(on_sqlite, _pg_condition(text, like), like)


# A string the index finds in at least this many cases is common (SQLite, :func:`reading_every_match`): its set of
# matches is tested per row rather than read case by case.  Counting up to it reads at most this many index
# entries (~10 ms at 1.07 M); below it, reading each match from the table costs less than a period's index.
COMMON_MATCHES = 20_000


def reading_every_match(conn: Connection, text: str) -> bool:
    """Call before a query on ``conn`` that reads every case the search ``text`` matches (a count, no LIMIT), and
    pass what it returns as ``common`` to :func:`text_condition` (filters.case_conditions' ``text_common``).

    SQLite: returns whether the index holds ``text`` in at least COMMON_MATCHES cases (counted up to that).

    PostgreSQL: returns False; for the rest of the connection's transaction its planner narrows by bitmap scans
    only.  It multiplies the selectivities of the index condition and the exact ILIKE test, though one implies
    the other, so a common string looks rare (13,000 of 72,704 cases for 纠纷 in the city's last 12 months): it
    then walked ix_cases_reported through the period and computed the unigrams and bigrams of every row that
    passed ILIKE (683 ms for the workbench's count); a bitmap scan ANDs the grams index with the period's
    instead (162 ms).  Bitmap scans serve a rare string as well, and a plain index scan is no help to a query
    that reads every match."""
    if not normalise(text):
        return False
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
        return False
    return is_common(conn, text)


def is_common(conn: Connection, text: str) -> bool:
    """SQLite: the index holds the search ``text`` in at least COMMON_MATCHES cases (counted up to that); then a
    query testing each row it reads finds matches often (elsewhere False: PostgreSQL's planner weighs it itself)."""
    text = normalise(text)
    if conn.dialect.name != "sqlite" or not text or _CONTROL.search(text):
        return False
    found = _sqlite_matches(text)
    if found is None:
        return False
    first = found.limit(COMMON_MATCHES).subquery()
    return conn.execute(select(func.count()).select_from(first)).scalar_one() >= COMMON_MATCHES


def _sqlite_matches(text: str) -> Select | None:
    """The rowids of the cases the index finds for the normalised ``text`` (for 3+ characters a superset that LIKE
    narrows, see the module docstring); None when the index cannot look it up."""
    q = text.translate(_ASCII_LOWER)  # SQLite's lower() and LIKE fold ASCII letters only
    if len(q) <= 2:
        hi = _successor(q)
        if hi is None:
            return None
        return select(_TERMS.c.doc).where(_TERMS.c.term >= q, _TERMS.c.term < hi)
    trigrams = dict.fromkeys(q[i:i + 3] for i in range(len(q) - 2))
    match = " AND ".join('"' + t.replace('"', '""') + '"' for t in trigrams)
    return select(_FTS.c.rowid).where(literal_column("cases_fts").bool_op("MATCH")(bindparam(None, match, Text)))


def _sqlite_condition(text: str, like: ColumnElement, common: bool = False) -> ColumnElement:
    found = _sqlite_matches(text)
    if found is None:
        return like
    # ``common``: +rowid, so that SQLite cannot drive the query from the set (it guesses any IN list small)
    cond = (no_index(_CASE_ROWID) if common else _CASE_ROWID).in_(found)
    exact = len(text) <= 3   # 1–2 characters: the documents of the terms; 3: the one trigram
    return cond if exact else and_(cond, like)


def _successor(s: str) -> str | None:
    """The least string greater than every string that starts with ``s`` (None if there is none)."""
    code = ord(s[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:  # surrogates are not characters
        code = 0xE000
    return None if code > 0x10FFFF else s[:-1] + chr(code)


def _pg_like(text: str) -> ColumnElement:
    """``like`` in the form the pg_trgm indexes serve (case_no through its lower(case_no) index)."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    pattern = literal("%", Text) + func.lower(bindparam(None, escaped, Text)) + literal("%", Text)
    return or_(func.lower(cases.c.case_no).like(pattern, escape="/"),
               cases.c.title.icontains(text, autoescape=True),
               cases.c.description.icontains(text, autoescape=True))


def _pg_condition(text: str, like: ColumnElement) -> ColumnElement:
    if _TRIGRAM_WORD.search(text):
        narrow = _pg_like(text)  # per column, served by the pg_trgm indexes
    else:
        wanted = (array([func.lower(bindparam(None, text, Text))]) if len(text) <= 2
                  else func.case_search_grams(bindparam(None, text, Text), type_=ARRAY(Text)))
        narrow = _doc_grams().bool_op("@>")(wanted)
    # The exact test, on the three columns joined by newlines (a normalised string has no newline, so it
    # matches the joined text exactly when it matches a column).  No index serves it, which is the point:
    # psycopg prepares a statement after 5 runs and PostgreSQL may then plan it without looking at the
    # string; with only ``narrow`` such a generic plan read the first page of a rare string by walking
    # ix_cases_reported backwards (1.8 s at 1.07 M cases), with this filter it keeps the index (15 ms).
    return and_(narrow, _doc().icontains(text, autoescape=True))


class _PerDialect(FunctionElement):
    """``_PerDialect(on_sqlite, on_postgresql, elsewhere)`` renders the condition for the dialect compiling it.

    All three are part of the statement's cache key, so a cached statement is reused only for the same
    shape of condition (the values are bound parameters)."""

    type = Boolean()
    inherit_cache = True
    name = "per_dialect"
    _is_implicitly_boolean = True  # a condition already: no "= 1" on SQLite


def _pick(index: int):
    def render(element: _PerDialect, compiler: Any, **kw: Any) -> str:
        # parenthesised: the chosen condition may be an OR, and the caller ANDs it with others
        return f"({compiler.process(list(element.clauses)[index], **kw)})"
    return render


compiles(_PerDialect, "sqlite")(_pick(0))
compiles(_PerDialect, "postgresql")(_pick(1))
compiles(_PerDialect)(_pick(2))


# --- building and dropping the index -------------------------------------------------------------------

def install_text_search(conn: Connection) -> None:
    """Create the search index and fill it from ``cases`` (migration 0006)."""
    if conn.dialect.name == "sqlite":
        for ddl in _SQLITE_CREATE:
            conn.exec_driver_sql(ddl)
    elif conn.dialect.name == "postgresql":
        # building the GIN indexes of 1 M cases takes longer than the app's statement timeout
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        for ddl in _PG_FUNCTIONS:
            conn.exec_driver_sql(ddl)
    resume_text_index(conn)


def uninstall_text_search(conn: Connection) -> None:
    """Drop everything :func:`install_text_search` created (except the pg_trgm extension)."""
    suspend_text_index(conn)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TABLE IF EXISTS cases_fts_terms")
        conn.exec_driver_sql("DROP TABLE IF EXISTS cases_fts")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP STATISTICS IF EXISTS cases_search_doc_stats")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS case_search_grams(text)")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS case_search_doc(text, text, text)")


def suspend_text_index(conn: Connection) -> bool:
    """Before a bulk load: stop maintaining the index row by row (SQLite: drop the triggers and empty
    the index; PostgreSQL: drop the indexes).  Returns whether the database has the search index."""
    if conn.dialect.name == "sqlite":
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'cases_fts'").first() is None:
            return False
        for name in _SQLITE_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("INSERT INTO cases_fts(cases_fts) VALUES ('delete-all')")
        return True
    if conn.dialect.name == "postgresql":
        if conn.exec_driver_sql("SELECT 1 FROM pg_proc WHERE proname = 'case_search_grams'").first() is None:
            return False
        for name in [*_PG_TRGM_INDEXES, _PG_GRAMS_INDEX]:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        return True
    return False


def resume_text_index(conn: Connection) -> None:
    """After a bulk load (or on install): fill the index from ``cases`` in one pass and maintain it again."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO cases_fts(rowid, {_COLS}) SELECT rowid, {_fts_values('cases')} "
                             "FROM cases")
        conn.exec_driver_sql("INSERT INTO cases_fts(cases_fts) VALUES ('optimize')")
        for ddl in _SQLITE_TRIGGERS:
            conn.exec_driver_sql(ddl)
    elif conn.dialect.name == "postgresql":
        for name, col in _PG_TRGM_INDEXES.items():
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON cases USING gin ({col} gin_trgm_ops)")
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {_PG_GRAMS_INDEX} ON cases "
                             f"USING gin (({_PG_GRAMS_EXPR}))")


# --- a batch's entries, merged once (PostgreSQL) ---------------------------------------------------------
# A GIN index takes a row's entries into its pending list and merges the list into the index when it passes
# gin_pending_list_limit (4 MB): a 10,000-case batch's rows — new versions of 4,000 changed cases included, whose
# text did not change — filled it over and over inside the transaction, each merge walking the index at random
# (4.4 s for 4,000 status changes at 1.07 M cases, 1.2 s without the four indexes).  Within a batch the list may
# grow to BATCH_PENDING_LIST; after the commit one merge per index takes it in sorted order (1.4 s + 1.8 s for the
# same 4,000).  Searches read the pending list as well, so nothing is missing from a search in between.
BATCH_PENDING_LIST = "256MB"


def defer_text_index(conn: Connection) -> None:
    """In a bulk write's transaction (a sync batch): the search indexes' entries wait in their pending lists."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL gin_pending_list_limit = '{BATCH_PENDING_LIST}'")


# the PostgreSQL search indexes, the largest first (its merge takes the longest)
PG_TEXT_INDEXES = (_PG_GRAMS_INDEX, *_PG_TRGM_INDEXES)


def merge_text_index(conn: Connection, name: str) -> None:
    """After that transaction: merge the pending list of the search index ``name`` (one of PG_TEXT_INDEXES) into
    the index, in one pass (ingest/sync.follow_up runs one connection an index)."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("SELECT gin_clean_pending_list(to_regclass(%(name)s)) "
                         "WHERE to_regclass(%(name)s) IS NOT NULL", {"name": name})


# --- the find boxes (grids, teams, units by name or code) ------------------------------------------------

def find_text(text: str | None) -> str:
    """What a find box looks for: the typed text without control characters, trimmed (empty finds nothing)."""
    return clean_text(text).strip()


def contains_any(text: str, *columns: ColumnElement) -> ColumnElement:
    """A row one of whose ``columns`` contains ``text`` as typed (``%`` and ``_`` are literal)."""
    return or_(*(c.contains(text, autoescape=True) for c in columns))


def name_or_code_match(query: Select, text: str, name: ColumnElement, code: ColumnElement, limit: int) -> Select:
    """``query`` narrowed to the rows whose ``name`` or ``code`` contains ``text``: the first ``limit`` by code."""
    return query.where(contains_any(text, name, code)).order_by(code).limit(limit)
