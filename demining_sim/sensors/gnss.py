"""RTK-like GNSS receiver: white noise, a slowly drifting bias, random dropouts.

The bias is a first-order Gauss-Markov process (what multipath and slowly changing satellite
geometry look like on an RTK fix); dropouts start as a Poisson process and last an
exponentially distributed time (trees, ruins, a vehicle in a cutting). Fixes are produced
as WGS84 latitude/longitude/altitude through :class:`demining_bringup.contract.geo.LocalCartesian`
anchored at the world's origin, so the ``map`` frame means the same thing everywhere.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

from demining_bringup.contract.datatypes import GnssFix
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.parameters import param

# The vertical bias is this many times the horizontal one (satellite geometry, VDOP > HDOP).
_VERTICAL_BIAS_FACTOR = 2.0
_BIAS_SCALE = np.array([1.0, 1.0, _VERTICAL_BIAS_FACTOR])
_BIAS_SCALE.setflags(write=False)


@dataclasses.dataclass(frozen=True)
class GnssParams:
    """GNSS receiver model (defaults: RTK fix, field-robot grade)."""

    gnss_rate_hz: float = param(5.0, 'GNSS fix rate, Hz', min=0.1, max=100.0)
    gnss_sigma_h_m: float = param(0.02, 'Horizontal white noise (1 sigma), m (RTK)',
                                  min=0.0, max=50.0)
    gnss_sigma_v_m: float = param(0.04, 'Vertical white noise (1 sigma), m', min=0.0,
                                  max=100.0)
    gnss_bias_sigma_m: float = param(0.01, 'Steady-state sigma of the drifting bias, m',
                                     min=0.0, max=50.0)
    gnss_bias_tau_s: float = param(300.0, 'Correlation time of the bias, s', min=1.0,
                                   max=1e6)
    gnss_dropouts_per_hour: float = param(2.0, 'Mean number of random fix dropouts per '
                                          'hour', min=0.0, max=3600.0)
    gnss_dropout_mean_s: float = param(5.0, 'Mean duration of a random dropout, s',
                                       min=0.0, max=3600.0)
    gnss_antenna_height_m: float = param(0.0, 'Antenna height above base_link; the tilt '
                                         'moves it sideways (0: antenna on the axis)',
                                         min=0.0, max=10.0)


class GnssModel:
    """Produces :class:`GnssFix` samples from the true pose."""

    def __init__(self, params: GnssParams, origin: LocalCartesian,
                 rng: np.random.Generator) -> None:
        """Use ``origin`` for ENU -> WGS84 and ``rng`` for all randomness."""
        self.p = params
        self.origin = origin
        self.rng = rng
        # Python floats (east, north, up): numpy scalars make every fix's arithmetic slow;
        # the products are the array expression's, element by element.
        self._bias = tuple((rng.standard_normal(3) * params.gnss_bias_sigma_m
                            * _BIAS_SCALE).tolist())
        self._t_last: Optional[float] = None
        self._dropout_until = -math.inf

    def in_dropout(self, t: float) -> bool:
        """True while a random dropout lasts."""
        return t < self._dropout_until

    def sample(self, t: float, x: float, y: float, z: float, roll: float = 0.0,
               pitch: float = 0.0, yaw: float = 0.0,
               offset: Sequence[float] = (0.0, 0.0, 0.0)) -> Optional[GnssFix]:
        """Return a fix at time ``t`` for the true base_link pose, or None in a dropout.

        ``offset`` (E, N, U metres) is added to the measurement (the ``gnss_jump`` fault).
        """
        p = self.p
        dt = 0.0 if self._t_last is None else max(t - self._t_last, 0.0)
        self._t_last = t
        # Gauss-Markov bias: exact discretisation for any dt.
        a = math.exp(-dt / p.gnss_bias_tau_s)
        q = p.gnss_bias_sigma_m * math.sqrt(max(1.0 - a * a, 0.0))
        # a * bias + q * N(0, 1) * _BIAS_SCALE, per component (the scale of east and north
        # is 1.0, and x * 1.0 is x)
        be, bn, bu = self._bias
        we, wn, wu = self.rng.standard_normal(3).tolist()
        self._bias = (a * be + q * we, a * bn + q * wn, a * bu + q * wu * _VERTICAL_BIAS_FACTOR)
        noise = self.rng.standard_normal(3).tolist()
        start_dropout = self.rng.random()
        if t < self._dropout_until:
            return None
        if p.gnss_dropouts_per_hour > 0.0 and dt > 0.0:
            if start_dropout < 1.0 - math.exp(-p.gnss_dropouts_per_hour * dt / 3600.0):
                self._dropout_until = t + float(self.rng.exponential(p.gnss_dropout_mean_s))
                return None
        # Lever arm of a mast-mounted antenna: tilt moves it horizontally.
        hgt = p.gnss_antenna_height_m
        c, s = math.cos(yaw), math.sin(yaw)
        fwd = -hgt * math.sin(pitch)          # nose down (pitch > 0) leans the mast forward
        left = -hgt * math.sin(roll)          # left side up (roll > 0) leans it to the right
        e = x + c * fwd - s * left + self._bias[0] + p.gnss_sigma_h_m * noise[0] + offset[0]
        n = y + s * fwd + c * left + self._bias[1] + p.gnss_sigma_h_m * noise[1] + offset[1]
        u = (z + hgt * math.cos(pitch) * math.cos(roll) + self._bias[2]
             + p.gnss_sigma_v_m * noise[2] + (offset[2] if len(offset) > 2 else 0.0))
        lat, lon, alt = self.origin.to_geodetic(e, n, u)
        var_h = p.gnss_sigma_h_m ** 2 + p.gnss_bias_sigma_m ** 2
        var_v = p.gnss_sigma_v_m ** 2 + (_VERTICAL_BIAS_FACTOR * p.gnss_bias_sigma_m) ** 2
        return GnssFix(stamp=t, latitude=float(lat), longitude=float(lon), altitude=float(alt),
                       covariance=(var_h, var_h, var_v))
