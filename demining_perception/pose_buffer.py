"""A bounded history of vehicle poses, interpolated at sensor reading times (no rclpy).

The sensor processors receive readings stamped up to a batch period before the batch stamp
and poses from ``/localization/odometry`` at 20 Hz; a reading is placed in ``map`` with the
pose interpolated at its own time. Readings slightly newer than the newest pose are
extrapolated with the pose's own velocity (bounded by ``max_extrapolation_s``), which avoids
dropping the newest traces of every batch while the pose message is in flight.
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from demining_bringup.contract.datatypes import VehicleState

#: A pose older than the newest by more than this many seconds makes the buffer restart
#: (simulation reset, bag loop): time went backwards.
_TIME_RESET_S = 1.0


class PoseBuffer:
    """Poses in ``map`` kept for ``history_s`` seconds; vectorised interpolation."""

    def __init__(self, history_s: float = 10.0, max_gap_s: float = 1.0,
                 max_extrapolation_s: float = 0.3, capacity: int = 2000) -> None:
        """Create an empty buffer.

        :param history_s: poses older than the newest minus this are forgotten.
        :param max_gap_s: no interpolation across a gap between poses longer than this.
        :param max_extrapolation_s: how far past the newest pose a reading may be placed.
        :param capacity: hard bound on the number of stored poses.
        """
        self.history_s = float(history_s)
        self.max_gap_s = float(max_gap_s)
        self.max_extrapolation_s = float(max_extrapolation_s)
        self._cap = int(capacity)
        # t, x, y, yaw (unwrapped), v, omega, position variance (m^2)
        self._data = np.zeros((0, 7))

    def __len__(self) -> int:
        """Return the number of stored poses."""
        return int(self._data.shape[0])

    @property
    def latest_stamp(self) -> float:
        """Time of the newest pose, or -inf when empty."""
        return float(self._data[-1, 0]) if len(self) else -math.inf

    def clear(self) -> None:
        """Forget every pose."""
        self._data = np.zeros((0, 7))

    def add(self, state: VehicleState) -> bool:
        """Append a pose; return False (and keep the buffer) for a non-finite or stale one."""
        vals = (state.stamp, state.x, state.y, state.yaw, state.v, state.omega)
        if not all(math.isfinite(v) for v in vals):
            return False
        if len(self):
            last_t = self._data[-1, 0]
            if state.stamp < last_t - _TIME_RESET_S:
                self.clear()
            elif state.stamp <= last_t:
                return False
        yaw = state.yaw
        if len(self):
            # Unwrap so linear interpolation of yaw never goes the long way round.
            prev = self._data[-1, 3]
            yaw = prev + math.remainder(yaw - prev, 2.0 * math.pi)
        var = state.covariance_xy if math.isfinite(state.covariance_xy) else 0.0
        row = np.array([[state.stamp, state.x, state.y, yaw, state.v, state.omega,
                         max(0.0, var)]])
        self._data = np.vstack([self._data, row])
        keep = self._data[:, 0] >= state.stamp - self.history_s
        self._data = self._data[keep][-self._cap:]
        return True

    def lookup(self, times: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray,
                                                 np.ndarray]:
        """Return ``(x, y, yaw, valid)`` at each time (arrays shaped like ``times``).

        Invalid entries (before the first pose, across a gap, too far past the newest pose)
        hold NaN.
        """
        t = np.atleast_1d(np.asarray(times, dtype=float))
        nan = np.full(t.shape, np.nan)
        if not len(self):
            return nan, nan.copy(), nan.copy(), np.zeros(t.shape, dtype=bool)
        d = self._data
        ts = d[:, 0]
        x = np.interp(t, ts, d[:, 1])
        y = np.interp(t, ts, d[:, 2])
        yaw = np.interp(t, ts, d[:, 3])
        valid = (t >= ts[0]) & np.isfinite(t)
        inside = t <= ts[-1]
        if len(ts) > 1:
            idx = np.clip(np.searchsorted(ts, t), 1, len(ts) - 1)
            gap = ts[idx] - ts[idx - 1]
            valid &= ~inside | (gap <= self.max_gap_s) | (t == ts[idx - 1])
        # Past the newest pose: dead-reckon with its velocity (unicycle, small dt).
        dt = t - ts[-1]
        ahead = ~inside & (dt <= self.max_extrapolation_s)
        if np.any(ahead):
            v, w, yaw0 = d[-1, 4], d[-1, 5], d[-1, 3]
            mid = yaw0 + 0.5 * w * dt[ahead]
            x[ahead] = d[-1, 1] + v * dt[ahead] * np.cos(mid)
            y[ahead] = d[-1, 2] + v * dt[ahead] * np.sin(mid)
            yaw[ahead] = yaw0 + w * dt[ahead]
        valid &= inside | ahead
        x[~valid] = np.nan
        y[~valid] = np.nan
        yaw[~valid] = np.nan
        return x, y, np.mod(yaw + np.pi, 2.0 * np.pi) - np.pi, valid

    def position_sigma(self, t: float) -> float:
        """1-sigma horizontal position uncertainty (m) of the pose at ``t`` (0 when empty).

        The localisation's variance interpolated in time (the newest one past the end): the
        fusion widens its association gate and map footprint by it.
        """
        if not len(self):
            return 0.0
        d = self._data
        return math.sqrt(max(0.0, float(np.interp(t, d[:, 0], d[:, 6]))))

    def to_map(self, positions: np.ndarray, times: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Transform ``base_link`` points (N x 2 or N x 3) taken at ``times`` to ``map`` x, y.

        :returns: ``(xy, valid)``, ``xy`` N x 2 (NaN where invalid).
        """
        p = np.asarray(positions, dtype=float).reshape(len(times), -1)
        x, y, yaw, valid = self.lookup(times)
        c, s = np.cos(yaw), np.sin(yaw)
        mx = x + c * p[:, 0] - s * p[:, 1]
        my = y + s * p[:, 0] + c * p[:, 1]
        return np.stack([mx, my], axis=1), valid
