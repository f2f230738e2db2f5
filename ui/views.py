"""The views of each page that has several (``?view=…``), in the order of the page's switch, with their icons:
the one list the pages, the help page, the browser tests and the benchmarks read.  Keyed by the page's URL path."""
from __future__ import annotations

PAGE_VIEWS: dict[str, dict[str, str]] = {
    "supervision": {
        "backlog": ":material/hourglass_bottom:",
        "steps": ":material/timer:",
        "departments": ":material/apartment:",
        "bounces": ":material/sync_problem:",
        "orders": ":material/gavel:",
        "integrity": ":material/fact_check:",
        "ranking": ":material/leaderboard:",
    },
    "staffing": {
        "regions": ":material/groups:",
        "structure": ":material/account_tree:",
        "workload": ":material/work_history:",
        "find": ":material/search:",
    },
    "volunteers": {
        "overview": ":material/volunteer_activism:",
        "activities": ":material/event_note:",
        "teams": ":material/diversity_3:",
    },
    "assets": {
        "portfolio": ":material/domain:",
        "money": ":material/payments:",
        "visitors": ":material/groups:",
        "projects": ":material/list_alt:",
    },
    "clean": {
        "ranking": ":material/leaderboard:",
        "units": ":material/domain:",
        "months": ":material/calendar_month:",
    },
}


def view_icons(page: str) -> dict[str, str]:
    """View → icon of ``page`` (its URL path), in the order of its switch."""
    return PAGE_VIEWS[page]
