"""County boundaries for the maps (GeoJSON shipped in sample_data/reference, © OpenStreetMap contributors)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "sample_data" / "reference"


@lru_cache(maxsize=1)
def county_features() -> dict[str, dict]:
    """Every county polygon we have, keyed by its division code."""
    out: dict[str, dict] = {}
    for path in sorted(REFERENCE_DIR.glob("*_counties.geojson")):
        with path.open(encoding="utf-8") as fh:
            for feat in json.load(fh).get("features", []):
                out[str(feat["properties"]["code"])] = feat
    return out


def features_for(codes: list[str]) -> list[dict]:
    """The polygons of those of ``codes`` that have one."""
    feats = county_features()
    return [feats[c] for c in codes if c in feats]
