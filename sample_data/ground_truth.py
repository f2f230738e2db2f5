"""The sample data's ground truth: what sample_data/injection.py put into a generated dataset on purpose.

``python -m sample_data --out DIR`` (and ``generate(DIR, …)``) writes ``DIR/ground_truth.json`` beside the CSV
files; it is not a file of the interchange format and the loader ignores it (docs/DATA_CONTRACT.md,
"ground_truth.json").  A benchmark reads it with :func:`read`::

    from sample_data.ground_truth import read
    truth = read("data/full")            # the folder, or the file itself
    for s in truth.surges: ...           # Surge(kind, region_code, region_level, category, first_day, …)
    truth.silent_grids[0].grid_code, truth.silent_grids[0].from_day
    for g in truth.duplicate_groups: g.primary, g.duplicates, g.case_nos

The format (``"format": "ground_truth/1"``), one JSON object:

- ``seed``, ``scale``, ``as_of`` (YYYY-MM-DD), ``cases`` (rows of cases.csv), ``duplicate_window_days``;
- ``surges``: ``kind`` (``grid_noise``, ``township_wages``, ``county_fraud``), ``region_code`` and
  ``region_level`` (``grid``, ``township``, ``county``), ``category`` (a code of categories.csv), ``first_day``
  and ``last_day`` (inclusive, dates of ``reported_at`` in Asia/Shanghai), ``multiplier`` (each day holds at
  least ``multiplier`` × ``expected_per_day``, and at least 3 cases), ``expected_per_day`` (the generator's
  expected count of that region and category on each day, seasons included) and ``cases_per_day`` (what
  cases.csv holds on each day, micro-grids counted with their grid);
- ``seasonal``: rises that are *not* anomalies (wage disputes before every Spring Festival, city-wide):
  ``kind``, ``region_code``, ``region_level``, ``category``, ``first_day``, ``last_day``, ``factor``;
- ``silent_grids``: ``grid_code``, ``from_day`` (no case reported in that grid from that day to ``as_of``),
  ``cases_before`` (cases it had before);
- ``duplicate_groups``: ``kind`` (``another_reporter`` or ``recall``: the same caller again on the hotline),
  ``primary`` (the first report's case_no), ``duplicates`` (the later ones, oldest first, within
  ``duplicate_window_days`` of the primary), ``grid_codes`` (primary's first; the same grid or another grid of
  the same village), ``category`` (all the same).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

GROUND_TRUTH = "ground_truth.json"
FORMAT = "ground_truth/1"


class GroundTruthError(ValueError):
    """The file is missing, not JSON, or not of this format; the message says which and where."""


@dataclass(frozen=True)
class Surge:
    kind: str
    region_code: str
    region_level: str
    category: str
    first_day: dt.date
    last_day: dt.date
    multiplier: float
    expected_per_day: tuple[float, ...]
    cases_per_day: tuple[int, ...]

    @property
    def days(self) -> list[dt.date]:
        return [self.first_day + dt.timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]


@dataclass(frozen=True)
class Seasonal:
    kind: str
    region_code: str
    region_level: str
    category: str
    first_day: dt.date
    last_day: dt.date
    factor: float


@dataclass(frozen=True)
class SilentGrid:
    grid_code: str
    from_day: dt.date
    cases_before: int


@dataclass(frozen=True)
class DuplicateGroup:
    kind: str
    primary: str
    duplicates: tuple[str, ...]
    grid_codes: tuple[str, ...]
    category: str

    @property
    def case_nos(self) -> tuple[str, ...]:
        return (self.primary, *self.duplicates)


@dataclass(frozen=True)
class GroundTruth:
    seed: int
    scale: str
    as_of: dt.date
    cases: int
    duplicate_window_days: int
    surges: tuple[Surge, ...]
    seasonal: tuple[Seasonal, ...]
    silent_grids: tuple[SilentGrid, ...]
    duplicate_groups: tuple[DuplicateGroup, ...]


def read(path: str | Path) -> GroundTruth:
    """The ground truth of a generated dataset: ``path`` is the dataset folder or the JSON file itself."""
    p = Path(path)
    if p.is_dir():
        p = p / GROUND_TRUTH
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GroundTruthError(f"{p}: no ground truth (made by python -m sample_data --out DIR)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GroundTruthError(f"{p}: not readable as JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise GroundTruthError(f"{p}: format {raw.get('format') if isinstance(raw, dict) else None!r}, "
                               f"expected {FORMAT!r}")
    day = dt.date.fromisoformat
    try:
        return GroundTruth(
            seed=int(raw["seed"]), scale=str(raw["scale"]), as_of=day(raw["as_of"]), cases=int(raw["cases"]),
            duplicate_window_days=int(raw["duplicate_window_days"]),
            surges=tuple(Surge(s["kind"], s["region_code"], s["region_level"], s["category"], day(s["first_day"]),
                               day(s["last_day"]), float(s["multiplier"]), tuple(s["expected_per_day"]),
                               tuple(s["cases_per_day"])) for s in raw["surges"]),
            seasonal=tuple(Seasonal(s["kind"], s["region_code"], s["region_level"], s["category"],
                                    day(s["first_day"]), day(s["last_day"]), float(s["factor"]))
                           for s in raw["seasonal"]),
            silent_grids=tuple(SilentGrid(s["grid_code"], day(s["from_day"]), int(s["cases_before"]))
                               for s in raw["silent_grids"]),
            duplicate_groups=tuple(DuplicateGroup(g["kind"], g["primary"], tuple(g["duplicates"]),
                                                  tuple(g["grid_codes"]), g["category"])
                                   for g in raw["duplicate_groups"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise GroundTruthError(f"{p}: not of the format {FORMAT!r} ({type(exc).__name__}: {exc})") from None
