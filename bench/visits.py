"""The one list of what "every page" means to the benchmarks: each page and view of the app, as a URL path
and query string, opened by a city-wide leader with the frame's default period (last 12 months).

Used by the whole-page render benchmark (AppTest), the peak-RSS visit of a real ``streamlit run`` and the
concurrent-session benchmark, so that all three measure the same pages.  ``samples(url)`` picks a case, grid,
team and clean unit that exist in the dataset (the idle-asset project is the sample's 洞庭湖小镇).
"""
from __future__ import annotations

from dataclasses import dataclass

from ui.views import PAGE_VIEWS

LOUXING = "431302"
YUEYANG = "430600"
PROJECT = "YY-DTNL-01"


# The views of each page that has several (``?view=…``), in the order of its switch (ui/views.py).
VIEWS: dict[str, tuple[str, ...]] = {page: tuple(icons) for page, icons in PAGE_VIEWS.items()}


@dataclass(frozen=True)
class Visit:
    page: str  # the file under pages/ (without .py)
    path: str  # the URL path (st.Page url_path)
    label: str
    query: dict[str, str]

    @property
    def query_string(self) -> str:
        from urllib.parse import urlencode

        return urlencode(self.query)


def samples(url: str) -> dict[str, str]:
    """Codes of things to open: a recent case of 娄星区, a grid with micro-grids, a team and a clean unit."""
    from sqlalchemy import func, select

    from data_access.core.db import get_engine
    from data_access.core.schema import cases, clean_units, grids, volunteer_teams

    with get_engine(url).connect() as conn:
        case_no = conn.execute(select(cases.c.case_no).where(cases.c.county_code == LOUXING)
                               .order_by(cases.c.reported_at.desc()).limit(1)).scalar()
        grid = conn.execute(select(grids.c.parent_grid_code).where(grids.c.parent_grid_code.is_not(None))
                            .group_by(grids.c.parent_grid_code).order_by(func.count().desc(),
                                                                         grids.c.parent_grid_code).limit(1)).scalar()
        team = conn.execute(select(volunteer_teams.c.team_code).order_by(volunteer_teams.c.team_code)
                            .limit(1)).scalar()
        unit = conn.execute(select(clean_units.c.unit_code).order_by(clean_units.c.unit_code).limit(1)).scalar()
    return {"case": case_no or "", "grid": grid or "", "team": team or "", "unit": unit or ""}


def every_page(s: dict[str, str]) -> list[Visit]:
    """Every page and view, in the order of the navigation."""
    v = [Visit("overview", "overview", "overview, city", {}),
         Visit("overview", "overview", "overview, 娄星区", {"region": LOUXING}),
         Visit("cases", "cases", "case list, city", {}),
         Visit("cases", "cases", "case list, open overdue, most overdue first", {"overdue": "open", "sort": "overdue_desc"}),
         Visit("cases", "cases", "free-text search 纠纷", {"q": "纠纷"}),
         Visit("cases", "cases", "a case opened", {"case": s["case"]})]
    v += [Visit("supervision", "supervision", f"supervision: {view}", {"view": view})
          for view in VIEWS["supervision"]]
    v += [Visit("warnings", "warnings", "early warnings, city", {})]
    v += [Visit("staffing", "staffing", f"staffing: {view}", {"view": view})
          for view in VIEWS["staffing"]]
    v += [Visit("staffing", "staffing", "grid card", {"region": s["grid"]})]
    v += [Visit("volunteers", "volunteers", f"volunteers: {view}", {"view": view})
          for view in VIEWS["volunteers"]]
    v += [Visit("volunteers", "volunteers", "team card", {"team": s["team"]})]
    v += [Visit("assets", "assets", f"assets (岳阳市): {view}", {"view": view, "region": YUEYANG})
          for view in VIEWS["assets"]]
    v += [Visit("assets", "assets", "project card", {"project": PROJECT, "region": YUEYANG})]
    v += [Visit("clean_units", "clean", f"clean units: {view}", {"view": view})
          for view in VIEWS["clean"]]
    v += [Visit("clean_units", "clean", "clean unit history", {"unit": s["unit"], "region": LOUXING})]
    v += [Visit("audit", "audit", "audit log", {})]
    return v
