"""Deterministic sample data in the interchange format (see DATA_CONTRACT.md).

``generate(out_dir, scale, seed, as_of)`` writes one dataset folder: every CSV
file of the contract, optional ones included, and ``ground_truth.json``: the
surges, the silent grid and the duplicate groups put in on purpose
(sample_data/injection.py; read with sample_data.ground_truth.read).  Same
(scale, seed, as_of) gives byte-identical files.  Structure (regions, grids,
staff, teams, departments, categories, asset projects, clean units) does not
depend on the scale; only the number of cases, events, supervisions and
volunteer activities does.

Times are handled as int64 seconds since 1970-01-01 *in Asia/Shanghai local
time* and written as ``YYYY-MM-DDTHH:MM:SS+08:00``.  -1 means "no timestamp".
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import vocab
from .extensions import write_extensions
from .ground_truth import GROUND_TRUTH  # written beside the dataset (sample_data/injection.py)
from .injection import DUP_WINDOW_DAYS, INJECT_SEED_OFFSET, Injection

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

SCALES = {
    # cases, volunteer activities
    "demo": (50_000, 30_000),
    "100k": (100_000, 150_000),  # benchmark growth curve: cases only vary, the rest is the full scale's
    "full": (1_071_000, 150_000),
    "5m": (5_000_000, 150_000),  # a province's volume on one city's divisions (benchmark only)
    # Hunan's 14 cities on their real divisions (issue 24; sample_data/province.py): a province-level centre's
    # volume, and the full scale's number of cases spread over the province (to compare with "full")
    "province": (15_000_000, 2_100_000),
    "province-1m": (1_071_000, 150_000),
}
PROVINCE_SCALES = ("province", "province-1m")
LOUDI, YUEYANG = "431300", "430600"
XINHUA, LIANYUAN, LOUXING = "431322", "431382", "431302"
N_GRIDS = 9_708
N_ACTIVE_WORKERS = 9_721
N_TEAMS = 9_905
N_MICRO = 3_000
LIANYUAN_MEETING_FULL = 17_300
FULL_CASES = 1_071_000
LOUDI_HOUSEHOLDS = 1_607_000

STATUSES = ["reported", "accepted", "dispatched", "handling", "feedback", "closed"]
LEVELS = ["grid", "village", "township", "county", "city"]
SOURCES = ["patrol", "hotline", "walk_in", "online", "meeting", "petition", "other"]
SOURCE_P = [0.45, 0.15, 0.12, 0.12, 0.08, 0.05, 0.03]
ACTIONS = ["report", "accept", "dispatch", "return", "reassign", "escalate", "supervise", "note",
           "handle", "feedback", "close", "reopen"]
A = {a: i for i, a in enumerate(ACTIONS)}
# order of events that share a timestamp (returns/re-dispatches get 21..24 by bounce number)
TIEBREAK = {"report": 0, "accept": 10, "dispatch": 20, "reassign": 40, "escalate": 50, "supervise": 60,
            "note": 70, "handle": 80, "feedback": 90, "close": 100, "return": 21, "reopen": 105}
NA = -1
DAY = 86_400
HOUR = 3_600
EVENT_CHUNK = 150_000  # cases per chunk when writing case_events.csv
# Anomalies for the supervision centre's integrity checks (data_access/core/metrics.py), as shares of closed cases.
ANOMALY_SEED_OFFSET = 7_919
FAST_CLOSE_SHARE = 0.003  # of closed cases not settled on the spot: every step done within the hour
REOPEN_SHARE = 0.002  # closed, reopened, closed again (events; the columns show the final state)
REREPORT_SHARE = 0.005  # a later case in the same grid and category by the same reporter within 30 days
NO_FEEDBACK_SHARE = 0.005  # of closed cases not settled on the spot: closed without the feedback step
REPEAT_ORDER_SHARE = 0.15  # of supervision orders still unmet at their deadline: a second, sterner order
REREPORT_DAYS = 30
# Cases that drag on (see _cases): a share of the late ones, and long-running land and demolition disputes.
DRAG_SHARE = 0.9  # of cases late at all (scaled by the week's case volume: busy weeks drag more)
# the wait beyond the time limit, in time limits: a blocked sewer drags for days, a land dispute for months
DRAG_MEDIAN_LIMITS, DRAG_SIGMA, DRAG_MAX_LIMITS, DRAG_MAX_DAYS = 8.0, 1.0, 30.0, 240
LONG_RUN_CATEGORIES = ("land_forest", "demolition")
LONG_RUN_SHARE = 0.008  # of those categories' cases not settled on the spot
LONG_RUN_DAYS = (90, 540)
# Clean units' monthly scores (see _clean_units): standing drift and noise, and the share of real moves a month.
CLEAN_DRIFT, CLEAN_NOISE, CLEAN_MOVE_SHARE, CLEAN_MOVE_SD = 0.4, 0.8, 0.02, 5.0

# Spring Festival dates (for the January/February peak).
SPRING_FESTIVAL = {
    2019: (2, 5), 2020: (1, 25), 2021: (2, 12), 2022: (2, 1), 2023: (1, 22), 2024: (2, 10), 2025: (1, 29),
    2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13), 2030: (2, 3), 2031: (1, 23), 2032: (2, 11),
}

Progress = Callable[[float, str], None]


# --------------------------------------------------------------------------- helpers
def today_shanghai() -> dt.date:
    try:
        from zoneinfo import ZoneInfo
        return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    except (ImportError, KeyError, OSError):  # no tz database (ZoneInfoNotFoundError is a KeyError): UTC+8 has no DST
        return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).date()


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _epoch(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days * DAY


def _ts(sec: np.ndarray) -> list[str]:
    """int64 local seconds -> 'YYYY-MM-DDTHH:MM:SS+08:00' ('' where -1)."""
    sec = np.asarray(sec, dtype=np.int64)
    s = np.datetime_as_string(sec.astype("datetime64[s]"), unit="s")
    s = np.strings.add(s, "+08:00")
    null = sec == NA
    if null.any():
        s = np.where(null, "", s)
    return s.tolist()


def _dates(days: np.ndarray) -> list[str]:
    """int days since epoch -> 'YYYY-MM-DD'."""
    return np.datetime_as_string(np.asarray(days, dtype=np.int64).astype("datetime64[D]")).tolist()


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = np.array(vocab.SURNAME_LIST)
    w = np.array(vocab.SURNAME_WEIGHTS, dtype=float)
    chars = np.array(vocab.GIVEN_CHARS)
    s = sur[rng.choice(len(sur), size=n, p=w / w.sum())]
    g1 = chars[rng.integers(0, len(chars), n)]
    g2 = chars[rng.integers(0, len(chars), n)]
    two = rng.random(n) < 0.7
    given = np.where(two, np.strings.add(g1, g2), g1)
    return np.strings.add(s, given)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    pre = np.array(vocab.PHONE_PREFIXES, dtype=np.int64)[rng.integers(0, len(vocab.PHONE_PREFIXES), n)]
    return (pre * 100_000_000 + rng.integers(0, 100_000_000, n)).astype(str)


def _apportion(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to weights that sum exactly to total (largest remainder)."""
    q = weights / weights.sum() * total
    base = np.floor(q).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.argsort(-(q - base), kind="stable")
        base[order[:rest]] += 1
    return base


def _short_name(name: str) -> str:
    for suf in ("居民委员会", "居委会"):
        if name.endswith(suf):
            base = name[: -len(suf)]
            return base if base.endswith("社区") else base + "社区"
    if name.endswith("村民委员会"):
        return name[: -len("村民委员会")] + "村"
    if name.endswith("委会"):
        return name[:-2]
    return name


