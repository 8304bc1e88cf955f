"""WGS84 <-> local ENU (the ``map`` frame) conversions, exact through ECEF.

Gazebo's ``spherical_coordinates`` (surface model EARTH_WGS84, world frame ENU) and the
clearance report's GeoJSON both go through here, so the map frame means the same everywhere.
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

_A = 6378137.0                      # WGS84 semi-major axis, m
_F = 1.0 / 298.257223563            # WGS84 flattening
_E2 = _F * (2.0 - _F)               # first eccentricity squared
#: Refinements of Bowring's latitude (converged to well below a micrometre).
_BOWRING_STEPS = 5


def geodetic_to_ecef(lat_deg, lon_deg, alt_m):
    """Geodetic (deg, deg, m) to ECEF metres; accepts scalars or numpy arrays."""
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    sin_lat = np.sin(lat)
    n = _A / np.sqrt(1.0 - _E2 * sin_lat * sin_lat)
    x = (n + alt_m) * np.cos(lat) * np.cos(lon)
    y = (n + alt_m) * np.cos(lat) * np.sin(lon)
    z = (n * (1.0 - _E2) + alt_m) * sin_lat
    return x, y, z


def ecef_to_geodetic(x, y, z):
    """ECEF metres to geodetic (deg, deg, m), Bowring's method refined twice."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=float)
    lat, lon, alt = _bowring(x, y, z, np.sin, np.cos, np.sqrt)
    return np.degrees(lat), np.degrees(lon), alt


def _bowring(x, y, z, sin, cos, sqrt):
    """Latitude and longitude (rad) and altitude (m) of ECEF points by Bowring's method,
    with the given sin, cos and sqrt (numpy's for arrays, math's for one point: the same
    bits); arctan2 and hypot are numpy's either way (math's differ in the last bit)."""
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - _E2))
    for _ in range(_BOWRING_STEPS):
        sin_lat = sin(lat)
        n = _A / sqrt(1.0 - _E2 * sin_lat * sin_lat)
        alt = p / cos(lat) - n
        lat = np.arctan2(z, p * (1.0 - _E2 * n / (n + alt)))
    sin_lat = sin(lat)
    n = _A / sqrt(1.0 - _E2 * sin_lat * sin_lat)
    return lat, lon, p / cos(lat) - n


def _scalars(*values) -> bool:
    """Whether every value is a python (or numpy float64) scalar, not an array."""
    return all(isinstance(v, (float, int)) for v in values)


def _ecef_to_geodetic_scalar(x: float, y: float,
                             z: float) -> Tuple[np.float64, np.float64, np.float64]:
    """:func:`ecef_to_geodetic` of one point, the same floats (numpy float64 scalars).

    One GNSS fix at a time is the stack's hot case (the simulator's receiver, 5 Hz), where
    numpy's per-call overhead on 0-d arrays was most of the ~40 us (:func:`_bowring` with
    math's sin, cos and sqrt; test_geo.py holds the two paths equal).
    """
    lat, lon, alt = _bowring(x, y, z, math.sin, math.cos, math.sqrt)
    return np.float64(math.degrees(lat)), np.float64(math.degrees(lon)), np.float64(alt)


class LocalCartesian:
    """A local ENU tangent plane anchored at a geodetic origin."""

    def __init__(self, lat_deg: float, lon_deg: float, alt_m: float = 0.0) -> None:
        if not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):
            raise ValueError(f'origin out of range: lat={lat_deg}, lon={lon_deg}')
        self.lat_deg = float(lat_deg)
        self.lon_deg = float(lon_deg)
        self.alt_m = float(alt_m)
        self._x0, self._y0, self._z0 = geodetic_to_ecef(lat_deg, lon_deg, alt_m)
        lat = math.radians(lat_deg)
        lon = math.radians(lon_deg)
        # Rows: east, north, up unit vectors in ECEF.
        self._r = np.array([
            [-math.sin(lon), math.cos(lon), 0.0],
            [-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)],
            [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)],
        ])

    def to_enu(self, lat_deg, lon_deg, alt_m=0.0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Geodetic to local east, north, up (m)."""
        if _scalars(lat_deg, lon_deg, alt_m):
            # one fix (the localisation and the supervisor, 5 Hz each): geodetic_to_ecef on
            # python floats (math's sin, cos and sqrt are numpy's bits), the rotation as the
            # same matrix product tensordot makes (its summation is BLAS's)
            lat, lon = math.radians(lat_deg), math.radians(lon_deg)
            sin_lat, cos_lat = math.sin(lat), math.cos(lat)
            n = _A / math.sqrt(1.0 - _E2 * sin_lat * sin_lat)
            d = np.array([[(n + alt_m) * cos_lat * math.cos(lon) - self._x0],
                          [(n + alt_m) * cos_lat * math.sin(lon) - self._y0],
                          [(n * (1.0 - _E2) + alt_m) * sin_lat - self._z0]])
            e, n, u = np.dot(self._r, d).reshape(3)
            return e, n, u
        x, y, z = geodetic_to_ecef(lat_deg, lon_deg, alt_m)
        d = np.stack([np.asarray(x) - self._x0, np.asarray(y) - self._y0,
                      np.asarray(z) - self._z0])
        e, n, u = np.tensordot(self._r, d, axes=1)
        return e, n, u

    def to_geodetic(self, east, north, up=0.0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local east, north, up (m) to geodetic (deg, deg, m)."""
        if _scalars(east, north, up):
            # one fix (the simulated receiver): the same product as tensordot's below
            d = np.dot(self._r.T, np.array([[east], [north], [up]], dtype=float)).reshape(3)
            return _ecef_to_geodetic_scalar(d[0] + self._x0, d[1] + self._y0, d[2] + self._z0)
        enu = np.stack(np.broadcast_arrays(np.asarray(east, float), np.asarray(north, float),
                                           np.asarray(up, float)))
        d = np.tensordot(self._r.T, enu, axes=1)
        return ecef_to_geodetic(d[0] + self._x0, d[1] + self._y0, d[2] + self._z0)


def yaw_from_xyzw(x: float, y: float, z: float, w: float) -> float:
    """Return the yaw (rad, ENU, REP-103) of an (x, y, z, w) unit quaternion.

    The one expression of the stack: the codec reads message quaternions with it too, so a
    yaw read from a plain tuple and from a message are the same bits.
    """
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
