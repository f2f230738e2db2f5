"""The province dataset (issue 24): Hunan's 14 cities on their real divisions, as a province-level centre sees them.

``generate_province`` (called by generator.generate for the scales ``province``, 15 M cases, and ``province-1m``,
1,071,000 cases) writes the same interchange format as the city sample, on every division of 湖南省
(reference/hunan_divisions.csv, 31,691 rows: the province 430000 as the one root, 14 cities under it):

- **grids in every village**, in proportion to 娄底市's (9,708 grids on its 2,107 villages: 娄底市 keeps exactly
  its own structure; a city of v villages gets round(9,708 × v / 2,107)), with the city generator's staff
  (a grid leader, a worker, a liaison per grid; a chief per township) and volunteer teams;
- **cases spread over the cities by population-like weights** (CITY_WEIGHT: the cities' resident populations of
  the 2020 census in 10,000s, rounded; used only as weights), within a city by its grids' population, each city
  with the city generator's timelines, supervision orders and case log;
- what belongs to one place stays there: the micro-grids (新化县) and the 屋场会 meetings (涟源市) in 娄底市, the
  idle-asset projects in 岳阳市, the clean units in 娄星区, the early-warning and duplicate ground truth
  (ground_truth.json) in 娄底市; the integrity anomalies (fast closures, reopened cases, closures without
  feedback, re-reports) in every city, at the same shares.

**Memory is bounded by the largest city, not the province**: each city's cases are drawn, written (cases.csv,
supervisions.csv, case_events.csv, appended) and dropped before the next city's (长沙市, the largest, holds 15 %
of the cases: 2.3 M at the ``province`` scale).  Case numbers carry the city (``CS20260101000001``); staff and
supervision ids run on across the cities.  Every city draws from its own stream (seed, city code): the same
(scale, seed, as_of) gives byte-identical files.  The other twelve cities have no polygons: their grids have no
coordinates (reference/SOURCES.md, section 3).

``_village_step`` (tests only) keeps every n-th village of each city as a grid village: a small province whose
structure loads in seconds; the region tree is always the whole province.
"""
from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path

import numpy as np

from . import generator as g
from .ground_truth import GROUND_TRUTH
from .injection import INJECT_SEED_OFFSET, Injection

PROVINCE = "430000"
LOUDI_VILLAGES = 2_107
# the cities' resident populations, 2020 census, in 10,000s (rounded): weights of the cases and households only
CITY_WEIGHT = {
    "430100": 1005, "430200": 390, "430300": 273, "430400": 665, "430500": 656, "430600": 505, "430700": 528,
    "430800": 152, "430900": 385, "431000": 467, "431100": 529, "431200": 459, "431300": 383, "433100": 249,
}
# two letters per city at the head of its case numbers (LD: the city sample's own), and of its team codes
CITY_ABBR = {
    "430100": "CS", "430200": "ZZ", "430300": "XT", "430400": "HY", "430500": "SY", "430600": "YY", "430700": "CD",
    "430800": "ZJ", "430900": "YI", "431000": "CZ", "431100": "YZ", "431200": "HH", "431300": "LD", "433100": "XX",
}
POLYGONS = {g.LOUDI: "loudi_counties.geojson", g.YUEYANG: "yueyang_counties.geojson"}