class _Writer:
    """Writes each file of the dataset; with ``append`` a file written again gets the new rows after the old ones
    (the province dataset writes each file once per city)."""

    def __init__(self, out_dir: Path, append: bool = False):
        self.out_dir = out_dir
        self.append = append
        self.counts: dict[str, int] = {}

    def write(self, fname: str, header: list[str], rows) -> int:
        path = self.out_dir / fname
        n = 0
        again = self.append and fname in self.counts
        with open(path, "a" if again else "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)  # RFC 4180: CRLF, quote when needed
            if not again:
                w.writerow(header)
            if isinstance(rows, list):
                w.writerows(rows)
                n = len(rows)
            else:  # iterable of row-chunks
                for chunk in rows:
                    w.writerows(chunk)
                    n += len(chunk) if isinstance(chunk, list) else 0
        self.counts[fname] = self.counts.get(fname, 0) + n
        return n


# --------------------------------------------------------------------------- reference data
def _read_divisions() -> tuple[list[dict], list[dict]]:
    out = []
    for fname in ("loudi_divisions.csv", "yueyang_divisions.csv"):
        with open(REFERENCE_DIR / fname, encoding="utf-8-sig", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["level"] != "province"]
        for r in rows:
            if r["level"] == "city":
                r["parent_code"] = ""
        out.append(rows)
    return out[0], out[1]


def _county_polygons(fname: str) -> dict[str, list[np.ndarray]]:
    with open(REFERENCE_DIR / fname, encoding="utf-8") as f:
        gj = json.load(f)
    polys: dict[str, list[np.ndarray]] = {}
    for feat in gj["features"]:
        g = feat["geometry"]
        parts = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        polys[feat["properties"]["code"]] = [np.array(p[0], dtype=float) for p in parts]  # exterior rings
    return polys


def _inside(rings: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    res = np.zeros(len(x), dtype=bool)
    for ring in rings:
        xi, yi = ring[:-1, 0], ring[:-1, 1]
        xj, yj = ring[1:, 0], ring[1:, 1]
        inside = np.zeros(len(x), dtype=bool)
        for k in range(len(xi)):
            cond = (yi[k] > y) != (yj[k] > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                xc = (xj[k] - xi[k]) * (y - yi[k]) / (yj[k] - yi[k]) + xi[k]
            inside ^= cond & (x < xc)
        res |= inside
    return res


def _points_in(rng: np.random.Generator, rings: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    allp = np.vstack(rings)
    x0, y0 = allp.min(axis=0)
    x1, y1 = allp.max(axis=0)
    xs, ys = np.empty(0), np.empty(0)
    while len(xs) < n:
        x = rng.uniform(x0, x1, 2 * n + 16)
        y = rng.uniform(y0, y1, 2 * n + 16)
        ok = _inside(rings, x, y)
        xs, ys = np.concatenate([xs, x[ok]]), np.concatenate([ys, y[ok]])
    return xs[:n], ys[:n]


# --------------------------------------------------------------------------- generate
def generate(out_dir: Path, scale: str = "demo", seed: int = 20231008, as_of: dt.date | None = None,
             progress: Progress | None = None, *, _n_cases: int | None = None,
             _n_activities: int | None = None) -> dict[str, int]:
    """Write one dataset folder; return the number of data rows per file.

    ``_n_cases`` / ``_n_activities`` override the scale's volumes (tests only).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    if scale in PROVINCE_SCALES:  # all 14 cities of Hunan, written city by city (sample_data/province.py)
        from .province import generate_province

        return generate_province(out_dir, scale, seed, as_of, progress, _n_cases=_n_cases, _n_activities=_n_activities)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    as_of = as_of or today_shanghai()
    n_cases, n_acts = SCALES[scale]
    if _n_cases is not None:
        n_cases = _n_cases
    if _n_activities is not None:
        n_acts = _n_activities
    prog = progress or (lambda f, m: None)
    root = np.random.default_rng(seed)
    rngs = root.spawn(12)
    w = _Writer(out_dir)
    ctx = _Context(as_of, n_cases, n_acts, scale)

    prog(0.0, "regions")
    _regions(ctx, w)
    prog(0.02, "grids")
    _grids(ctx, w, rngs[0])
    prog(0.04, "staff")
    _staff(ctx, w, rngs[1])
    prog(0.06, "volunteer teams")
    _teams(ctx, w, rngs[2])
    prog(0.08, "departments and categories")
    _departments_categories(ctx, w)
    prog(0.09, "asset projects")
    _assets(ctx, w, rngs[3])
    prog(0.10, "clean units")
    _clean_units(ctx, w, rngs[4])
    prog(0.11, "cases")
    inject = Injection(np.random.default_rng(seed + INJECT_SEED_OFFSET), sources=SOURCES,
                       spring_festival=SPRING_FESTIVAL, names=_names, phones=_phones)
    # The integrity checks' anomalies draw from their own stream: every other figure stays as it was.
    cases, _sup = case_files(ctx, w, rngs, inject, np.random.default_rng(seed + ANOMALY_SEED_OFFSET), seed, prog)
    inject.write(out_dir / GROUND_TRUTH, ctx, cases, seed)  # not a file of the format: the loader ignores it
    prog(1.0, "done")
    return dict(w.counts)


def case_files(ctx: _Context, w: _Writer, rngs: list, inject: Injection | None, anomaly_rng: np.random.Generator,
               extension_seed: int, prog: Progress) -> tuple[dict, dict]:
    """Draw one city's cases and write its cases.csv, supervisions.csv, case_events.csv and extensions.csv (the
    city sample, and each city of the province sample: one sequence for both); returns the cases and the orders."""
    cases = _cases(ctx, rngs[5], inject)
    cases["inject"] = inject
    _anomalies(cases, anomaly_rng)
    prog(0.25, "writing cases")
    _write_cases(ctx, w, cases, rngs[6], anomaly_rng)
    prog(0.40, "supervisions")
    sup = _supervisions(ctx, w, cases, rngs[7], anomaly_rng)
    prog(0.45, "case events")
    _events(ctx, w, cases, sup, rngs[8], lambda f: prog(0.45 + 0.55 * f, "case events"))
    write_extensions(ctx, w, cases, extension_seed)  # their own random stream: the files above stay as they were
    return cases, sup


class _Context:
    def __init__(self, as_of: dt.date, n_cases: int, n_acts: int, scale: str):
        self.as_of = as_of
        self.start = _years_before(as_of, 3)
        self.end_sec = _epoch(as_of)
        self.start_sec = _epoch(self.start)
        self.n_cases = n_cases
        self.n_acts = n_acts
        self.scale = scale
        self.city_code = LOUDI
        # the city's structure (the province dataset sets these per city: sample_data/province.py)
        self.n_grids, self.n_active_workers, self.n_teams = N_GRIDS, N_ACTIVE_WORKERS, N_TEAMS
        self.households = LOUDI_HOUSEHOLDS
        self.county_polygons = "loudi_counties.geojson"
        self.case_prefix, self.team_prefix, self.team_brand = "LD", "LDH", "娄底红"
        self.staff_first = self.supervision_first = 0  # ids already used by the cities written before


# --------------------------------------------------------------------------- regions
def _regions(ctx: _Context, w: _Writer) -> None:
    loudi, yueyang = _read_divisions()
    ctx.loudi = loudi
    ctx.yueyang = yueyang
    ctx.region_name = {r["code"]: r["name"] for r in loudi + yueyang}
    w.write("regions.csv", ["code", "name", "level", "parent_code"],
            [[r["code"], r["name"], r["level"], r["parent_code"]] for r in loudi + yueyang])
    ctx.counties = [r["code"] for r in loudi if r["level"] == "county"]
    ctx.townships = [r["code"] for r in loudi if r["level"] == "township"]
    vill = [r for r in loudi if r["level"] == "village"]
    ctx.v_code = [r["code"] for r in vill]
    ctx.v_short = [_short_name(r["name"]) for r in vill]
    ctx.v_urban = np.array([s.endswith("社区") for s in ctx.v_short])
    t_index = {c: i for i, c in enumerate(ctx.townships)}
    c_index = {c: i for i, c in enumerate(ctx.counties)}
    ctx.v_town = np.array([t_index[r["parent_code"]] for r in vill])
    ctx.t_county = np.array([c_index[c[:6]] for c in ctx.townships])
    ctx.v_county = ctx.t_county[ctx.v_town]


# --------------------------------------------------------------------------- grids
def _grids(ctx: _Context, w: _Writer, rng: np.random.Generator) -> None:
    nv, n_grids = len(ctx.v_code), ctx.n_grids
    wt = np.where(ctx.v_urban, 7.5, 3.9) * rng.lognormal(0, 0.35, nv)
    per_v = 1 + _apportion(wt, n_grids - nv)
    g_v = np.repeat(np.arange(nv), per_v)  # village of each grid (sorted by code)
    first = np.cumsum(per_v) - per_v
    g_k = np.arange(n_grids) - first[g_v] + 1
    codes = [ctx.v_code[v] + f"{k:03d}" for v, k in zip(g_v.tolist(), g_k.tolist())]
    names = [ctx.v_short[v] + f"第{k}网格" for v, k in zip(g_v.tolist(), g_k.tolist())]
    urban = ctx.v_urban[g_v]
    hh = rng.lognormal(0, 0.3, n_grids) * np.where(urban, 1.25, 1.0)
    hh = np.maximum(30, np.round(hh / hh.sum() * ctx.households)).astype(np.int64)
    ratio = np.clip(rng.normal(2.8, 0.15, n_grids), 2.2, 3.4)
    pop = np.round(hh * ratio).astype(np.int64)
    # coordinates: a point per village inside its county polygon, grids jittered around it
    # (a county without a polygon: its grids have no coordinates, never a made-up place)
    polys = _county_polygons(ctx.county_polygons) if ctx.county_polygons else {}
    vx, vy = np.full(nv, np.nan), np.full(nv, np.nan)
    for ci, cc in enumerate(ctx.counties):
        idx = np.nonzero(ctx.v_county == ci)[0]
        if cc in polys and len(idx):
            x, y = _points_in(rng, polys[cc], len(idx))
            vx[idx], vy[idx] = x, y
    gx = vx[g_v] + rng.normal(0, 0.003, n_grids)
    gy = vy[g_v] + rng.normal(0, 0.003, n_grids)
    g_county = ctx.v_county[g_v]
    for ci, cc in enumerate(ctx.counties):
        idx = np.nonzero(g_county == ci)[0]
        if cc not in polys:
            continue
        ok = _inside(polys[cc], gx[idx], gy[idx])
        gx[idx[~ok]], gy[idx[~ok]] = vx[g_v[idx[~ok]]], vy[g_v[idx[~ok]]]

    # micro-grids in Xinhua only: on ~1,000 grids (communities first), 1..8 each, 3,000 in all
    if XINHUA not in ctx.counties:  # another city (the province dataset): no micro-grids
        _grids_done(ctx, w, codes, names, g_v, hh, pop, gx, gy, g_county, urban, [], [], np.zeros(0, dtype=np.int64),
                    np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0),
                    np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        return
    xin = ctx.counties.index(XINHUA)
    xin_grids = np.nonzero(g_county == xin)[0]
    pri = np.where(urban[xin_grids], 0.0, 1.0) + rng.random(len(xin_grids))
    hosts = np.sort(xin_grids[np.argsort(pri, kind="stable")[:1000]])
    m_per = _apportion(rng.gamma(2.0, 1.0, len(hosts)) + 0.3, N_MICRO - len(hosts)) + 1
    m_per = np.minimum(m_per, 99)
    m_per[0] += N_MICRO - int(m_per.sum())
    m_g = np.repeat(hosts, m_per)
    m_first = np.cumsum(m_per) - m_per
    m_k = np.arange(len(m_g)) - np.repeat(m_first, m_per) + 1
    estates = np.array(vocab.ESTATES)
    est_of_host = rng.integers(0, len(estates), len(hosts))
    m_est = np.repeat(est_of_host, m_per)
    bld = (m_k - 1) // 3 + 1
    unit = (m_k - 1) % 3 + 1
    m_codes = [codes[g] + f"-{k:02d}" for g, k in zip(m_g.tolist(), m_k.tolist())]
    m_names = [f"{ctx.v_short[g_v[g]]}{estates[e]}{b}栋{u}单元"
               for g, e, b, u in zip(m_g.tolist(), m_est.tolist(), bld.tolist(), unit.tolist())]
    m_hh = rng.integers(20, 61, len(m_g))
    m_pop = np.round(m_hh * np.clip(rng.normal(2.8, 0.2, len(m_g)), 2, 3.6)).astype(np.int64)
    mx = gx[m_g] + rng.normal(0, 0.0005, len(m_g))
    my = gy[m_g] + rng.normal(0, 0.0005, len(m_g))
    _grids_done(ctx, w, codes, names, g_v, hh, pop, gx, gy, g_county, urban, m_codes, m_names, m_g, m_hh, m_pop,
                mx, my, hosts, m_first, m_per)


def _coord(v: float) -> str:
    return "" if v != v else f"{v:.5f}"  # NaN: no polygon for the county


def _grids_done(ctx: _Context, w: _Writer, codes, names, g_v, hh, pop, gx, gy, g_county, urban, m_codes, m_names,
                m_g, m_hh, m_pop, mx, my, hosts, m_first, m_per) -> None:
    """Write grids.csv (grids, then micro-grids) and keep what the cases and staff need on ``ctx``."""
    n_grids = ctx.n_grids
    rows = [[c, n, ctx.v_code[v], "", h, p, _coord(y), _coord(x)]
            for c, n, v, h, p, y, x in zip(codes, names, g_v.tolist(), hh.tolist(), pop.tolist(),
                                           gy.tolist(), gx.tolist())]
    rows += [[c, n, ctx.v_code[g_v[g]], codes[g], h, p, _coord(y), _coord(x)]
             for c, n, g, h, p, y, x in zip(m_codes, m_names, m_g.tolist(), m_hh.tolist(), m_pop.tolist(),
                                            my.tolist(), mx.tolist())]
    w.write("grids.csv", ["code", "name", "village_code", "parent_grid_code", "households", "population",
                          "lat", "lon"], rows)
    ctx.g_code = np.array(codes)
    ctx.g_village = g_v
    ctx.g_town = ctx.v_town[g_v]
    ctx.g_county = g_county
    ctx.g_pop = pop
    ctx.g_urban = urban
    ctx.m_code = np.array(m_codes, dtype=ctx.g_code.dtype if not m_codes else None)
    ctx.m_grid = m_g
    ctx.g_micro_first = np.full(n_grids, -1)
    ctx.g_micro_first[hosts] = m_first
    ctx.g_micro_count = np.zeros(n_grids, dtype=np.int64)
    ctx.g_micro_count[hosts] = m_per


# --------------------------------------------------------------------------- staff
def _staff(ctx: _Context, w: _Writer, rng: np.random.Generator) -> None:
    as_of_day = ctx.end_sec // DAY
    rows: list[list] = []
    sid = [0]

    def add(name, role, grid, region, party, phone, active, since_day):
        sid[0] += 1
        rows.append([f"S{ctx.staff_first + sid[0]:07d}", name, role, grid, region, "true" if party else "false", phone,
                     "true" if active else "false", _dates([since_day])[0] if since_day is not None else ""])

    nt = len(ctx.townships)
    no_chief = set(rng.choice(nt, 2, replace=False).tolist())
    chief_names = _names(rng, nt)
    chief_phones = _phones(rng, nt)
    ctx.t_chief = np.where(np.isin(np.arange(nt), list(no_chief)), "", chief_names)
    for t in range(nt):
        if t in no_chief:
            continue
        add(str(chief_names[t]), "chief_grid_leader", "", ctx.townships[t], rng.random() < 0.95,
            str(chief_phones[t]), True, as_of_day - int(rng.integers(60, 1500)))

    n = ctx.n_grids
    leaders = _names(rng, n)
    ctx.g_leader = leaders
    lp = _phones(rng, n)
    party = rng.random(n) < 0.6
    since = as_of_day - rng.integers(30, 2500, n)
    for g in range(n):
        add(str(leaders[g]), "grid_leader", ctx.g_code[g], ctx.v_code[ctx.g_village[g]], party[g], str(lp[g]),
            True, int(since[g]))

    # grid workers: 15 grids have only an inactive worker, 28 grids have two active ones -> 9,721 active
    perm = rng.permutation(n)
    only_inactive = np.sort(perm[:15])
    second = np.sort(perm[15:15 + (ctx.n_active_workers - (n - 15))])
    other_inactive = np.sort(perm[100:125])
    workers = _names(rng, n + len(second) + 40)
    wp = _phones(rng, len(workers))
    wparty = rng.random(len(workers)) < 0.35
    wsince = as_of_day - rng.integers(30, 2500, len(workers))
    primary = workers[:n].copy()
    # for grids whose only worker left, the grid leader stands in as the named worker in the case log
    primary[only_inactive] = leaders[only_inactive]
    ctx.g_worker = primary
    ctx.g_worker_phone = wp[:n]
    is_oi = np.zeros(n, dtype=bool)
    is_oi[only_inactive] = True
    for g in range(n):
        add(str(workers[g]), "grid_worker", ctx.g_code[g], "", wparty[g], str(wp[g]), not is_oi[g], int(wsince[g]))
    for j, g in enumerate(second.tolist()):
        k = n + j
        add(str(workers[k]), "grid_worker", ctx.g_code[g], "", wparty[k], str(wp[k]), True, int(wsince[k]))
    for j, g in enumerate(other_inactive.tolist()):  # 25 former workers of other grids
        k = n + len(second) + j
        add(str(workers[k]), "grid_worker", ctx.g_code[g], "", wparty[k], str(wp[k]), False,
            int(wsince[k]) - 900)

    # liaisons from the township, ~1 % of grids without
    has_l = rng.random(n) >= 0.01
    ln = _names(rng, n)
    lph = _phones(rng, n)
    lparty = rng.random(n) < 0.6
    for g in np.nonzero(has_l)[0].tolist():
        add(str(ln[g]), "grid_liaison", ctx.g_code[g], ctx.townships[ctx.g_town[g]], lparty[g], str(lph[g]), True,
            as_of_day - int(rng.integers(30, 1500)))
    # micro-grid leaders, ~2 % without
    nm = len(ctx.m_code)
    has_m = rng.random(nm) >= 0.02
    mn = _names(rng, nm)
    mph = _phones(rng, nm)
    mparty = rng.random(nm) < 0.6
    for m in np.nonzero(has_m)[0].tolist():
        add(str(mn[m]), "micro_grid_leader", ctx.m_code[m], "", mparty[m], str(mph[m]), True,
            as_of_day - int(rng.integers(30, 1200)))
    ctx.staff_written = sid[0]
    w.write("staff.csv", ["staff_id", "name", "role", "grid_code", "region_code", "party_member", "phone",
                          "active", "since"], rows)


# --------------------------------------------------------------------------- volunteer teams
def _teams(ctx: _Context, w: _Writer, rng: np.random.Generator) -> None:
    n, n_grids = ctx.n_teams, ctx.n_grids
    extra = n - n_grids
    grid = np.concatenate([np.arange(n_grids), rng.choice(n_grids, extra)])
    village = ctx.g_village[grid]
    has_grid = np.ones(n, dtype=bool)
    has_grid[n_grids:] = False
    has_grid[:n_grids] = rng.random(n_grids) >= 0.05
    order = np.lexsort((np.arange(n), village))
    grid, village, has_grid = grid[order], village[order], has_grid[order]
    first = np.r_[0, np.nonzero(np.diff(village))[0] + 1]
    starts = np.repeat(first, np.diff(np.r_[first, n]))
    k = np.arange(n) - starts + 1
    # village short names repeat across townships: prefix the township where needed so team names are unique
    dup = Counter(ctx.v_short)
    label = [s if dup[s] == 1 else ctx.region_name[ctx.townships[ctx.v_town[i]]] + s for i, s in enumerate(ctx.v_short)]
    brand = ctx.team_brand
    names = [label[v] + (f"{brand}志愿服务队" if kk == 1 else f"{brand}志愿服务第{kk}队")
             for v, kk in zip(village.tolist(), k.tolist())]
    members = np.clip(np.round(rng.lognormal(np.log(18), 0.5, n)), 5, 60).astype(np.int64)
    leaders = _names(rng, n)
    lo = _epoch(dt.date(2020, 1, 1)) // DAY
    hi = min(_epoch(dt.date(2026, 12, 31)) // DAY, ctx.end_sec // DAY - 1)
    founded = lo + np.floor(rng.beta(1.2, 2.2, n) * (hi - lo)).astype(np.int64)
    mask = rng.random((n, len(vocab.FOCUS_TAGS))) < np.array(vocab.FOCUS_PROBS)
    mask[~mask.any(axis=1), 0] = True
    tags = np.array(vocab.FOCUS_TAGS)
    focus = [";".join(tags[m].tolist()) for m in mask]
    codes = [f"{ctx.team_prefix}{i + 1:05d}" for i in range(n)]
    rows = [[c, nm, ctx.v_code[v], ctx.g_code[g] if hg else "", mb, ld, fd, fc]
            for c, nm, v, g, hg, mb, ld, fd, fc in zip(codes, names, village.tolist(), grid.tolist(),
                                                       has_grid.tolist(), members.tolist(), leaders.tolist(),
                                                       _dates(founded), focus)]
    w.write("volunteer_teams.csv", ["team_code", "name", "region_code", "grid_code", "members", "leader_name",
                                    "founded_on", "focus"], rows)

    # activities; ~5 % of teams inactive in the last year
    na = ctx.n_acts
    inactive = rng.random(n) < 0.05
    start_day = ctx.start_sec // DAY
    end_day = ctx.end_sec // DAY  # exclusive
    t_lo = np.maximum(start_day, founded)
    t_hi = np.where(inactive, end_day - 366, end_day - 1)
    ok_team = t_hi >= t_lo
    wt = np.sqrt(members) * ok_team * np.where(inactive, 0.5, 1.0)
    # every active team did something in the last year (one activity each, when the volume allows) ...
    recent = np.nonzero(~inactive)[0]
    recent = recent[: min(len(recent), na // 2)]
    r_lo = np.maximum(t_lo[recent], end_day - 365)
    r_day = r_lo + np.floor(rng.random(len(recent)) * (t_hi[recent] - r_lo + 1)).astype(np.int64)
    # ... and the rest of the activities spread over each team's lifetime
    rest = na - len(recent)
    team = rng.choice(n, size=rest, p=wt / wt.sum()) if rest else np.zeros(0, dtype=np.int64)
    span = (t_hi - t_lo + 1)[team]
    day = t_lo[team] + np.floor(rng.random(rest) * span).astype(np.int64)
    team = np.concatenate([recent, team])
    day = np.concatenate([r_day, day])
    m = mask[team]
    cnt = m.sum(axis=1)
    r = np.floor(rng.random(na) * cnt).astype(np.int64)
    kind = np.argmax(np.cumsum(m, axis=1) > r[:, None], axis=1)
    kinds = np.array(vocab.FOCUS_TAGS + ["other"])
    kind = np.where(rng.random(na) < 0.04, len(vocab.FOCUS_TAGS), kind)
    part = np.maximum(1, np.round(members[team] * rng.uniform(0.2, 0.9, na))).astype(np.int64)
    hours = np.round(rng.uniform(1, 4, na) * 2) / 2
    has_note = rng.random(na) < 0.3
    o = np.lexsort((team, day))
    notes = np.array([vocab.TEAM_ACTIVITY_NOTES[k] for k in kinds.tolist()])
    rows = [[codes[t], d, kinds[k], p, f"{h:.1f}", notes[k] if hn else ""]
            for t, d, k, p, h, hn in zip(team[o].tolist(), _dates(day[o]), kind[o].tolist(), part[o].tolist(),
                                         hours[o].tolist(), has_note[o].tolist())]
    w.write("volunteer_activities.csv", ["team_code", "date", "kind", "participants", "hours", "note"], rows)


# --------------------------------------------------------------------------- departments, categories
def _departments_categories(ctx: _Context, w: _Writer) -> None:
    rows = []
    nk = len(vocab.DEPARTMENT_KINDS)
    ctx.dept_code = np.empty((len(ctx.counties) + 1, nk), dtype=object)
    ctx.dept_name = np.empty((len(ctx.counties) + 1, nk), dtype=object)
    for ci, cc in enumerate(ctx.counties + [ctx.city_code]):
        for k, (suffix, dname) in enumerate(vocab.DEPARTMENT_KINDS):
            code, name = f"{cc}-{suffix}", ctx.region_name[cc] + dname
            ctx.dept_code[ci, k], ctx.dept_name[ci, k] = code, name
            rows.append([code, name, cc])
    w.write("departments.csv", ["code", "name", "region_code"], rows)
    w.write("categories.csv", ["code", "name_zh", "name_en", "time_limit_hours"],
            [[c[0], c[1], c[2], c[3]] for c in vocab.CATEGORIES])


# --------------------------------------------------------------------------- Yueyang asset projects
def _months_before(as_of: dt.date, n: int) -> list[str]:
    """The n full months before as_of, oldest first, as YYYY-MM."""
    y, m = as_of.year, as_of.month
    out = []
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y:04d}-{m:02d}")
    return out[::-1]


def _days_in(month: str) -> int:
    y, m = int(month[:4]), int(month[5:])
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return (nxt - dt.date(y, m, 1)).days


def _assets(ctx: _Context, w: _Writer, rng: np.random.Generator) -> None:
    op = "岳阳市城市建设投资集团"
    months = _months_before(ctx.as_of, 24)
    start24 = dt.date(int(months[0][:4]), int(months[0][5:]), 1)
    projects: list[list] = []
    monthly: list[list] = []

    def proj(code, name, region, kind, qty, unit, mode, operator, model, gmin, share, inv, status, started):
        projects.append([code, name, region, kind, qty, unit, mode, operator, model, gmin, share, inv, status,
                         started.isoformat() if started else ""])

    # 洞庭湖小镇 (南湖新区 has no NBS code: 南湖街道 430602013 is the closest unit)
    s = _years_before(start24, 1)
    proj("YY-DTHXZ-01", "洞庭湖小镇（征收闲置土地）", "430602013", "land", 2200, "mu", "finance", op,
         "self_operated", "", "", 52000, "operating", s)
    proj("YY-DTHXZ-02", "洞庭湖小镇（闲置民房改民宿）", "430602013", "house", 196, "building", "use", op,
         "self_operated", "", "", 18000, "operating", s)
    for i, mth in enumerate(months):
        d = _days_in(mth)
        bump = 1.6 if mth[5:] in ("10", "07", "08", "02") else 1.0
        per_day = 20_000 + int(rng.integers(500, 6000) * bump)
        monthly.append(["YY-DTHXZ-01", mth, f"{per_day * d * 0.0009:.2f}", per_day * d])
        monthly.append(["YY-DTHXZ-02", mth, f"{rng.uniform(90, 160) * bump:.2f}", ""])
    # 洞庭南路历史街区 (岳阳楼区), guaranteed minimum + revenue share
    s = _years_before(start24, 1)
    dtnl = [("01", "国有资产", "state_asset", 136, "item", "lease", 1800, 12),
            ("02", "历史保护建筑", "historic_building", 59, "building", "use", 900, 15),
            ("03", "老旧民房", "house", 55, "building", "lease", 600, 12),
            ("04", "闲置港区厂房", "factory", 6, "item", "lease", 300, 10),
            ("05", "岸线资源", "shoreline", 1050, "m", "use", 200, 8)]
    for suf, label, kind, qty, unit, mode, gmin, share in dtnl:
        code = f"YY-DTNL-{suf}"
        proj(code, f"洞庭南路历史街区（{label}）", "430602", kind, qty, unit, mode, op, "guaranteed_plus_share",
             gmin, share, gmin * 6, "operating", s)
        for mth in months:
            monthly.append([code, mth, f"{gmin / 12 * rng.uniform(1.02, 1.6):.2f}", ""])

    # ~40 ordinary projects across Yueyang
    yy_towns = [r for r in ctx.yueyang if r["level"] == "township"]
    kinds = [("land", "mu", "闲置土地流转"), ("house", "building", "闲置房屋改造"), ("factory", "item", "闲置厂房盘活"),
             ("shoreline", "m", "码头岸线利用"), ("mixed", "m2", "原粮站仓库综合利用"), ("land", "mu", "撂荒地复耕"),
             ("house", "building", "闲置村部出租"), ("state_asset", "item", "国有门面招租")]
    modes = ["use", "sell", "lease", "finance"]
    statuses = ["planning", "renovating", "operating", "disposed", "suspended", "operating"]
    models = {"use": "self_operated", "sell": "sale", "lease": "fixed_rent", "finance": "other"}
    for i in range(40):
        t = yy_towns[int(rng.integers(0, len(yy_towns)))]
        kind, unit, label = kinds[i % len(kinds)]
        mode = modes[i % 4] if i >= 7 else ("lease" if i % 2 else "use")
        status = statuses[i % len(statuses)] if i >= 7 else "operating"
        model = "guaranteed_plus_share" if i < 7 else models[mode]
        if mode == "sell" and status == "operating":
            status = "disposed"
        qty = {"mu": rng.integers(20, 800), "building": rng.integers(2, 60), "item": rng.integers(1, 30),
               "m": rng.integers(100, 1500), "m2": rng.integers(500, 20000)}[unit]
        region = t["code"] if i % 5 else t["code"][:6]
        gmin = int(rng.integers(20, 200)) if model == "guaranteed_plus_share" else ""
        share = int(rng.integers(5, 30)) if model == "guaranteed_plus_share" else ""
        started = dt.date(start24.year - 1, 1, 1) + dt.timedelta(days=int(rng.integers(0, 900)))
        if started >= ctx.as_of:
            started = ctx.as_of - dt.timedelta(days=30)
        code = f"YY-ZC-{i + 1:03d}"
        name = f"{t['name']}{label}项目"
        proj(code, name, region, kind, int(qty), unit, mode, f"{ctx.region_name[t['code'][:6]]}国有资产运营公司",
             model, gmin, share, int(rng.integers(50, 3000)), status, started)
        if status == "operating":
            base = gmin / 12 if gmin != "" else float(rng.uniform(2, 40))
            first_m = f"{started.year:04d}-{started.month:02d}"
            # about half the guaranteed projects had a bad spell: 1–3 consecutive months below the minimum
            shortfall: set[int] = set()
            if gmin != "" and rng.random() < 0.5:
                first_bad = int(rng.integers(0, 24))
                shortfall = set(range(first_bad, min(24, first_bad + int(rng.integers(1, 4)))))
            for j, mth in enumerate(months):
                if mth < first_m:
                    continue
                f = rng.uniform(0.6, 0.95) if j in shortfall else rng.uniform(1.0, 1.5)
                monthly.append([code, mth, f"{base * f:.2f}", ""])
    w.write("asset_projects.csv", ["project_code", "name", "region_code", "asset_kind", "quantity", "unit",
                                   "disposal_mode", "operator", "operating_model", "guaranteed_min_wan",
                                   "revenue_share_pct", "investment_wan", "status", "started_on"], projects)
    w.write("asset_project_months.csv", ["project_code", "month", "revenue_wan", "visitors"], monthly)


# --------------------------------------------------------------------------- Louxing clean units
def review_year(as_of: dt.date) -> int:
    """The year whose monthly reviews are written: as_of's year once its June is over, else the year before."""
    return as_of.year if as_of.month >= 7 else as_of.year - 1


def _clean_units(ctx: _Context, w: _Writer, rng: np.random.Generator) -> None:
    year = review_year(ctx.as_of)
    louxing_towns = [t for t in ctx.townships if t.startswith(LOUXING)]
    louxing_vill = [i for i, c in enumerate(ctx.v_code) if c.startswith(LOUXING)]
    n_vill_units = min(204, len(louxing_vill))  # fewer only in the tests' thinned province (province.py)
    tname = {t: ctx.region_name[t] for t in louxing_towns}
    units: list[tuple[str, str, str]] = []  # name, kind, region
    units += [("娄星" + o, "organ", LOUXING) for o in vocab.LOUXING_ORGANS]
    schools = []
    for t in louxing_towns:
        short = tname[t].replace("街道", "").replace("镇", "").replace("乡", "")
        schools += [(f"娄星区{short}中学", t), (f"娄星区{short}中心小学", t), (f"娄星区{short}幼儿园", t)]
    schools = schools[:39]
    units += [(n, "school", t) for n, t in schools]
    hospitals = [("娄星区人民医院", LOUXING), ("娄星区中医医院", LOUXING), ("娄星区妇幼保健计划生育服务中心", LOUXING)]
    hospitals += [(f"{tname[t]}卫生院" if not tname[t].endswith("街道") else f"{tname[t]}社区卫生服务中心", t)
                  for t in louxing_towns[:9]]
    units += [(n, "hospital", t) for n, t in hospitals]
    chosen_t = sorted(rng.choice(len(louxing_towns), 11, replace=False).tolist())
    units += [(tname[louxing_towns[i]], "other", louxing_towns[i]) for i in chosen_t]
    chosen_v = sorted(rng.choice(louxing_vill, n_vill_units, replace=False).tolist())
    units += [(ctx.v_short[v], "village", ctx.v_code[v]) for v in chosen_v]
    assert len(units) == 133 + n_vill_units
    n = len(units)
    lo = _epoch(dt.date(year - 1, 7, 1)) // DAY
    hi = _epoch(dt.date(year - 1, 12, 31)) // DAY
    applied = rng.integers(lo, hi + 1, n)
    codes = [f"LXQL{i + 1:03d}" for i in range(n)]
    w.write("clean_units.csv", ["unit_code", "name", "kind", "region_code", "applied_on"],
            [[c, u[0], u[1], u[2], d] for c, u, d in zip(codes, units, _dates(applied))])

    last_full = _months_before(ctx.as_of, 1)[0]
    months = [f"{year:04d}-{m:02d}" for m in range(1, 13) if f"{year:04d}-{m:02d}" <= last_full]
    # A unit's monthly score is its standing (persistent: a slow drift, now and then a real move up or down)
    # plus a small monthly noise, so most units keep their place from one month to the next.  June's review
    # rates exactly 97 units good (about as many as any month): the month is shifted so that the 97th best
    # score is 90, the order kept.
    quality = rng.normal(87, 5, n)
    village_idx = [i for i, u in enumerate(units) if u[1] == "village"]
    notified_units = rng.choice(village_idx, 3, replace=False)
    rows = []
    june = f"{year:04d}-06"
    notified_month = {int(u): months[int(rng.integers(0, len(months)))] for u in notified_units}
    fallen: dict[int, float] = {}
    for mth in months:
        moves = rng.random(n) < CLEAN_MOVE_SHARE
        quality = quality + rng.normal(0, CLEAN_DRIFT, n) + np.where(moves, rng.normal(0, CLEAN_MOVE_SD, n), 0.0)
        for u, m_n in notified_month.items():  # a notified unit falls, then recovers over the next months
            if m_n == mth:
                fallen[u] = float(quality[u])
                quality[u] = 60.0 + float(rng.random()) * 5
            elif u in fallen:
                quality[u] = min(fallen[u], quality[u] + 3.0)
        quality = np.clip(quality, 55, 97)
        raw = quality + rng.normal(0, CLEAN_NOISE, n)
        if mth == june:  # the half-year review: exactly 97 good (a unit notified in June is not among them)
            cand = np.array([notified_month.get(u) != mth for u in range(n)])
            order = np.argsort(-np.where(cand, raw, -np.inf), kind="stable")
            raw = raw + (90.05 - (raw[order[96]] + raw[order[97]]) / 2)
            good = np.zeros(n, dtype=bool)
            good[order[:97]] = True
            raw = np.where(good, np.maximum(raw, 90.0), np.minimum(raw, 89.9))
        score = np.clip(raw, 40, 99.5)
        for u in range(n):
            notified = notified_month.get(u) == mth
            sc = round(float(score[u]), 1)
            rating = "good" if sc >= 90 else ("fair" if sc >= 75 else "poor")
            note = "清廉创建履职不力，通报批评并挂牌整治" if notified else ("" if rating != "poor" else "限期整改")
            rows.append([codes[u], mth, f"{sc:.1f}", rating, "true" if notified else "false", note])
    w.write("clean_unit_reviews.csv", ["unit_code", "month", "score", "rating", "notified", "note"], rows)


# --------------------------------------------------------------------------- cases
def _day_weights(ctx: _Context) -> np.ndarray:
    n_days = (ctx.as_of - ctx.start).days
    days = [ctx.start + dt.timedelta(days=i) for i in range(n_days)]
    month_f = np.array([1.0, 1.15, 1.2, 1.0, 0.95, 0.95, 1.05, 1.2, 1.2, 0.95, 0.85, 0.95, 1.05])
    wts = np.empty(n_days)
    for i, d in enumerate(days):
        f = month_f[d.month]
        if d.month == 10 and d.day <= 7:
            f *= 0.55  # National Day holiday dip
        for y in (d.year, d.year + 1):
            if y in SPRING_FESTIVAL:
                sf = dt.date(y, *SPRING_FESTIVAL[y])
                off = (d - sf).days
                if -20 <= off <= 15:
                    f *= 1.0 + 0.45 * np.exp(-((off + 3) / 9.0) ** 2)
        if d.weekday() >= 5:
            f *= 0.88
        f *= 1.0 + 0.08 * (i / 365.0)  # mild growth year over year
        wts[i] = f
    return wts


def _cases(ctx: _Context, rng: np.random.Generator, inject=None) -> dict:
    n = ctx.n_cases
    wts = _day_weights(ctx)
    n_days = len(wts)
    per_day = rng.multinomial(n, wts / wts.sum())
    if inject is not None:
        per_day = inject.plan(ctx, wts, per_day)
    day = np.repeat(np.arange(n_days), per_day)
    hour_w = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 3, 7, 10, 10, 9, 6, 5, 8, 9, 9, 8, 6, 4, 3, 2, 1, 0.5])
    hour = rng.choice(24, size=n, p=hour_w / hour_w.sum())
    sod = hour * HOUR + rng.integers(0, HOUR, n)
    rel = np.sort(day * DAY + sod)
    day = rel // DAY
    rep = ctx.start_sec + rel
    first = np.cumsum(per_day) - per_day
    seq = np.arange(n) - first[day] + 1
    day_str = np.array([(ctx.start + dt.timedelta(days=i)).strftime("%Y%m%d") for i in range(n_days)])
    case_no = np.strings.add(np.strings.add(ctx.case_prefix, day_str[day]), np.strings.slice((1_000_000 + seq).astype(str), 1, 7))

    grid = rng.choice(ctx.n_grids, size=n, p=ctx.g_pop / ctx.g_pop.sum())
    urban = ctx.g_urban[grid]
    cat_u = np.array([c[4] for c in vocab.CATEGORIES])
    cat_r = np.array([c[5] for c in vocab.CATEGORIES])
    cu, cr = np.cumsum(cat_u / cat_u.sum()), np.cumsum(cat_r / cat_r.sum())
    u = rng.random(n)
    cat = np.where(urban, np.searchsorted(cu, u, side="right"), np.searchsorted(cr, u, side="right"))
    cat = np.minimum(cat, len(vocab.CATEGORIES) - 1)
    limit_h = np.array([c[3] for c in vocab.CATEGORIES], dtype=np.int64)[cat]
    src = rng.choice(len(SOURCES), size=n, p=SOURCE_P)
    # 涟源市: a fixed number of 屋场会 (meeting) cases — 17,300 at full scale
    if LIANYUAN in ctx.counties:  # (娄底市 only, in the province dataset too)
        lian = ctx.g_county[grid] == ctx.counties.index(LIANYUAN)
        target = round(LIANYUAN_MEETING_FULL * n / FULL_CASES)
        mi = SOURCES.index("meeting")
        is_m = lian & (src == mi)
        have = int(is_m.sum())
        if have > target:
            drop = rng.choice(np.nonzero(is_m)[0], have - target, replace=False)
            src[drop] = SOURCES.index("patrol")
        elif have < target:
            cand = np.nonzero(lian & (src != mi))[0]
            add = rng.choice(cand, min(len(cand), target - have), replace=False)
            src[add] = mi
    # the early-warning and duplicate ground truth (sample_data/ground_truth.py): surges, a silent grid and groups
    # of duplicates, made of cases of the same days moved to another grid or category (totals unchanged)
    if inject is not None:
        inject.apply(ctx, day, rep, grid, cat, src, wts)
        limit_h = np.array([c[3] for c in vocab.CATEGORIES], dtype=np.int64)[cat]

    # micro-grids: ~5 % of all cases, only in grids that have them (Xinhua)
    mcount = ctx.g_micro_count[grid]
    elig = mcount > 0
    q = min(1.0, 0.05 * n / max(1, int(elig.sum())))
    use_m = elig & (rng.random(n) < q)
    micro = np.where(use_m, ctx.g_micro_first[grid] + np.floor(rng.random(n) * np.maximum(mcount, 1)).astype(np.int64), -1)

    # resolution level and timeline
    level = rng.choice(5, size=n, p=[0.60, 0.25, 0.11, 0.035, 0.005])
    on_spot = (level == 0) & (rng.random(n) < 0.70)
    limit = limit_h * HOUR
    due = rep + limit
    median = np.array([0.36, 0.47, 0.58, 0.66, 0.70])[level]
    factor = median * rng.lognormal(0.0, 0.62, n)
    total = np.maximum(HOUR, (limit * factor)).astype(np.int64)
    seg = rng.gamma(np.array([1.0, 1.5, 5.0, 1.5, 1.5]), 1.0, (n, 5))
    seg = seg / seg.sum(axis=1, keepdims=True)
    steps = rep[:, None] + np.cumsum(np.round(seg * total[:, None]).astype(np.int64), axis=1)
    spot_close = rep + rng.integers(int(0.2 * HOUR), 6 * HOUR + 1, n)
    steps[on_spot, :4] = NA
    steps[on_spot, 4] = spot_close[on_spot]

    # Cases late by the lognormal's tail are mostly a day or two late; DRAG_SHARE of them (more in busy weeks)
    # drag on: an excess of weeks, lognormal, capped, spent waiting at one step (mostly between dispatch and
    # handling).  A few land and demolition disputes (LONG_RUN_SHARE of them) run for months, coordinated at
    # county level.  A case is open at as_of exactly when its own timeline has not ended, so the backlog of open
    # overdue cases at every past month end is the same quantity as today's: steady, seasonal, no cliff at the
    # data's end, and the oldest open cases are a handful of long-running disputes, not forgotten ones.
    late = ~on_spot & (total > limit)
    season = np.convolve(wts / (1.0 + 0.08 * np.arange(n_days) / 365.0), np.ones(7) / 7, mode="same")
    busy = (season / season.mean())[day]  # the week's volume against the average, growth taken out
    drag = late & (rng.random(n) < np.minimum(1.0, DRAG_SHARE * busy))
    excess = np.minimum(limit * rng.lognormal(np.log(DRAG_MEDIAN_LIMITS), DRAG_SIGMA, n),
                        np.minimum(DRAG_MAX_LIMITS * limit, DRAG_MAX_DAYS * DAY)).astype(np.int64)
    long_cat = np.isin(cat, [i for i, cc in enumerate(vocab.CATEGORIES) if cc[0] in LONG_RUN_CATEGORIES])
    long_run = ~on_spot & long_cat & (rng.random(n) < LONG_RUN_SHARE)
    excess = np.where(long_run, rng.integers(LONG_RUN_DAYS[0] * DAY, LONG_RUN_DAYS[1] * DAY, n), excess)
    waits = drag | long_run
    wait_step = np.where(long_run, 2, rng.choice(4, size=n, p=[0.10, 0.60, 0.20, 0.10]) + 1)  # the step it waits for
    steps += np.where(waits[:, None] & (np.arange(5)[None, :] >= wait_step[:, None]), excess[:, None], 0)
    level = np.where(long_run, np.maximum(level, 3), level)  # coordinated by the county (escalated)
    # status = number of steps done before as_of
    done = np.where(steps == NA, True, steps < ctx.end_sec)
    stage = np.where(on_spot, np.where(steps[:, 4] < ctx.end_sec, 5, 0), np.cumprod(done, axis=1).sum(axis=1))
    on_spot = on_spot & (stage == 5)
    for k in range(5):
        steps[stage <= k, k] = NA
    closed = stage == 5

    dept_kind = np.array(vocab.CATEGORY_DEPT_KIND)[cat]
    county = ctx.g_county[grid]
    dept_row = np.where(level == 4, len(ctx.counties), county)
    has_dept = (level >= 2) & (steps[:, 1] != NA)
    # return / reassign / escalate only for cases that reached handling
    handled = steps[:, 2] != NA
    r = rng.random(n)
    bounce = np.where(handled & ~on_spot, np.where(r < 0.01, 2, np.where(r < 0.04, 1, 0)), 0)
    reassign = handled & ~on_spot & (rng.random(n) < 0.01)
    escalate = handled & (level >= 3)
    note = rng.random(n) < 0.05

    sat = np.where(closed & (rng.random(n) < 0.85), rng.choice(5, size=n, p=[0.02, 0.03, 0.08, 0.32, 0.55]) + 1, 0)
    return {"n": n, "case_no": case_no, "rep": rep, "due": due, "steps": steps, "stage": stage, "closed": closed, "level": level,
                "on_spot": on_spot, "grid": grid, "micro": micro, "cat": cat, "src": src, "dept_row": dept_row, "dept_kind": dept_kind,
                "has_dept": has_dept, "bounce": bounce, "reassign": reassign, "escalate": escalate, "note": note, "sat": sat}


def _anomalies(c: dict, rng: np.random.Generator) -> None:
    """Closures under an hour that were not settled on the spot, reopened cases and closures without the
    feedback step (see the *_SHARE constants).

    Only closed cases that were not late are made fast (so the late share and the supervision orders, which
    go to late cases, stay as they were); a reopened case keeps its closing time: its first feedback and
    close happen earlier, then a ``reopen`` event, a new feedback (``feedback_at``) and the final close."""
    n = c["n"]
    steps, rep, due = c["steps"], c["rep"], c["due"]
    closed_ns = c["closed"] & ~c["on_spot"]
    cand = np.nonzero(closed_ns & (steps[:, 4] <= due))[0]
    k = min(len(cand), int(np.rint(FAST_CLOSE_SHARE * closed_ns.sum())))
    fast = np.sort(rng.choice(cand, k, replace=False)) if k else np.zeros(0, dtype=np.int64)
    total = rng.integers(10 * 60, 55 * 60, len(fast))
    frac = np.sort(rng.random((len(fast), 4)), axis=1)
    steps[fast, :4] = rep[fast, None] + np.floor(frac * total[:, None]).astype(np.int64)
    steps[fast, 4] = rep[fast] + total
    is_fast = np.zeros(n, dtype=bool)
    is_fast[fast] = True
    span = steps[:, 4] - steps[:, 3]
    cand = np.nonzero(closed_ns & ~is_fast & (span >= 2 * HOUR))[0]
    k = min(len(cand), int(np.rint(REOPEN_SHARE * c["closed"].sum())))
    ro = np.sort(rng.choice(cand, k, replace=False)) if k else np.zeros(0, dtype=np.int64)
    f1, close = steps[ro, 3], steps[ro, 4]
    sp = close - f1
    c0 = f1 + np.floor(sp * rng.uniform(0.1, 0.4, len(ro))).astype(np.int64)
    r = c0 + np.floor(sp * rng.uniform(0.05, 0.3, len(ro))).astype(np.int64)
    f2 = r + np.floor((close - r) * rng.uniform(0.2, 0.8, len(ro))).astype(np.int64)
    steps[ro, 3] = f2
    c["fast"] = fast
    c["reopen"] = {"case": ro, "feedback": f1, "close": c0, "reopen": r}
    # closed without the feedback step (the close time stays, so the late share does not move)
    is_ro = np.zeros(n, dtype=bool)
    is_ro[ro] = True
    cand = np.nonzero(closed_ns & ~is_fast & ~is_ro)[0]
    k = min(len(cand), int(np.rint(NO_FEEDBACK_SHARE * closed_ns.sum())))
    nf = np.sort(rng.choice(cand, k, replace=False)) if k else np.zeros(0, dtype=np.int64)
    steps[nf, 3] = NA
    c["no_feedback"] = nf


def _rereports(gcode: np.ndarray, c: dict, rn: np.ndarray, rp: np.ndarray, rng: np.random.Generator) -> None:
    """Give REREPORT_SHARE of the closed cases a re-report: an existing later case (not a patrol report) in
    the same grid and category, reported within REREPORT_DAYS after the closure, gets the closed case's
    reporter name and phone (nothing else changes)."""
    n = c["n"]
    if n < 2:
        c["rereport"] = np.zeros((0, 2), dtype=np.int64)
        return
    rep, close, src, closed = c["rep"], c["steps"][:, 4], c["src"], c["closed"]
    inject = c.get("inject")
    dup = inject.dup_member if inject is not None and inject.dup_member is not None else np.zeros(n, dtype=bool)
    key = np.unique(gcode, return_inverse=True)[1].astype(np.int64) * 64 + c["cat"]
    order = np.lexsort((rep, key))
    ks = key[order]
    first = np.full(n, -1, dtype=np.int64)  # for each closed case, the first later case that may re-report it
    limit = REREPORT_DAYS * DAY - HOUR
    for off in range(1, 9):
        i, j = order[:-off], order[off:]
        ok = ((ks[:-off] == ks[off:]) & closed[i] & (src[i] != 0) & (rp[i] != "") & (src[j] != 0) & ~dup[i] & ~dup[j]
              & (rep[j] > close[i]) & (rep[j] - close[i] <= limit) & (first[i] < 0))
        first[i[ok]] = j[ok]
    earlier = np.nonzero(first >= 0)[0]
    want = int(np.rint(REREPORT_SHARE * closed.sum()))
    used: set[int] = set()
    pairs = []
    for i in rng.permutation(earlier).tolist():
        j = int(first[i])
        if len(pairs) >= want:
            break
        if i in used or j in used:
            continue
        used.update((i, j))
        pairs.append((i, j))
    pairs.sort()
    for i, j in pairs:
        rn[j], rp[j] = rn[i], rp[i]
    c["rereport"] = np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _places(ctx: _Context, grid: np.ndarray, micro: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Where in the village a case is, for its title: a household of a village group (3组12号) in the
    countryside, an entrance of an estate's building (幸福小区5栋2单元) in a community, a flat (1203室) on a
    micro-grid (its name says the building).  Two reports of one village, category and wording then rarely read
    alike unless they are about the same matter: with the group or building alone, a busy village's unrelated
    reports of one template named the same place within days (47 of the 104 false pairs of the duplicate
    benchmark at 100k had identical titles; docs/PERFORMANCE.md "Repeat cases")."""
    n = len(grid)
    estates = np.array(vocab.ESTATES)
    group = np.strings.add((1 + rng.integers(0, 15, n)).astype(str), "组")
    building = np.strings.add(np.strings.add(estates[rng.integers(0, len(estates), n)],
                                             (1 + rng.integers(0, 20, n)).astype(str)), "栋")
    # the detail, drawn after the group and building so that those stay as they were
    house = np.strings.add((1 + rng.integers(0, 40, n)).astype(str), "号")
    entrance = np.strings.add((1 + rng.integers(0, 4, n)).astype(str), "单元")
    flat = np.strings.add(((1 + rng.integers(0, 18, n)) * 100 + 1 + rng.integers(0, 4, n)).astype(str), "室")
    return np.where(micro >= 0, flat, np.where(ctx.g_urban[grid], np.strings.add(building, entrance),
                                               np.strings.add(group, house)))


def _no_chance_repeats(ctx: _Context, c: dict, grid: np.ndarray, micro: np.ndarray, vshort: np.ndarray,
                       place: np.ndarray, title: np.ndarray, tail: np.ndarray, rng: np.random.Generator) -> None:
    """Draw the place again (in place, with its title) for a case whose title, village and category are those of
    another case reported within ``DUP_WINDOW_DAYS`` before it.

    Such a pair is a repeat report by every sign a reader or the duplicate detection has (the same household or
    flat, the same matter, days apart), yet only the injected groups are in the ground truth: at 1.07 M cases a
    village holds ten times the reports of 100k among the same households, and 282 of the 440 "false" pairs the
    duplicate benchmark found there were such chance repeats, each an error of the sample's truth, not of the
    detection (docs/PERFORMANCE.md "Repeat cases").  Drawn again until none is left (a few rounds: each round
    leaves a small fraction of the one before); the injected groups are written over these titles afterwards
    (Injection.texts).  A sample with none (the small ones) keeps its random stream and every file as before."""
    village = ctx.g_village[grid]
    rep = c["rep"]
    for _ in range(20):
        _, tcode = np.unique(title.astype(str), return_inverse=True)
        order = np.lexsort((rep, tcode, c["cat"], village))
        same = ((village[order][1:] == village[order][:-1]) & (c["cat"][order][1:] == c["cat"][order][:-1])
                & (tcode[order][1:] == tcode[order][:-1])
                & (rep[order][1:] - rep[order][:-1] <= DUP_WINDOW_DAYS * DAY))
        again = np.unique(order[1:][same])
        if len(again) == 0:
            return
        drawn = _places(ctx, grid[again], micro[again], rng)
        place[again] = drawn
        title[again] = np.strings.add(np.strings.add(vshort[again], drawn), tail[again]).astype(object)
    raise RuntimeError("sample titles: chance repeats left after 20 rounds")


def _case_grid_codes(ctx: _Context, grid: np.ndarray, micro: np.ndarray) -> np.ndarray:
    """The grid code each case is reported in: its micro-grid's where it has one, else its grid's."""
    if len(ctx.m_code) == 0:  # a city without micro-grids (the province dataset's other cities)
        return ctx.g_code[grid]
    return np.where(micro >= 0, ctx.m_code[np.maximum(micro, 0)], ctx.g_code[grid])


def _write_cases(ctx: _Context, w: _Writer, c: dict, rng: np.random.Generator,
                 anomaly_rng: np.random.Generator | None = None) -> None:
    n = c["n"]
    grid, micro = c["grid"], c["micro"]
    gcode = _case_grid_codes(ctx, grid, micro)
    vshort = np.array(ctx.v_short)[ctx.g_village[grid]]
    # title: template by category
    tmpl_lists = [vocab.TITLES[cc[0]] for cc in vocab.CATEGORIES]
    maxt = max(len(t) for t in tmpl_lists)
    tmpl = np.array([[t[i % len(t)].replace("{v}", "") for i in range(maxt)] for t in tmpl_lists])
    tcount = np.array([len(t) for t in tmpl_lists])
    ti = np.floor(rng.random(n) * tcount[c["cat"]]).astype(np.int64)
    inject = c.get("inject")
    place_rng = inject.rng if inject is not None else np.random.default_rng(0)
    place = _places(ctx, grid, micro, place_rng)
    title = np.strings.add(np.strings.add(vshort, place), tmpl[c["cat"], ti]).astype(object)
    place = place.astype(object)   # a place drawn again may be longer than the widest of the first draw
    _no_chance_repeats(ctx, c, grid, micro, vshort, place, title, tmpl[c["cat"], ti], place_rng)
    c["place"] = place
    desc = np.array([vocab.DESCRIPTIONS[s] for s in SOURCES], dtype=object)[c["src"]]
    awk = np.nonzero(rng.random(n) < 0.002)[0]
    for j, i in enumerate(awk.tolist()):
        if j % 2 == 0:
            title[i] = vocab.AWKWARD_TITLES[j % 3].replace("{v}", str(vshort[i]))
        else:
            desc[i] = vocab.AWKWARD_DESCRIPTIONS[j % 3]
    # reporter: patrol -> the grid worker (80 %) or empty; others ~98 % named
    patrol = c["src"] == 0
    rn = _names(rng, n).astype(object)
    rp = _phones(rng, n).astype(object)
    worker = rng.random(n) < 0.8
    rn = np.where(patrol & worker, ctx.g_worker[grid], rn)
    rp = np.where(patrol & worker, ctx.g_worker_phone[grid], rp)
    empty = np.where(patrol, ~worker, rng.random(n) < 0.02)
    rn = np.where(empty, "", rn)
    rp = np.where(empty, "", rp)
    if inject is not None:
        inject.texts(ctx, c, title, desc, rn, rp)
    if anomaly_rng is not None:
        _rereports(gcode, c, rn, rp, anomaly_rng)
    c["reporter"] = rn
    steps = c["steps"]
    stage = c["stage"]
    dept = np.where(c["has_dept"], ctx.dept_code[c["dept_row"], c["dept_kind"]], "")
    level = np.where(c["closed"], np.array(LEVELS, dtype=object)[c["level"]], "")
    cat_codes = np.array([x[0] for x in vocab.CATEGORIES])
    cols = [  # full-length arrays; converted to Python lists one chunk at a time (memory)
        c["case_no"], gcode, cat_codes[c["cat"]], np.array(SOURCES)[c["src"]], title, desc, rn, rp,
        np.array(STATUSES)[stage], (c["rep"],), (steps[:, 0],), (steps[:, 1],), (steps[:, 2],), (steps[:, 3],),
        (steps[:, 4],), (c["due"],), dept, level, np.where(c["on_spot"], "true", "false"),
        np.where(c["sat"] > 0, c["sat"].astype(str), ""),
    ]
    header = ["case_no", "grid_code", "category", "source", "title", "description", "reporter_name",
              "reporter_phone", "status", "reported_at", "accepted_at", "dispatched_at", "handled_at",
              "feedback_at", "closed_at", "due_at", "department_code", "resolution_level", "on_the_spot",
              "satisfaction"]
    step = 200_000

    def chunks():
        for a in range(0, n, step):
            yield list(zip(*[_ts(col[0][a:a + step]) if isinstance(col, tuple) else col[a:a + step].tolist()
                             for col in cols]))

    w.write("cases.csv", header, chunks())


def _supervisions(ctx: _Context, w: _Writer, c: dict, rng: np.random.Generator,
                  anomaly_rng: np.random.Generator | None = None) -> dict:
    closed, due, close_at = c["closed"], c["due"], c["steps"][:, 4]
    late_closed = closed & (close_at > due + 120)
    open_over = ~closed & (due < ctx.end_sec - 120)
    cand = np.nonzero((late_closed | open_over) & (rng.random(c["n"]) < 0.30))[0]
    end = np.where(closed[cand], close_at[cand], ctx.end_sec)
    issued = due[cand] + 60 + np.floor(rng.uniform(0.05, 0.9, len(cand)) * (end - due[cand] - 120)).astype(np.int64)
    grade = rng.choice(3, size=len(cand), p=[0.6, 0.3, 0.1])
    by_county = (grade == 2) | ((grade == 1) & (rng.random(len(cand)) < 0.5))
    g = c["grid"][cand]
    town = np.array(ctx.townships)[ctx.g_town[g]]
    county = np.array(ctx.counties)[ctx.g_county[g]]
    issued_by = np.where(by_county, county, town)
    deadline = issued + rng.integers(2, 11, len(cand)) * DAY
    resolved = np.where(closed[cand], close_at[cand], NA)
    grades = ["normal", "yellow", "red"]
    notes = [vocab.SUPERVISION_NOTES[grades[gr]][int(k)] for gr, k in
             zip(grade.tolist(), rng.integers(0, 2, len(cand)).tolist())]
    if anomaly_rng is not None and REPEAT_ORDER_SHARE > 0:
        # an order still unmet at its deadline (case open then) sometimes gets a second, sterner one
        unmet = np.nonzero(end > deadline + HOUR)[0]
        k = int(np.rint(REPEAT_ORDER_SHARE * len(unmet)))
        again = np.sort(anomaly_rng.choice(unmet, k, replace=False)) if k else np.zeros(0, dtype=np.int64)
        issued2 = deadline[again] + np.floor(anomaly_rng.uniform(0.1, 0.6, k) * (end[again] - deadline[again])
                                             ).astype(np.int64)
        grade2 = np.minimum(grade[again] + 1, 2)
        deadline2 = issued2 + anomaly_rng.integers(2, 7, k) * DAY
        cand, issued = np.concatenate([cand, cand[again]]), np.concatenate([issued, issued2])
        grade, deadline = np.concatenate([grade, grade2]), np.concatenate([deadline, deadline2])
        by2 = np.where(grade2 >= 1, county[again], town[again])
        issued_by = np.concatenate([issued_by, by2])
        resolved = np.concatenate([resolved, resolved[again]])
        notes = notes + [vocab.SUPERVISION_NOTES[grades[gr]][0] for gr in grade2.tolist()]
    ids = [f"DB{ctx.supervision_first + i + 1:07d}" for i in range(len(cand))]
    # the issuer: the governance centre (综治中心) of the township or county that issued the order
    issuer = {code: ctx.region_name[code] + "综治中心" for code in ctx.townships + ctx.counties}
    issuer_names = [issuer[x] for x in issued_by.tolist()]
    rows = list(zip(ids, c["case_no"][cand].tolist(), [grades[x] for x in grade.tolist()], issued_by.tolist(),
                    _ts(issued), _ts(deadline), _ts(resolved), notes, issuer_names))
    w.write("supervisions.csv", ["supervision_id", "case_no", "grade", "issued_by", "issued_at", "deadline",
                                 "resolved_at", "note", "issued_by_name"], rows)
    return {"case": cand, "issued": issued, "issued_by": issued_by, "notes": np.array(notes, dtype=object),
            "issuer": np.array(issuer_names, dtype=object)}


def _events(ctx: _Context, w: _Writer, c: dict, sup: dict, rng: np.random.Generator,
            prog: Callable[[float], None]) -> None:
    n = c["n"]
    header = ["case_no", "seq", "at", "action", "actor", "org_code", "note"]
    action_names = np.array(ACTIONS)
    region_name = ctx.region_name
    town_codes = np.array(ctx.townships, dtype=object)
    city = ctx.city_code
    county_codes = np.array(ctx.counties + [city], dtype=object)
    center = np.array([region_name[x] + "网格化服务管理中心" for x in ctx.counties + [city]], dtype=object)
    vcode = np.array(ctx.v_code, dtype=object)
    return_notes = np.array(vocab.RETURN_NOTES, dtype=object)
    notes = np.array(vocab.NOTES, dtype=object)
    # order supervision orders by case for chunk slicing
    so = np.argsort(sup["case"], kind="stable")
    s_case, s_at, s_by, s_actor, s_note = (sup["case"][so], sup["issued"][so], sup["issued_by"][so].astype(object),
                                           sup["issuer"][so], sup["notes"][so])  # the log names the order's issuer

    def chunk_rows(a: int, b: int):
        st = c["steps"][a:b]
        rep = c["rep"][a:b]
        grid = c["grid"][a:b]
        micro = c["micro"][a:b]
        gcode = _case_grid_codes(ctx, grid, micro).astype(object)
        worker = ctx.g_worker[grid].astype(object)
        leader = ctx.g_leader[grid].astype(object)
        town = ctx.g_town[grid]
        chief = ctx.t_chief[town].astype(object)
        chief = np.where(chief == "", leader, chief)
        tcode = town_codes[town]
        village = vcode[ctx.g_village[grid]]
        level = c["level"][a:b]
        has_dept = c["has_dept"][a:b]
        drow, dkind = c["dept_row"][a:b], c["dept_kind"][a:b]
        dcode = ctx.dept_code[drow, dkind]
        dname = ctx.dept_name[drow, dkind]
        handler = np.where(has_dept, dname, worker)
        handler_org = np.where(has_dept, dcode, gcode)
        reporter = c["reporter"][a:b]
        reporter = np.where(reporter == "", worker, reporter)
        # closing org by level
        county = ctx.g_county[grid]
        close_actor = np.select([level == 0, level == 1, level == 2], [worker, leader, chief], dname)
        close_org = np.select([level == 0, level == 1, level == 2, level == 3],
                              [gcode, village, tcode, county_codes[county]], city)
        empty = np.full(b - a, "", dtype=object)
        parts = []  # (local case, at, action, actor, org, note)

        def add(mask, at, action, actor, org, note=empty, tb=None):
            ii = np.nonzero(mask)[0]
            if len(ii):
                key = TIEBREAK[action] if tb is None else tb
                parts.append((ii, at[ii], np.full(len(ii), A[action]), actor[ii], org[ii], note[ii],
                              np.full(len(ii), key)))

        add(np.ones(b - a, dtype=bool), rep, "report", reporter, gcode)
        add(st[:, 0] != NA, st[:, 0], "accept", leader, village)
        add(st[:, 1] != NA, st[:, 1], "dispatch", chief, tcode)
        add(st[:, 2] != NA, st[:, 2], "handle", handler, handler_org)
        add(st[:, 3] != NA, st[:, 3], "feedback", worker, gcode)
        add(st[:, 4] != NA, st[:, 4], "close", close_actor, close_org)
        # reopened cases: the first feedback and close, then the reopen (feedback_at / closed_at are the last)
        ro = c.get("reopen")
        if ro is not None:
            lo_r, hi_r = np.searchsorted(ro["case"], [a, b])
            if hi_r > lo_r:
                ii = ro["case"][lo_r:hi_r] - a
                m = np.zeros(b - a, dtype=bool)
                m[ii] = True
                for action, times, tb in (("feedback", ro["feedback"], TIEBREAK["feedback"]),
                                          ("close", ro["close"], TIEBREAK["close"]),
                                          ("reopen", ro["reopen"], TIEBREAK["reopen"])):
                    at = np.zeros(b - a, dtype=np.int64)
                    at[ii] = times[lo_r:hi_r]
                    actor = {"feedback": worker, "close": close_actor, "reopen": chief}[action]
                    org = {"feedback": gcode, "close": close_org, "reopen": tcode}[action]
                    note = (np.full(b - a, "群众反映问题未解决，重新办理", dtype=object) if action == "reopen"
                            else empty)
                    add(m, at, action, actor, org, note, tb=tb)
        # between dispatch and handle: returns / re-dispatches, reassign, escalate
        d1, h = st[:, 1], st[:, 2]
        gap = np.maximum(h - d1, 0)
        bounce = c["bounce"][a:b]
        nk = ctx.dept_code.shape[1]
        idx = np.arange(a, b)
        for nb in (1, 2):
            m = bounce == nb
            if not m.any():
                continue
            u = np.sort(rng.random((b - a, 2 * nb)), axis=1)
            for j in range(nb):
                tr = d1 + np.floor(u[:, 2 * j] * gap).astype(np.int64)
                td = d1 + np.floor(u[:, 2 * j + 1] * gap).astype(np.int64)
                rnote = return_notes[rng.integers(0, len(return_notes), b - a)]
                # the department first sent the case returns it: another department than the one that
                # finally handles it (chosen by case number, so no random draw moves the other events)
                wrong = (dkind + 1 + (idx + 3 * j) % (nk - 1)) % nk
                w_org = np.where(has_dept, ctx.dept_code[drow, wrong], handler_org)
                w_actor = np.where(has_dept, ctx.dept_name[drow, wrong], handler)
                add(m, tr, "return", w_actor, w_org, rnote, tb=21 + 2 * j)
                add(m, td, "dispatch", chief, tcode, tb=22 + 2 * j)
        m = c["reassign"][a:b]
        add(m, d1 + np.floor(rng.random(b - a) * gap).astype(np.int64), "reassign", chief, tcode,
            np.full(b - a, "改派承办单位", dtype=object))
        m = c["escalate"][a:b]
        esc_org = np.where(level == 4, city, county_codes[county])
        esc_actor = np.where(level == 4, center[-1], center[np.minimum(county, len(ctx.counties) - 1)])
        add(m, d1 + np.floor(rng.random(b - a) * gap).astype(np.int64), "escalate", esc_actor, esc_org,
            np.where(level == 4, "提请市级协调", "提请县级协调").astype(object))
        m = c["note"][a:b]
        last = np.where(st[:, 4] != NA, st[:, 4], np.maximum(rep, np.max(st, axis=1)))
        add(m, rep + np.floor(rng.random(b - a) * (last - rep)).astype(np.int64), "note", worker, gcode,
            notes[rng.integers(0, len(notes), b - a)])
        # supervision orders
        lo, hi = np.searchsorted(s_case, [a, b])
        if hi > lo:
            ii = s_case[lo:hi] - a
            parts.append((ii, s_at[lo:hi], np.full(hi - lo, A["supervise"]), s_actor[lo:hi], s_by[lo:hi],
                          s_note[lo:hi], np.full(hi - lo, TIEBREAK["supervise"])))
        ev_case = np.concatenate([p[0] for p in parts])
        ev_at = np.concatenate([p[1] for p in parts])
        ev_act = np.concatenate([p[2] for p in parts])
        ev_tb = np.concatenate([p[6] for p in parts])
        order = np.lexsort((ev_tb, ev_at, ev_case))
        ev_case, ev_at, ev_act = ev_case[order], ev_at[order], ev_act[order]
        counts = np.bincount(ev_case, minlength=b - a)
        starts = np.cumsum(counts) - counts
        seq = np.arange(len(ev_case)) - starts[ev_case] + 1
        actor = np.concatenate([p[3] for p in parts])[order]
        org = np.concatenate([p[4] for p in parts])[order]
        note = np.concatenate([p[5] for p in parts])[order]
        return list(zip(c["case_no"][a:b][ev_case].tolist(), seq.tolist(), _ts(ev_at),
                        action_names[ev_act].tolist(), actor.tolist(), org.tolist(), note.tolist()))

    def chunks():
        for a in range(0, n, EVENT_CHUNK):
            b = min(n, a + EVENT_CHUNK)
            yield chunk_rows(a, b)
            prog(b / n)

    if n == 0:
        w.write("case_events.csv", header, [])
    else:
        w.write("case_events.csv", header, chunks())
