"""An AHRS-style IMU: orientation with noise and a drifting heading, gyro with a random-walk
bias, accelerometer with gravity (specific force, REP-145: +9.81 m/s^2 on z at rest).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Tuple

import numpy as np

from demining_bringup.contract.datatypes import ImuSample
from demining_bringup.contract.parameters import param

GRAVITY_MPS2 = 9.80665
# The initial gyro bias is this many times the bias walk per sqrt(s) (turn-on bias).
_INITIAL_BIAS_SCALE = 10.0
# Reported variances never go to zero (a zero covariance means "unknown" to some filters).
_GYRO_VAR_FLOOR = 1e-8
_ACCEL_VAR_FLOOR = 1e-6
# Noise is drawn in blocks of this many samples (one generator call per block).
_NOISE_BLOCK = 64


@dataclasses.dataclass(frozen=True)
class ImuParams:
    """IMU noise model (defaults: a MEMS AHRS of the kind fitted to field robots)."""

    imu_rate_hz: float = param(20.0, 'IMU sample rate, Hz', min=1.0, max=1000.0)
    imu_attitude_noise_rad: float = param(0.005, 'Roll/pitch white noise (1 sigma), rad',
                                          min=0.0, max=1.0)
    imu_heading_noise_rad: float = param(0.01, 'Heading white noise (1 sigma), rad',
                                         min=0.0, max=1.0)
    imu_heading_drift_sigma_rad: float = param(0.02, 'Steady-state sigma of the slowly '
                                               'drifting heading error, rad', min=0.0,
                                               max=3.0)
    imu_heading_drift_tau_s: float = param(600.0, 'Correlation time of the heading error, '
                                           's', min=1.0, max=1e6)
    imu_gyro_noise_rps: float = param(0.002, 'Gyro white noise (1 sigma), rad/s', min=0.0,
                                      max=1.0)
    imu_gyro_bias_walk: float = param(1e-4, 'Gyro bias random walk, rad/s per sqrt(s)',
                                      min=0.0, max=0.1)
    imu_accel_noise_mps2: float = param(0.05, 'Accelerometer white noise (1 sigma), m/s^2',
                                        min=0.0, max=10.0)


def quaternion_from_rpy(roll: float, pitch: float, yaw: float
                        ) -> Tuple[float, float, float, float]:
    """(x, y, z, w) of the rotation roll about x, then pitch about y, then yaw about z."""
    cr, sr = math.cos(roll / 2.0), math.sin(roll / 2.0)
    cp, sp = math.cos(pitch / 2.0), math.sin(pitch / 2.0)
    cy, sy = math.cos(yaw / 2.0), math.sin(yaw / 2.0)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy)


def gravity_in_body(roll: float, pitch: float) -> Tuple[float, float, float]:
    """Specific force of gravity seen by a level-mounted accelerometer at rest."""
    return (-GRAVITY_MPS2 * math.sin(pitch),
            GRAVITY_MPS2 * math.sin(roll) * math.cos(pitch),
            GRAVITY_MPS2 * math.cos(roll) * math.cos(pitch))


class ImuModel:
    """Produces :class:`ImuSample` from the true attitude and motion."""

    def __init__(self, params: ImuParams, rng: np.random.Generator) -> None:
        """Start with a small random gyro bias and heading error."""
        self.p = params
        self.rng = rng
        self.gyro_bias = tuple((rng.standard_normal(3) * params.imu_gyro_bias_walk
                                * _INITIAL_BIAS_SCALE).tolist())
        self._noise: list = []
        self._noise_left = 0
        self.heading_error = float(rng.standard_normal()) * params.imu_heading_drift_sigma_rad
        self._t_last = None
        self._last_rp = None

    def sample(self, t: float, roll: float, pitch: float, yaw: float, yaw_rate: float,
               accel_fwd: float, speed: float) -> ImuSample:
        """Return the reading at ``t`` for the true attitude, yaw rate and planar motion."""
        p = self.p
        dt = 0.0 if self._t_last is None else max(t - self._t_last, 0.0)
        roll_rate = pitch_rate = 0.0
        if self._last_rp is not None and dt > 0.0:
            roll_rate = (roll - self._last_rp[0]) / dt
            pitch_rate = (pitch - self._last_rp[1]) / dt
        self._t_last = t
        self._last_rp = (roll, pitch)
        if self._noise_left == 0:
            # Draw in blocks, as Python floats: numpy scalars make scalar arithmetic slow.
            self._noise = self.rng.standard_normal((_NOISE_BLOCK, 13)).tolist()
            self._noise_left = _NOISE_BLOCK
        self._noise_left -= 1
        n = self._noise[self._noise_left]
        bx, by, bz = self.gyro_bias
        if dt > 0.0:
            walk = p.imu_gyro_bias_walk * math.sqrt(dt)
            bx, by, bz = bx + walk * n[10], by + walk * n[11], bz + walk * n[12]
            self.gyro_bias = (bx, by, bz)
            a = math.exp(-dt / p.imu_heading_drift_tau_s)
            self.heading_error = (a * self.heading_error + p.imu_heading_drift_sigma_rad
                                  * math.sqrt(max(1.0 - a * a, 0.0)) * n[3])
        r = roll + p.imu_attitude_noise_rad * n[4]
        pt = pitch + p.imu_attitude_noise_rad * n[5]
        y = yaw + self.heading_error + p.imu_heading_noise_rad * n[6]
        y = (y + math.pi) % (2.0 * math.pi) - math.pi
        gx, gy, gz = gravity_in_body(roll, pitch)
        gn = p.imu_gyro_noise_rps
        an = p.imu_accel_noise_mps2
        acc = (accel_fwd + gx + an * n[7], speed * yaw_rate + gy + an * n[8], gz + an * n[9])
        gyro = (roll_rate + bx + gn * n[0], pitch_rate + by + gn * n[1],
                yaw_rate + bz + gn * n[2])
        var_att = p.imu_attitude_noise_rad ** 2
        var_yaw = p.imu_heading_noise_rad ** 2 + p.imu_heading_drift_sigma_rad ** 2
        return ImuSample(stamp=t, orientation=quaternion_from_rpy(r, pt, y),
                         angular_velocity=gyro, linear_acceleration=acc,
                         orientation_variance=(var_att, var_att, var_yaw),
                         angular_velocity_variance=gn * gn + _GYRO_VAR_FLOOR,
                         linear_acceleration_variance=an * an + _ACCEL_VAR_FLOOR)