def read_province() -> list[dict]:
    """reference/hunan_divisions.csv: the province row (no parent) and every division below it."""
    with open(g.REFERENCE_DIR / "hunan_divisions.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _city_of(code: str) -> str:
    return code[:4] + "00"


def _city_context(base: g._Context, city: str, rows: list[dict], region_name: dict[str, str], n_cases: int,
                  n_acts: int, step: int) -> g._Context:
    """The city generator's context for one city of the province: its counties, townships and grid villages, and
    its structure's sizes in proportion to 娄底市's."""
    ctx = copy.copy(base)
    ctx.city_code, ctx.n_cases, ctx.n_acts = city, n_cases, n_acts
    ctx.region_name = region_name
    ctx.counties = [r["code"] for r in rows if r["level"] == "county"]
    ctx.townships = [r["code"] for r in rows if r["level"] == "township"]
    vill = [r for r in rows if r["level"] == "village"]
    all_villages = len(vill)
    vill = vill[::step]
    ctx.v_code = [r["code"] for r in vill]
    ctx.v_short = [g._short_name(r["name"]) for r in vill]
    ctx.v_urban = np.array([s.endswith("社区") for s in ctx.v_short])
    t_index = {c: i for i, c in enumerate(ctx.townships)}
    c_index = {c: i for i, c in enumerate(ctx.counties)}
    ctx.v_town = np.array([t_index[r["parent_code"]] for r in vill], dtype=np.int64)
    ctx.t_county = np.array([c_index[c[:6]] for c in ctx.townships], dtype=np.int64)
    ctx.v_county = ctx.t_county[ctx.v_town]
    nv = len(vill)
    n_grids = g.N_GRIDS if (city == g.LOUDI and step == 1) else max(nv, round(g.N_GRIDS * nv / LOUDI_VILLAGES))
    ctx.n_grids = n_grids
    ctx.n_active_workers = n_grids - 15 + round((g.N_ACTIVE_WORKERS - g.N_GRIDS + 15) * n_grids / g.N_GRIDS)
    ctx.n_teams = n_grids + round((g.N_TEAMS - g.N_GRIDS) * n_grids / g.N_GRIDS)
    ctx.households = round(g.LOUDI_HOUSEHOLDS * CITY_WEIGHT[city] / CITY_WEIGHT[g.LOUDI] * nv / all_villages)
    ctx.county_polygons = POLYGONS.get(city)
    abbr = CITY_ABBR[city]
    ctx.case_prefix = abbr
    ctx.team_prefix, ctx.team_brand = ("LDH", "娄底红") if city == g.LOUDI else (abbr + "V", "")
    return ctx


def generate_province(out_dir: Path, scale: str, seed: int = 20231008, as_of: dt.date | None = None,
                      progress: g.Progress | None = None, *, _n_cases: int | None = None,
                      _n_activities: int | None = None, _village_step: int = 1,
                      _cities: tuple[str, ...] | None = None) -> dict[str, int]:
    """Write the province dataset of ``scale`` into ``out_dir``; return the number of data rows per file.

    ``_cities`` (measurements only: the time and memory of the largest city at the 15 M scale) writes those
    cities' grids, staff, teams and cases only, with the shares they have in the whole province."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    as_of = as_of or g.today_shanghai()
    n_cases, n_acts = g.SCALES[scale]
    n_cases = n_cases if _n_cases is None else _n_cases
    n_acts = n_acts if _n_activities is None else _n_activities
    prog = progress or (lambda f, m: None)
    w = g._Writer(out_dir, append=True)
    base = g._Context(as_of, n_cases, n_acts, scale)

    rows = read_province()
    region_name = {r["code"]: r["name"] for r in rows}
    w.write("regions.csv", ["code", "name", "level", "parent_code"],
            [[r["code"], r["name"], r["level"], r["parent_code"]] for r in rows])
    cities = [r["code"] for r in rows if r["level"] == "city"]
    by_city: dict[str, list[dict]] = {c: [] for c in cities}
    for r in rows:
        if r["level"] not in ("province", "city"):
            by_city[_city_of(r["code"])].append(r)
    weights = np.array([CITY_WEIGHT[c] for c in cities], dtype=float)
    city_cases = g._apportion(weights, n_cases)
    n_villages = np.array([sum(r["level"] == "village" for r in by_city[c]) for c in cities], dtype=float)
    city_acts = g._apportion(n_villages, n_acts)

    kept: dict[str, g._Context] = {}
    staff_next = sup_next = 0
    done_cases = 0
    for i, city in enumerate(cities):
        if _cities is not None and city not in _cities:
            continue
        rngs = np.random.default_rng([seed, int(city)]).spawn(12)
        ctx = _city_context(base, city, by_city[city], region_name, int(city_cases[i]), int(city_acts[i]),
                            _village_step)
        ctx.staff_first, ctx.supervision_first = staff_next, sup_next
        label = f"{region_name[city]} ({i + 1}/{len(cities)})"
        prog(0.9 * done_cases / max(1, n_cases), f"{label}: grids, staff, teams")
        g._grids(ctx, w, rngs[0])
        g._staff(ctx, w, rngs[1])
        staff_next += ctx.staff_written
        g._teams(ctx, w, rngs[2])
        g._departments_categories(ctx, _Only(w, "departments.csv"))
        inject = None
        if city == g.LOUDI:  # the early-warning and duplicate ground truth: in 娄底市, as in the city sample
            inject = Injection(np.random.default_rng(seed + INJECT_SEED_OFFSET), sources=g.SOURCES,
                               spring_festival=g.SPRING_FESTIVAL, names=g._names, phones=g._phones)
        prog(0.9 * done_cases / max(1, n_cases), f"{label}: {ctx.n_cases:,} cases")
        # each city's anomalies and extension requests from its own stream
        anomaly_rng = np.random.default_rng([seed + g.ANOMALY_SEED_OFFSET, int(city)])
        cases, sup = g.case_files(ctx, w, rngs, inject, anomaly_rng, seed + int(city), lambda f, m: None)
        sup_next += len(sup["case"])
        if inject is not None:
            inject.write(out_dir / GROUND_TRUTH, ctx, cases, seed)
        del cases, sup
        done_cases += ctx.n_cases
        if city in (g.LOUDI, g.YUEYANG):
            kept[city] = ctx
    # the categories are the same everywhere: written once (each city's departments were appended above)
    g._departments_categories(ctx, _Only(w, "categories.csv"))  # (the last city's context: any would do)
    prog(0.95, "asset projects (岳阳市), clean units (娄星区)")
    if g.YUEYANG in kept:
        yy = kept[g.YUEYANG]
        yy.yueyang = by_city[g.YUEYANG]
        g._assets(yy, w, np.random.default_rng([seed, int(g.YUEYANG), 3]))
    if g.LOUDI in kept:
        g._clean_units(kept[g.LOUDI], w, np.random.default_rng([seed, int(g.LOUDI), 4]))
    prog(1.0, "done")
    return dict(w.counts)


class _Only:
    """A writer that passes one file on and drops the others (the departments are written per city, the
    categories once, by the same function of the city generator)."""

    def __init__(self, w: g._Writer, fname: str):
        self.w, self.fname = w, fname

    def write(self, fname: str, header: list[str], rows) -> int:
        return self.w.write(fname, header, rows) if fname == self.fname else 0
