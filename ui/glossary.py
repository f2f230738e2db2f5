"""The definitions glossary of the help page (pages/help.py).

Each definition is the ``help.*`` text that the pages show in the ⓘ beside their numbers (ui/i18n.py): one
definition, never a second copy.  Here only which term names it and under which heading it is listed.  A
``help.*`` key not listed here still appears, under "Other", so the glossary is never missing a definition;
give it a term below when you add one.
"""
from __future__ import annotations

from . import i18n

# (heading key, ((help key, term key), …)) in the order of the page
GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("guide.gloss.cases", (
        ("help.cases", "ov.kpi.cases"),
        ("help.closed", "ov.kpi.closed"),
        ("help.closure_rate", "ov.kpi.closure_rate"),
        ("help.on_time_rate", "ov.kpi.on_time_rate"),
        ("help.open", "ov.kpi.open"),
        ("help.open_overdue", "ov.kpi.open_overdue"),
        ("help.overdue", "guide.term.overdue"),
        ("help.overdue_by", "guide.term.overdue_by"),
        ("help.median_hours", "ov.kpi.median_hours"),
        ("help.on_the_spot", "ov.kpi.on_the_spot"),
        ("help.response_rate", "ov.kpi.response_rate"),
        ("help.resolution_rate", "ov.kpi.resolution_rate"),
        ("help.satisfaction_rate", "ov.kpi.satisfaction_rate"),
        ("help.siblings", "guide.term.siblings"),
    )),
    ("guide.gloss.workbench", (
        ("help.wb.found", "wb.kpi.found"),
        ("help.wb.closure_rate", "ov.kpi.closure_rate"),
        ("help.wb.overdue", "wb.kpi.overdue"),
        ("help.wb.median_hours", "wb.kpi.median_hours"),
    )),
    ("guide.gloss.staffing", (
        ("help.stf.grids", "stf.kpi.grids"),
        ("help.stf.micro_grids", "stf.kpi.micro_grids"),
        ("help.stf.staff", "stf.kpi.staff"),
        ("help.stf.workers", "stf.kpi.workers"),
        ("help.stf.coverage", "stf.kpi.coverage"),
        ("help.stf.residents_per_worker", "stf.kpi.residents_per_worker"),
        ("help.stf.households_per_worker", "stf.kpi.households_per_worker"),
        ("help.stf.party_share", "stf.kpi.party_share"),
        ("help.stf.median", "stf.work.median"),
        ("help.stf.overloaded", "stf.flag.overloaded"),
        ("help.stf.quiet", "stf.flag.quiet"),
        ("help.stf.no_worker", "stf.flag.no_worker"),
        *((f"help.stf.gap.{gap}", f"stf.gapcard.{gap}") for gap in (
            "township_no_chief", "grid_no_leader", "grid_no_worker", "grid_no_liaison", "micro_no_leader",
            "village_no_team")),
        ("help.stf.card.households", "stf.col.households"),
        ("help.stf.card.population", "stf.col.population"),
        ("help.stf.card.micro", "stf.card.micro"),
        ("help.stf.card.teams", "stf.card.teams"),
    )),
    ("guide.gloss.volunteers", (
        ("help.vol.teams", "vol.kpi.teams"),
        ("help.vol.members", "vol.kpi.members"),
        ("help.vol.per_1000", "vol.kpi.per_1000"),
        ("help.vol.activities", "vol.kpi.activities"),
        ("help.vol.participants", "vol.kpi.participants"),
        ("help.vol.person_hours", "vol.kpi.person_hours"),
        ("help.vol.inactive", "vol.kpi.inactive"),
        ("help.vol.card.members", "vol.card.members"),
        ("help.vol.card.leader", "vol.card.leader"),
        ("help.vol.card.founded", "vol.card.founded"),
        ("help.vol.card.last", "vol.card.last"),
    )),
    ("guide.gloss.assets", (
        ("help.ast.projects", "ast.kpi.projects"),
        ("help.ast.operating", "ast.kpi.operating"),
        ("help.ast.not_operating", "ast.kpi.not_operating"),
        ("help.ast.investment", "ast.kpi.investment"),
        ("help.ast.revenue_to_date", "ast.kpi.revenue_to_date"),
        ("help.ast.revenue_period", "ast.kpi.revenue_period"),
        ("help.ast.shortfall", "ast.kpi.shortfall"),
        ("help.ast.card.quantity", "ast.col.quantity"),
        ("help.ast.card.investment", "ast.col.investment"),
        ("help.ast.card.revenue_to_date", "ast.col.revenue_to_date"),
        ("help.ast.card.status", "ast.col.status"),
    )),
)

# What a definition's placeholders read as in the glossary, where no page has chosen a value: the symbols the
# glossary's caption explains (the multiples k and q of the workload flags, N days for inactive teams).
SYMBOLS = {"k": "k", "q": "q", "days": "N"}


class _Symbols(dict):
    def __missing__(self, key: str) -> str:  # a placeholder of a definition added later: its own name
        return key


def help_keys() -> list[str]:
    """Every definition of the catalog, in catalog order."""
    return [k for k in i18n.CATALOG if k.startswith("help.")]


def definition(help_key: str, lang: str) -> str:
    """The text of ``help_key`` in ``lang``, placeholders shown as symbols."""
    entry = i18n.CATALOG[help_key]
    return (entry.get(lang) or entry[i18n.DEFAULT_LANG]).format_map(_Symbols(SYMBOLS))


def sections() -> list[tuple[str, list[tuple[str | None, str]]]]:
    """[(heading key, [(term key or None, help key), …]), …]: the groups above, then every other ``help.*`` key
    of the catalog under "Other" (no term)."""
    listed = {h for _, items in GROUPS for h, _ in items}
    out: list[tuple[str, list[tuple[str | None, str]]]] = [
        (heading, [(term, h) for h, term in items if h in i18n.CATALOG]) for heading, items in GROUPS]
    other = [(None, k) for k in help_keys() if k not in listed]
    if other:
        out.append(("guide.gloss.other", other))
    return out
