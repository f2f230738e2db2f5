"""The one translation catalog.  Chinese first; English on request.

The strings live in ``ui/catalog/*.toml``, one file per area of the UI, named after (or grouping) the keys' first
segment: ``ov.*`` in overview.toml, ``stf.*`` in staffing.toml… (each file's header lists its prefixes).  Every key
is a table with both languages; loading fails, naming the file and the key, on a key in two files, a key without
both languages or one with an unknown language, and a test fails if the code uses a key that is not here.
Enumerated codes from the data (statuses, levels, sources…) are translated through the ``enum.<kind>.<code>``
keys (enum.toml).
"""
from __future__ import annotations

import tomllib
from pathlib import Path

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
CATALOG_DIR = Path(__file__).with_name("catalog")


class CatalogError(ValueError):
    """A catalog file that cannot be used as it stands; the message names the file and the key."""


def load_catalog(directory: Path = CATALOG_DIR) -> dict[str, dict[str, str]]:
    """key → {"zh": …, "en": …} from every ``*.toml`` in ``directory`` (files in name order, keys in file order)."""
    files = sorted(Path(directory).glob("*.toml"))
    if not files:
        raise CatalogError(f"no catalog files (*.toml) in {directory}")
    catalog: dict[str, dict[str, str]] = {}
    origin: dict[str, str] = {}
    for path in files:
        try:
            with path.open("rb") as fh:
                entries = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"{path.name}: {exc}") from exc
        for key, entry in entries.items():
            where = f"{path.name}: key {key!r}"
            if key in origin:
                raise CatalogError(f"{where} is also in {origin[key]}")
            if not isinstance(entry, dict):
                raise CatalogError(f"{where} is not a table of languages")
            unknown = sorted(set(entry) - set(LANGS))
            if unknown:
                nested = any(isinstance(v, dict) for v in entry.values())  # [a.b] unquoted: a table "a" of "b"
                hint = ' (a dotted key needs quotes: ["a.b"])' if nested else ""
                raise CatalogError(f"{where} has an unknown language {', '.join(unknown)}{hint}")
            missing = [lang for lang in LANGS if not isinstance(entry.get(lang), str) or not entry[lang]]
            if missing:
                raise CatalogError(f"{where} lacks {', '.join(missing)}")
            catalog[key] = entry
            origin[key] = path.name
    return catalog


CATALOG: dict[str, dict[str, str]] = load_catalog()


def translate(key: str, lang: str = DEFAULT_LANG, **kwargs) -> str:
    """The text of ``key`` in ``lang`` (falls back to Chinese, then to the key itself)."""
    entry = CATALOG.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get(DEFAULT_LANG) or key
    return text.format(**kwargs) if kwargs else text
