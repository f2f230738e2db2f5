"""Converting, the per-table rules: the checks that span columns or files, for the reference data.

After :mod:`converting` has checked each cell, a file's rule ``row_<table>(row, ok, line)`` checks what
one cell cannot — unique keys, references to rows of earlier files, a region's level — and returns the
row to insert, or None to refuse it (every problem reported with its line and column).  A rule reads the
columns it needs by name, with a getter made once from the contract (:func:`converting.fields`), so a new
contract column moves nothing.

:class:`ReferenceRules` holds the rules of the files the cases refer to (regions, grids, staff, volunteer
teams and activities, departments, categories, idle-asset projects, clean-governance units) and what
they remember for the later files: the keys of each file (:class:`Keys`), each region's level and
parent, each grid's ancestor codes.  The case files' rules extend it: case_rules.py.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from data_access.core.derived import ancestor_codes
from data_access.core.metrics import REGION_LEVELS
from data_access.ingest.converting import fields
from data_access.ingest.reading import Report

_LEVEL_RANK = {lvl: i for i, lvl in enumerate(REGION_LEVELS)}
# the columns each rule reads, by name (one getter per rule, in the order the rule unpacks them)
_region_cols = fields("regions", "code", "level", "parent_code")
_region_level_cols = fields("regions", "level")
_grid_cols = fields("grids", "code", "village_code", "parent_grid_code")
_grid_parent_cols = fields("grids", "parent_grid_code")
_staff_cols = fields("staff", "staff_id", "grid_code", "region_code")
_team_cols = fields("volunteer_teams", "team_code", "region_code", "grid_code")
_activity_cols = fields("volunteer_activities", "team_code")
_department_cols = fields("departments", "code", "region_code")
_category_cols = fields("categories", "code")
_project_cols = fields("asset_projects", "project_code", "region_code")
_project_month_cols = fields("asset_project_months", "project_code", "month")
_unit_cols = fields("clean_units", "unit_code", "region_code")
_unit_review_cols = fields("clean_unit_reviews", "unit_code", "month")


class Keys:
    """Keys of one file: code → first line (negative when that row was refused)."""

    def __init__(self, what: str):
        self.what = what
        self.lines: dict[str, int] = {}
        self.incomplete = False   # the file could not be read to the end: unknown keys are not news

    def add(self, key, line: int, report: Report, column: str) -> bool:
        first = self.lines.get(key)
        if first is not None:
            shown = key if isinstance(key, str) else " / ".join(map(str, key))
            report(line, column, f"duplicate {column} '{shown}' (first on line {abs(first)})")
            return False
        self.lines[key] = line
        return True

    def refuse(self, key) -> None:
        if key in self.lines:
            self.lines[key] = -abs(self.lines[key])

    def check(self, value, line: int, report: Report, column: str) -> bool:
        """True when value is a valid key; reports an unknown one (a refused one is silent)."""
        first = self.lines.get(value)
        if first is None:
            if not self.incomplete:
                report(line, column, f"unknown {self.what} '{value}'")
            return False
        return first > 0

    def __contains__(self, value) -> bool:
        first = self.lines.get(value)
        return first is not None and first > 0

    def __len__(self) -> int:
        return len(self.lines)


class ReferenceRules:
    """The rules of the reference-data files and the keys they leave for the files after them."""

    def __init__(self, report: Report):
        self.report = report
        self.regions = Keys("region")
        self.region_level: dict[str, str] = {}
        self.region_parent: dict[str, str | None] = {}
        self.grids = Keys("grid")
        self.grid_ancestry: dict[str, tuple] = {}
        self.teams = Keys("volunteer team")
        self.departments = Keys("department")
        self.categories = Keys("category")
        self.projects = Keys("asset project")
        self.units = Keys("clean unit")
        # keys of the files nothing else refers to
        self._staff = Keys("staff")
        self._months = Keys("project month")
        self._reviews = Keys("review")
        self._region_rows: list = []
        self._grid_rows: list = []
        # grids known before this file (a batch: the database's), code -> parent grid (None for a grid)
        self.known_grid_parents: dict[str, str | None] = {}
        # the files whose keys other files refer to, by table
        self.keys_of = {"regions": self.regions, "grids": self.grids, "volunteer_teams": self.teams,
                        "departments": self.departments, "categories": self.categories,
                        "asset_projects": self.projects, "clean_units": self.units}

    def rule(self, table: str) -> Callable:
        """The rule of ``table``'s rows: ``rule(row, ok, line) -> row to insert | None``."""
        return getattr(self, "row_" + table)

    def mark_incomplete(self, table: str) -> None:
        """``table``'s file could not be read to the end: a key it lacks is not reported as unknown."""
        keys = self.keys_of.get(table)
        if keys is not None:
            keys.incomplete = True

    def deferred_rows(self, table: str) -> Iterator[tuple]:
        """Rows kept until the whole file was read (self-referencing tables: parents first)."""
        if table == "regions":
            yield from self._finish_regions()
        elif table == "grids":
            yield from self._finish_grids()

    # -- regions and grids: checked row by row, then in order once the file is read ----------------

    def row_regions(self, v: tuple, ok: bool, line: int):
        code, level, parent = _region_cols(v)
        if code is not None and not self.regions.add(code, line, self.report, "code"):
            return
        if not ok:
            self.regions.refuse(code)
            return
        self.region_level[code] = level
        self.region_parent[code] = parent
        self._region_rows.append((line, v))
        return

    def _finish_regions(self):
        report = self.report
        rows, self._region_rows = self._region_rows, []
        rows.sort(key=lambda r: _LEVEL_RANK[_region_level_cols(r[1])])   # parents before children
        for line, v in rows:
            code, level, parent = _region_cols(v)
            if parent is not None:
                plevel = self.region_level.get(parent)
                if plevel is None:
                    if parent not in self.regions.lines:
                        report(line, "parent_code", f"unknown region '{parent}'")
                    self.regions.refuse(code)
                    continue
                if _LEVEL_RANK[plevel] >= _LEVEL_RANK[level]:
                    report(line, "parent_code",
                           f"parent '{parent}' is a {plevel}, not a level above {level}")
                    self.regions.refuse(code)
                    continue
                if parent not in self.regions:   # the parent was refused
                    self.regions.refuse(code)
                    continue
            yield v

    def row_grids(self, v: tuple, ok: bool, line: int):
        code, village, _parent = _grid_cols(v)
        if code is not None and not self.grids.add(code, line, self.report, "code"):
            return
        if village is not None:
            if not self.regions.check(village, line, self.report, "village_code"):
                ok = False
            elif self.region_level[village] != "village":
                self.report(line, "village_code",
                            f"region '{village}' is a {self.region_level[village]}, not a village")
                ok = False
        if not ok:
            self.grids.refuse(code)
            return
        self._grid_rows.append((line, v))
        return

    def _finish_grids(self):
        report = self.report
        parent_of = dict(self.known_grid_parents)
        for _line, row in self._grid_rows:
            code, _village, parent = _grid_cols(row)
            parent_of[code] = parent
        good = []
        for line, row in self._grid_rows:
            code, _village, parent = _grid_cols(row)
            if parent is not None:
                if parent == code:
                    report(line, "parent_grid_code", "a grid cannot belong to itself")
                elif parent not in parent_of and parent not in self.grids.lines:
                    report(line, "parent_grid_code", f"unknown grid '{parent}'")
                elif parent not in parent_of:
                    pass   # the parent row was refused and reported already
                elif parent_of[parent] is not None:
                    report(line, "parent_grid_code",
                           f"'{parent}' is itself a micro-grid; a micro-grid belongs to a grid")
                else:
                    good.append(row)
                    continue
                self.grids.refuse(code)
                continue
            good.append(row)
        self._grid_rows = []
        good.sort(key=lambda r: _grid_parent_cols(r) is not None)   # grids before micro-grids
        for row in good:
            code, village, parent = _grid_cols(row)
            if parent is not None and parent not in self.grids:
                self.grids.refuse(code)
                continue
            self.grid_ancestry[code] = self._ancestry(code, village, parent)
            yield row

    def _ancestry(self, grid: str, village: str, parent_grid: str | None) -> tuple:
        """The grid's ancestor-code columns (derived.ancestor_codes)."""
        chain = []
        code = village
        while code is not None:
            chain.append((self.region_level[code], code))
            code = self.region_parent.get(code)
        return ancestor_codes(chain, grid, parent_grid)

    # -- the other reference files ----------------------------------------------------------------

    def row_staff(self, v: tuple, ok: bool, line: int):
        report = self.report
        staff_id, grid, region = _staff_cols(v)
        if staff_id is not None and not self._staff.add(staff_id, line, report, "staff_id"):
            return None
        if grid is None and region is None:
            report(line, "grid_code", "one of grid_code and region_code must be set")
            ok = False
        if grid is not None and not self.grids.check(grid, line, report, "grid_code"):
            ok = False
        if region is not None and not self.regions.check(region, line, report, "region_code"):
            ok = False
        return v if ok else None

    def row_volunteer_teams(self, v: tuple, ok: bool, line: int):
        report = self.report
        team, region, grid = _team_cols(v)
        if team is not None and not self.teams.add(team, line, report, "team_code"):
            return None
        if region is not None and not self.regions.check(region, line, report, "region_code"):
            ok = False
        if grid is not None and not self.grids.check(grid, line, report, "grid_code"):
            ok = False
        if not ok:
            self.teams.refuse(team)
            return None
        return v

    def row_volunteer_activities(self, v: tuple, ok: bool, line: int):
        team = _activity_cols(v)
        if team is not None and not self.teams.check(team, line, self.report, "team_code"):
            ok = False
        return v if ok else None

    def row_departments(self, v: tuple, ok: bool, line: int):
        report = self.report
        code, region = _department_cols(v)
        if code is not None and not self.departments.add(code, line, report, "code"):
            return None
        if region is not None and not self.regions.check(region, line, report, "region_code"):
            ok = False
        if not ok:
            self.departments.refuse(code)
            return None
        return v

    def row_categories(self, v: tuple, ok: bool, line: int):
        code = _category_cols(v)
        if code is not None and not self.categories.add(code, line, self.report, "code"):
            return None
        if not ok:
            self.categories.refuse(code)
            return None
        return v

    def row_asset_projects(self, v: tuple, ok: bool, line: int):
        report = self.report
        code, region = _project_cols(v)
        if code is not None and not self.projects.add(code, line, report, "project_code"):
            return None
        if region is not None and self.regions.check(region, line, report, "region_code"):
            if self.region_level[region] not in ("city", "county", "township"):
                report(line, "region_code",
                       f"region '{region}' is a {self.region_level[region]}; "
                       "a project lies in a city, county or township")
                ok = False
        elif region is not None:
            ok = False
        if not ok:
            self.projects.refuse(code)
            return None
        return v

    def row_asset_project_months(self, v: tuple, ok: bool, line: int):
        report = self.report
        code, month = _project_month_cols(v)
        if code is not None and not self.projects.check(code, line, report, "project_code"):
            ok = False
        if code is not None and month is not None \
                and not self._months.add((code, month), line, report, "month"):
            ok = False
        return v if ok else None

    def row_clean_units(self, v: tuple, ok: bool, line: int):
        report = self.report
        code, region = _unit_cols(v)
        if code is not None and not self.units.add(code, line, report, "unit_code"):
            return None
        if region is not None and not self.regions.check(region, line, report, "region_code"):
            ok = False
        if not ok:
            self.units.refuse(code)
            return None
        return v

    def row_clean_unit_reviews(self, v: tuple, ok: bool, line: int):
        report = self.report
        code, month = _unit_review_cols(v)
        if code is not None and not self.units.check(code, line, report, "unit_code"):
            ok = False
        if code is not None and month is not None \
                and not self._reviews.add((code, month), line, report, "month"):
            ok = False
        return v if ok else None
