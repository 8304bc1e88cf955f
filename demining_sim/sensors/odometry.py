"""Track odometry: integrates the sprocket (encoder) track speeds with ideal skid-steer
kinematics in the ``odom`` frame, which equals ``map`` at start-up.

The vehicle really moves less than its sprockets say (slip, skid-steer yaw loss, side-slope
creep: see :mod:`demining_sim.vehicle`), so this estimate drifts, and drifts faster the more
the vehicle turns and climbs: the localisation has to correct it with GNSS.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from demining_bringup.contract.datatypes import OdomSample
from demining_bringup.contract.parameters import param


@dataclasses.dataclass(frozen=True)
class OdometryParams:
    """Track odometry model."""

    odom_rate_hz: float = param(20.0, 'Track odometry output rate, Hz', min=1.0, max=1000.0)
    odom_encoder_noise: float = param(0.005, 'Relative white noise of each track speed '
                                      'reading (1 sigma)', min=0.0, max=0.5)
    odom_variance_per_m: float = param(0.0004, 'Position variance added per metre travelled, '
                                       'm^2/m (reported covariance)', min=0.0, max=1.0)


# Heading uncertainty growth: relative error of the turned angle and heading error per metre.
_YAW_SIGMA_PER_RAD = 0.01
_YAW_SIGMA_PER_M = 0.001
# Encoder noise is drawn in blocks of this many steps (one generator call per block).
_NOISE_BLOCK = 256


class TrackOdometry:
    """Dead reckoning from track speeds; :meth:`integrate` at the physics rate."""

    def __init__(self, params: OdometryParams, track_gauge_m: float, start_x: float,
                 start_y: float, start_yaw: float, rng: np.random.Generator) -> None:
        """Start at the true start pose (odom == map at start-up)."""
        self.p = params
        self.gauge = track_gauge_m
        self.rng = rng
        self.x, self.y, self.yaw = float(start_x), float(start_y), float(start_yaw)
        self.v = self.omega = 0.0
        self.distance = 0.0
        self.variance_yaw = 0.0
        self._noise: list = []
        self._noise_left = 0

    def integrate(self, track_left: float, track_right: float, dt: float) -> None:
        """Add the motion the encoders report over ``dt``."""
        if self.p.odom_encoder_noise > 0.0 and (track_left != 0.0 or track_right != 0.0):
            if self._noise_left == 0:
                # Python floats: numpy scalars would make every step's arithmetic slow.
                self._noise = (self.rng.standard_normal((_NOISE_BLOCK, 2))
                               * self.p.odom_encoder_noise).tolist()
                self._noise_left = _NOISE_BLOCK
            self._noise_left -= 1
            nl, nr = self._noise[self._noise_left]
            track_left *= 1.0 + nl
            track_right *= 1.0 + nr
        v = 0.5 * (track_left + track_right)
        w = (track_right - track_left) / self.gauge
        yaw_mid = self.yaw + 0.5 * w * dt
        self.x += v * math.cos(yaw_mid) * dt
        self.y += v * math.sin(yaw_mid) * dt
        self.yaw = (self.yaw + w * dt + math.pi) % (2.0 * math.pi) - math.pi
        self.v, self.omega = v, w
        ds = abs(v) * dt
        self.distance += ds
        self.variance_yaw += (_YAW_SIGMA_PER_RAD * abs(w) * dt) ** 2 + (_YAW_SIGMA_PER_M * ds) ** 2

    def sample(self, t: float) -> OdomSample:
        """The current estimate as an output sample."""
        return OdomSample(stamp=t, x=self.x, y=self.y, yaw=self.yaw, v=self.v, omega=self.omega,
                          variance_xy=1e-6 + self.p.odom_variance_per_m * self.distance,
                          variance_yaw=1e-6 + self.variance_yaw)
