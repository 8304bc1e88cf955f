"""Tests of the WGS84 <-> ENU conversion against known geodesy."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from demining_bringup.contract.geo import LocalCartesian, ecef_to_geodetic, geodetic_to_ecef


def test_ecef_of_known_points():
    x, y, z = geodetic_to_ecef(0.0, 0.0, 0.0)
    assert math.isclose(x, 6378137.0) and abs(y) < 1e-6 and abs(z) < 1e-6
    x, y, z = geodetic_to_ecef(90.0, 0.0, 0.0)
    assert math.isclose(z, 6356752.314245, rel_tol=1e-12)


def test_one_arc_second_north_is_about_31_metres():
    lc = LocalCartesian(45.0, 16.0, 0.0)
    e, n, u = lc.to_enu(45.0 + 1.0 / 3600.0, 16.0, 0.0)
    # Meridian radius of curvature at 45 deg: 6367381.8 m -> 30.87 m per arc second.
    assert abs(float(n) - 30.87) < 0.01
    assert abs(float(e)) < 1e-6 and abs(float(u)) < 1e-3


def test_east_is_east():
    lc = LocalCartesian(-12.0, 18.0, 1200.0)
    e, n, _ = lc.to_enu(-12.0, 18.001, 1200.0)
    assert e > 100.0 and abs(float(n)) < 0.01


@settings(max_examples=50, deadline=None)
@given(lat=st.floats(-80, 80), lon=st.floats(-179, 179), e=st.floats(-5000, 5000),
       n=st.floats(-5000, 5000), u=st.floats(-100, 100))
def test_round_trip_is_sub_millimetre(lat, lon, e, n, u):
    lc = LocalCartesian(lat, lon, 100.0)
    la, lo, al = lc.to_geodetic(e, n, u)
    e2, n2, u2 = lc.to_enu(la, lo, al)
    assert np.allclose([e2, n2, u2], [e, n, u], atol=1e-3)


def test_ecef_round_trip_vectorised():
    lat = np.array([10.0, -33.3, 60.0])
    lon = np.array([100.0, 18.4, -150.0])
    alt = np.array([0.0, 500.0, -20.0])
    la, lo, al = ecef_to_geodetic(*geodetic_to_ecef(lat, lon, alt))
    assert np.allclose(la, lat, atol=1e-9) and np.allclose(lo, lon, atol=1e-9)
    assert np.allclose(al, alt, atol=1e-4)


def _bits(values):
    return [(type(v), float(v).hex()) for v in values]


@settings(max_examples=300, deadline=None)
@given(lat0=st.floats(-80, 80), lon0=st.floats(-179, 179), alt0=st.floats(-400, 5000),
       e=st.floats(-5000, 5000), n=st.floats(-5000, 5000), u=st.floats(-100, 100))
def test_one_point_conversions_are_the_array_conversions_bit_for_bit(lat0, lon0, alt0, e, n,
                                                                     u):
    # a python float (one GNSS fix) takes a scalar path; a 0-d array the array path: the same
    # floats and types (numpy float64) either way
    lc = LocalCartesian(lat0, lon0, alt0)
    geo = lc.to_geodetic(e, n, u)
    assert _bits(geo) == _bits(lc.to_geodetic(np.asarray(e), np.asarray(n), np.asarray(u)))
    assert all(type(v) is np.float64 for v in geo)
    lat, lon, alt = (float(v) for v in geo)
    enu = lc.to_enu(lat, lon, alt)
    assert _bits(enu) == _bits(lc.to_enu(np.asarray(lat), np.asarray(lon), np.asarray(alt)))
    zero = lc.to_enu(np.asarray(lat), np.asarray(lon), np.asarray(0.0))
    assert _bits(lc.to_enu(lat, lon, 0)) == _bits(zero)
