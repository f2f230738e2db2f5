"""County boundaries for the maps (GeoJSON shipped in sample_data/reference, © OpenStreetMap contributors)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "sample_data" / "reference"


@lru_cache(maxsize=1)
def county_features() -> dict[str, dict]:
    """Every county polygon we have, keyed by its division code."""
    out: dict[str, dict] = {}
    for path in sorted(REFERENCE_DIR.glob("*_counties.geojson")):
        with path.open(encoding="utf-8") as fh:
            for feat in json.load(fh).get("features", []):
                out[str(feat["properties"]["code"])] = feat
    return out


def _signed_area(ring: list) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1])) / 2.0


def _rewind_polygon(rings: list) -> list:
    # d3-geo (Vega/Altair) wants exterior rings clockwise, the opposite of RFC 7946;
    # with the RFC orientation it fills the whole globe instead of the county.
    out = []
    for i, ring in enumerate(rings):
        clockwise = _signed_area(ring) < 0
        want_clockwise = i == 0
        out.append(ring if clockwise == want_clockwise else ring[::-1])
    return out


def for_d3(feature: dict) -> dict:
    """A copy of ``feature`` with rings wound the way d3-geo expects."""
    geom = feature["geometry"]
    if geom["type"] == "Polygon":
        coords = _rewind_polygon(geom["coordinates"])
    elif geom["type"] == "MultiPolygon":
        coords = [_rewind_polygon(p) for p in geom["coordinates"]]
    else:
        coords = geom["coordinates"]
    return {**feature, "geometry": {"type": geom["type"], "coordinates": coords}}


def has_shapes(codes: list[str]) -> bool:
    """Whether any of ``codes`` has a polygon."""
    feats = county_features()
    return any(c in feats for c in codes)


def features_for(codes: list[str]) -> list[dict]:
    """The polygons of those of ``codes`` that have one, wound for d3-geo."""
    feats = county_features()
    return [for_d3(feats[c]) for c in codes if c in feats]
