"""What the sample data holds on purpose for the early warning and the duplicate detection, and its ground truth.

:class:`Injection` is used by generator.py (``generate``) at every scale, from its own random stream
(``seed + INJECT_SEED_OFFSET``), so that a benchmark can score a detector against known answers:

- **surges** — a grid's noise complaints (邻里矛盾, the noise titles) at least ``NOISE_MULTIPLIER`` × the grid's
  expected count on each of ``NOISE_DAYS`` days a week before ``as_of``; a township's wage disputes (劳资纠纷) on
  the ``WAGE_DAYS`` days before the last Spring Festival in the data, at least ``WAGE_MULTIPLIER`` × their
  expected count *with* the seasonal rise; a county-wide telecom-fraud wave (电信诈骗) of ``FRAUD_DAYS`` days, at
  least ``FRAUD_MULTIPLIER`` × expected.  Each surge day holds at least ``SURGE_MIN_PER_DAY`` cases of it
  (a grid expects a few hundredths of a case a day: four times nothing would be nothing).
- **seasonal** (not an anomaly): everywhere, wage disputes rise ``LABOUR_PRE_SF_FACTOR`` × in the
  ``LABOUR_PRE_SF_DAYS`` days before every Spring Festival (年底讨薪), on top of the general festival peak.
- **a silent grid** — a grid that reported all along reports nothing from ``SILENT_DAYS`` days before ``as_of``
  (its cases of those days went to the other grids of its village).
- **duplicate groups** — the same matter reported again 1 to 4 times within ``DUP_WINDOW_DAYS`` days: same
  category, the same grid or another grid of the same village, the title and description lightly reworded;
  by another reporter, or (``recall``) by the same caller on the hotline again.

Every injected case is an existing case of the same day moved to another grid or category (the surges, the
silent grid, the seasonal rise) or to the primary's place and category (a duplicate): the number of cases and
the per-day totals stay as drawn, so the article's figures are untouched.  The days' totals are topped up from
other days only when a day has too few cases to move (tiny test scales).  Meeting (屋场会) cases are never moved
(涟源市's count is exact).  The ground truth is written beside the dataset as ``ground_truth.json``
(sample_data/ground_truth.py reads it; docs/DATA_CONTRACT.md, "ground_truth.json").
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from . import vocab
from .ground_truth import FORMAT, GROUND_TRUTH

DAY = 86_400

INJECT_SEED_OFFSET = 104_729
INJECT_MIN_CASES = 300          # fewer cases than this: nothing injected (the ground truth says so: empty lists)
SURGE_MIN_PER_DAY = 3
NOISE_MULTIPLIER, NOISE_DAYS, NOISE_LAST_BEFORE = 4, 5, 5          # the last surge day is as_of - 5 days
FRAUD_MULTIPLIER, FRAUD_DAYS, FRAUD_LAST_BEFORE = 3, 7, 40
WAGE_MULTIPLIER, WAGE_DAYS = 3, 10                                   # the 10 days before the Spring Festival
LABOUR_PRE_SF_FACTOR, LABOUR_PRE_SF_DAYS = 1.6, 30
SILENT_DAYS = 21
SILENT_MIN_BEFORE = 3           # cases the silent grid has at least before it falls silent (tiny scales)
DUP_WINDOW_DAYS = 7
DUP_GROUP_SHARE = 0.0003        # groups per case: 321 at full scale, 15 at the demo's
DUP_MIN_GROUPS = 4
DUP_SIZES, DUP_SIZE_P = [2, 3, 4, 5], [0.5, 0.25, 0.15, 0.1]
DUP_RECALL_SHARE = 0.35
DUP_SAME_GRID_SHARE = 0.6

_CAT = {c[0]: i for i, c in enumerate(vocab.CATEGORIES)}


class _Surge:
    def __init__(self, kind: str, level: str, code: str, grids: np.ndarray, category: str, days: np.ndarray,
                 multiplier: float):
        self.kind, self.level, self.code, self.grids = kind, level, code, grids
        self.category, self.cat, self.days, self.multiplier = category, _CAT[category], days, multiplier
        self.expected = np.zeros(len(days))
        self.need = np.zeros(len(days), dtype=np.int64)
        self.members: list[int] = []    # the cases moved into the surge (the noise surge gets the noise titles)


class Injection:
    """Plans the injections before the cases' days are drawn into cases, applies them after their grid,
    category and source are drawn, words the duplicates, and writes the ground truth."""

    def __init__(self, rng: np.random.Generator, *, sources: list[str], spring_festival: dict[int, tuple[int, int]],
                 names, phones):
        """``sources``, ``spring_festival`` and the ``names(rng, n)`` / ``phones(rng, n)`` drawers are
        generator.py's (passed in: this module does not import it, it imports this one)."""
        self.rng = rng
        self.sources, self.spring_festival, self.names, self.phones = sources, spring_festival, names, phones
        self.active = False
        self.surges: list[_Surge] = []
        self.seasonal: list[tuple[int, int]] = []   # (first day, last day) of each pre-festival window
        self.silent: int | None = None              # grid index
        self.silent_from = 0                        # day index
        self.groups: list[tuple[str, int, list[int]]] = []  # kind, primary, duplicates (case indices)
        self.dup_member = None

    # ------------------------------------------------------------------------------------------- plan
    def _grid_cat_p(self, ctx) -> tuple[np.ndarray, np.ndarray]:
        """Each grid's probability of a case, and each grid's category shares (grids × categories)."""
        p = ctx.g_pop / ctx.g_pop.sum()
        cu = np.array([c[4] for c in vocab.CATEGORIES])
        cr = np.array([c[5] for c in vocab.CATEGORIES])
        share = np.where(ctx.g_urban[:, None], (cu / cu.sum())[None, :], (cr / cr.sum())[None, :])
        return p, share

    def plan(self, ctx, wts: np.ndarray, per_day: np.ndarray) -> np.ndarray:
        n, n_days = ctx.n_cases, len(wts)
        if n < INJECT_MIN_CASES or n_days < 400:
            return per_day
        self.active = True
        rng = self.rng
        p, share = self._grid_cat_p(ctx)
        day_p = wts / wts.sum()
        self.p, self.share = p, share
        # the labour seasonal rise before every Spring Festival
        for y in sorted(self.spring_festival):
            sf = (dt.date(y, *self.spring_festival[y]) - ctx.start).days
            lo, hi = max(0, sf - LABOUR_PRE_SF_DAYS), min(n_days, sf) - 1
            if lo <= hi:
                self.seasonal.append((lo, hi))
        no_micro = ctx.g_micro_count == 0
        siblings = np.bincount(ctx.g_village, minlength=len(ctx.v_code))[ctx.g_village]
        # the noise grid: one of the 50 busiest urban grids without micro-grids
        nb = _CAT["neighbour"]
        score = np.where(no_micro & ctx.g_urban, p * share[:, nb], -1.0)
        noise = int(rng.choice(np.argsort(-score, kind="stable")[:50]))
        # the silent grid: one of the 50 busiest grids without micro-grids, in a village with other grids
        score = np.where(no_micro & (siblings >= 2) & (ctx.g_village != ctx.g_village[noise]), p, -1.0)
        self.silent = int(rng.choice(np.argsort(-score, kind="stable")[:50]))
        self.silent_from = n_days - SILENT_DAYS
        # the wage township: one of the 10 with the most wage disputes, not the silent grid's
        lab = _CAT["labour"]
        t_score = np.bincount(ctx.g_town, weights=p * share[:, lab], minlength=len(ctx.townships))
        t_score[ctx.g_town[self.silent]] = -1.0
        town = int(rng.choice(np.argsort(-t_score, kind="stable")[:10]))
        county = int(rng.integers(0, len(ctx.counties)))
        # the last Spring Festival whose 10 days before lie in the data, with an earlier one before it
        sfs = [(dt.date(y, *self.spring_festival[y]) - ctx.start).days for y in sorted(self.spring_festival)]
        inside = [d for d in sfs if WAGE_DAYS <= d <= n_days and any(e - LABOUR_PRE_SF_DAYS >= 0 for e in sfs if e < d)]
        day_range = lambda last, k: np.arange(last - k + 1, last + 1)  # noqa: E731
        all_grids = np.arange(len(ctx.g_code))
        self.surges.append(_Surge("grid_noise", "grid", str(ctx.g_code[noise]), np.array([noise]), "neighbour",
                                  day_range(n_days - NOISE_LAST_BEFORE, NOISE_DAYS), NOISE_MULTIPLIER))
        if inside:
            self.surges.append(_Surge("township_wages", "township", ctx.townships[town],
                                      all_grids[ctx.g_town == town], "labour", day_range(inside[-1] - 1, WAGE_DAYS),
                                      WAGE_MULTIPLIER))
        self.surges.append(_Surge("county_fraud", "county", ctx.counties[county], all_grids[ctx.g_county == county],
                                  "telecom_fraud", day_range(n_days - FRAUD_LAST_BEFORE, FRAUD_DAYS),
                                  FRAUD_MULTIPLIER))
        for s in self.surges:
            rate = n * day_p[s.days] * float((p[s.grids] * share[s.grids, s.cat]).sum())
            if s.category == "labour":
                rate = rate * np.where(self._pre_sf(s.days), LABOUR_PRE_SF_FACTOR, 1.0)
            s.expected = rate
            s.need = np.maximum(SURGE_MIN_PER_DAY, np.ceil(s.multiplier * rate - 1e-9)).astype(np.int64)
        # a day needs enough cases to move: top it up from the busiest other days (tiny scales only)
        per_day = per_day.copy()
        want = np.zeros(n_days, dtype=np.int64)
        for s in self.surges:
            want[s.days] = np.maximum(want[s.days], 2 * s.need + 2)
        short = np.maximum(0, want - per_day)
        for d in np.nonzero(short)[0].tolist():
            for _ in range(int(short[d])):
                donor = np.where(want > 0, -1, per_day).argmax()
                per_day[donor] -= 1
                per_day[d] += 1
        return per_day

    def _pre_sf(self, days: np.ndarray) -> np.ndarray:
        m = np.zeros(len(days), dtype=bool)
        for lo, hi in self.seasonal:
            m |= (days >= lo) & (days <= hi)
        return m

    # ------------------------------------------------------------------------------------------- apply
    def apply(self, ctx, day: np.ndarray, rep: np.ndarray, grid: np.ndarray, cat: np.ndarray, src: np.ndarray,
              wts: np.ndarray) -> None:
        n = len(day)
        self.dup_member = np.zeros(n, dtype=bool)
        if not self.active:
            return
        rng = self.rng
        meeting = src == self.sources.index("meeting")   # never moved: 涟源市's 屋场会 count is exact
        protected = meeting.copy()
        lab = _CAT["labour"]
        # seasonal: a share of the other cases of the pre-festival days become wage disputes, so that their
        # share is LABOUR_PRE_SF_FACTOR × as large
        base = self.share[grid, lab]
        q = base * (LABOUR_PRE_SF_FACTOR - 1) / (1 - base)
        flip = self._pre_sf(day) & (cat != lab) & (rng.random(n) < q)
        cat[flip] = lab
        # the silent grid: its cases from silent_from on go to the other grids of its village
        g0, s0 = self.silent, self.silent_from
        ids = np.arange(len(ctx.g_code))
        sib = np.nonzero((ctx.g_village == ctx.g_village[g0]) & (ids != g0))[0]
        sib_p = ctx.g_pop[sib] / ctx.g_pop[sib].sum()
        late = np.nonzero((grid == g0) & (day >= s0))[0]
        grid[late] = sib[rng.choice(len(sib), len(late), p=sib_p)]
        before = np.nonzero((grid == g0) & (day < s0))[0]
        if len(before) < SILENT_MIN_BEFORE:  # a grid that reported all along, even at a tiny scale
            cand = np.nonzero((day < s0) & (day >= s0 - 120) & ~protected & (grid != g0))[0]
            take = rng.choice(cand, min(len(cand), SILENT_MIN_BEFORE - len(before)), replace=False)
            grid[take] = g0
        protected[grid == g0] = True   # the silent grid keeps what it had before
        # the surges: on each day, cases of other regions become the surge's until it holds `need`
        for s in self.surges:
            in_region = np.zeros(len(ctx.g_code), dtype=bool)
            in_region[s.grids] = True
            if s.days[0] >= s0 or s.days[-1] >= s0:
                in_region[g0] = False
            targets = np.nonzero(in_region)[0]
            tp = ctx.g_pop[targets] / ctx.g_pop[targets].sum()
            for d, need in zip(s.days.tolist(), s.need.tolist()):
                lo, hi = np.searchsorted(day, [d, d + 1])
                idx = np.arange(lo, hi)
                hit = in_region[grid[idx]] & (cat[idx] == s.cat)
                have = int(hit.sum())
                protected[idx[hit]] = True
                if have >= need:
                    continue
                free = idx[~protected[idx] & ~in_region[grid[idx]]]
                if len(free) < need - have:
                    free = idx[~protected[idx] & ~hit]
                take = np.sort(rng.choice(free, min(len(free), need - have), replace=False))
                grid[take] = targets[rng.choice(len(targets), len(take), p=tp)]
                cat[take] = s.cat
                protected[take] = True
                s.members.extend(take.tolist())
        # the duplicate groups
        v_silent = ctx.g_village[g0]
        n_groups = max(DUP_MIN_GROUPS, int(round(DUP_GROUP_SHARE * n)))
        end = rep[-1] - DUP_WINDOW_DAYS * DAY
        cand = np.nonzero(~protected & (rep <= end) & (ctx.g_village[grid] != v_silent))[0]
        for i in rng.permutation(cand).tolist():
            if len(self.groups) >= n_groups:
                break
            if protected[i]:
                continue
            size = int(rng.choice(DUP_SIZES, p=DUP_SIZE_P))
            lo = int(np.searchsorted(rep, rep[i], side="right"))
            hi = int(np.searchsorted(rep, rep[i] + DUP_WINDOW_DAYS * DAY, side="right"))
            free = np.arange(lo, hi)
            free = free[~protected[free]]
            if len(free) < size - 1:
                continue
            js = np.sort(rng.choice(free, size - 1, replace=False))
            v = ctx.g_village[grid[i]]
            others = np.nonzero((ctx.g_village == v) & (ids != grid[i]) & (ids != g0))[0]
            same = rng.random(len(js)) < DUP_SAME_GRID_SHARE
            alt = others[rng.integers(0, len(others), len(js))] if len(others) else np.full(len(js), grid[i])
            grid[js] = np.where(same | (len(others) == 0), grid[i], alt)
            cat[js] = cat[i]
            kind = "recall" if rng.random() < DUP_RECALL_SHARE else "another_reporter"
            if kind == "recall":
                src[i] = src[js] = self.sources.index("hotline")
            protected[i] = protected[js] = True
            self.dup_member[i] = self.dup_member[js] = True
            self.groups.append((kind, i, js.tolist()))
        self.groups.sort(key=lambda g: g[1])

    # ------------------------------------------------------------------------------------------- texts
    def _vary(self, text: str, prefixes: list[str], suffixes: list[str]) -> str:
        """A light rewording: one or two words swapped for a synonym, then a prefix or a suffix or neither;
        never the text itself."""
        rng = self.rng
        out = text
        pairs = [(a, b) if a in out else (b, a) for a, b in vocab.DUP_SYNONYMS if a in out or b in out]
        for k in rng.permutation(len(pairs))[:int(rng.integers(1, 3))].tolist() if pairs else []:
            a, b = pairs[k]
            out = out.replace(a, b, 1)
        r = rng.random()
        if r < 0.3:
            out = prefixes[int(rng.integers(0, len(prefixes)))] + out
        elif r < 0.8:
            out = out + suffixes[int(rng.integers(0, len(suffixes)))]
        if out == text:
            out = text + next(s for s in suffixes[::-1] if s)
        return out

    def texts(self, ctx, c: dict, title: np.ndarray, desc: np.ndarray, rn: np.ndarray, rp: np.ndarray) -> None:
        """The noise surge's titles, and each duplicate's title and description (a light variation of its
        primary's) and reporter (the primary's again for a hotline re-call, someone else otherwise)."""
        if not self.active:
            return
        rng = self.rng
        vshort = np.array(ctx.v_short)
        for s in self.surges:
            if s.kind == "grid_noise":
                for i in s.members:
                    t = vocab.NOISE_TITLES[int(rng.integers(0, len(vocab.NOISE_TITLES)))]
                    title[i] = t.replace("{v}", str(vshort[ctx.g_village[c["grid"][i]]]) + str(c["place"][i]))
        fresh_n, fresh_p = self.names(rng, 2 * len(self.groups) + 1), self.phones(rng, 2 * len(self.groups) + 1)
        for k, (kind, i, js) in enumerate(self.groups):
            if kind == "recall" and not rp[i]:
                rn[i], rp[i] = str(fresh_n[2 * k]), str(fresh_p[2 * k])
            for j in js:
                suffixes = vocab.RECALL_SUFFIXES if kind == "recall" else vocab.DUP_SUFFIXES
                title[j] = self._vary(str(title[i]), vocab.DUP_PREFIXES, suffixes)
                # the primary's description reworded (the follower's own source's, when it came another way)
                same_way = c["src"][j] == c["src"][i]
                own = str(desc[i] if same_way else desc[j])
                desc[j] = self._vary(own, [""], vocab.DUP_DESC_ADDITIONS)
                if desc[j] == desc[i]:
                    desc[j] = desc[j] + vocab.DUP_DESC_ADDITIONS[-1]
                if kind == "recall":
                    rn[j], rp[j] = rn[i], rp[i]
                elif rp[j] == rp[i] and rn[j] == rn[i]:
                    rn[j], rp[j] = str(fresh_n[2 * k + 1]), str(fresh_p[2 * k + 1])

    # ------------------------------------------------------------------------------------------- write
    def write(self, path: Path, ctx, c: dict, seed: int) -> dict:
        """Write the ground truth (format: sample_data/ground_truth.py) and return it."""
        day_str = lambda d: (ctx.start + dt.timedelta(days=int(d))).isoformat()  # noqa: E731
        gcode = np.where(c["micro"] >= 0, ctx.m_code[np.maximum(c["micro"], 0)], ctx.g_code[c["grid"]])
        day = (c["rep"] - ctx.start_sec) // DAY
        surges = []
        for s in self.surges:
            in_region = np.zeros(len(ctx.g_code), dtype=bool)
            in_region[s.grids] = True
            counts = []
            for d in s.days.tolist():
                lo, hi = np.searchsorted(day, [d, d + 1])
                counts.append(int((in_region[c["grid"][lo:hi]] & (c["cat"][lo:hi] == s.cat)).sum()))
            surges.append({"kind": s.kind, "region_code": s.code, "region_level": s.level, "category": s.category,
                           "first_day": day_str(s.days[0]), "last_day": day_str(s.days[-1]),
                           "multiplier": s.multiplier,
                           "expected_per_day": [round(float(x), 4) for x in s.expected],
                           "cases_per_day": counts})
        seasonal = [{"kind": "labour_before_spring_festival", "region_code": ctx.city_code,
                     "region_level": "city", "category": "labour", "first_day": day_str(lo), "last_day": day_str(hi),
                     "factor": LABOUR_PRE_SF_FACTOR} for lo, hi in self.seasonal]
        silent = []
        if self.silent is not None:
            g = self.silent
            silent.append({"grid_code": str(ctx.g_code[g]), "from_day": day_str(self.silent_from),
                           "cases_before": int(((c["grid"] == g) & (day < self.silent_from)).sum())})
        groups = [{"kind": kind, "primary": str(c["case_no"][i]),
                   "duplicates": [str(c["case_no"][j]) for j in js],
                   "grid_codes": [str(gcode[x]) for x in [i, *js]], "category": vocab.CATEGORIES[c["cat"][i]][0]}
                  for kind, i, js in self.groups]
        truth = {"format": FORMAT, "seed": int(seed), "scale": ctx.scale, "as_of": ctx.as_of.isoformat(),
                 "cases": int(c["n"]), "duplicate_window_days": DUP_WINDOW_DAYS, "surges": surges,
                 "seasonal": seasonal, "silent_grids": silent, "duplicate_groups": groups}
        Path(path).write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return truth


__all__ = ["GROUND_TRUTH", "Injection", "INJECT_SEED_OFFSET"]
