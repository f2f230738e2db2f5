"""Free-text search over case number, title and description: the one place that turns a search string
into a WHERE condition on ``cases``.

The string is always a bound parameter (never spliced into SQL), and ``%``/``_`` are escaped, so quotes,
wildcards, SQL fragments and markup are searched for literally.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from .schema import cases

MAX_SEARCH_LENGTH = 100


def normalise(text: str | None) -> str:
    """The search string as it is matched: trimmed, inner whitespace collapsed, at most 100 characters."""
    return " ".join((text or "").split())[:MAX_SEARCH_LENGTH]


def text_condition(text: str) -> ColumnElement | None:
    """Cases whose number, title or description contains ``text`` (case-insensitive); None for empty text."""
    text = normalise(text)
    if not text:
        return None
    return or_(
        cases.c.case_no.icontains(text, autoescape=True),
        cases.c.title.icontains(text, autoescape=True),
        cases.c.description.icontains(text, autoescape=True),
    )
