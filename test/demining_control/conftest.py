"""Fixtures shared by the control tests."""

import json

import pytest

from demining_bringup.contract.geo import LocalCartesian

LAT0, LON0 = 45.0, 16.0


@pytest.fixture
def area_file(tmp_path):
    """A GeoJSON hazard area: a 30 x 20 m square with its south-west corner at the origin."""
    lc = LocalCartesian(LAT0, LON0, 0.0)
    ring = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0), (0.0, 0.0)]
    lat, lon, _ = lc.to_geodetic([p[0] for p in ring], [p[1] for p in ring], [0.0] * len(ring))
    doc = {'type': 'Feature', 'properties': {'name': 'square', 'origin': [LAT0, LON0]},
           'geometry': {'type': 'Polygon',
                        'coordinates': [[[float(a), float(b)] for a, b in zip(lon, lat)]]}}
    path = tmp_path / 'area.geojson'
    path.write_text(json.dumps(doc))
    return str(path)
