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
#: Pose fields stored, one row each: t, x, y, yaw (unwrapped), v, omega, position variance
#: (m^2).
_T, _X, _Y, _YAW, _V, _OMEGA, _VAR = range(7)
_FIELDS = 7
#: Columns allocated at first (the storage doubles while the live poses fill half of it).
_INITIAL_SLOTS = 64


class PoseBuffer:
    """Poses in ``map`` kept for ``history_s`` seconds; vectorised interpolation.

    The poses live in a field-major array (each field contiguous, as ``np.interp`` wants it)
    whose live columns ``[lo, hi)`` slide along it: adding a pose writes one column and
    forgetting old ones moves ``lo``, instead of copying the whole history every pose.
    """

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
        self._store = np.zeros((_FIELDS, _INITIAL_SLOTS))
        self.clear()

    def __len__(self) -> int:
        """Return the number of stored poses."""
        return self._hi - self._lo

    @property
    def latest_stamp(self) -> float:
        """Time of the newest pose, or -inf when empty."""
        return float(self._store[_T, self._hi - 1]) if self._hi > self._lo else -math.inf

    def clear(self) -> None:
        """Forget every pose."""
        self._lo = self._hi = 0
        #: Stamp of the pose after the latest gap longer than ``max_gap_s`` (-inf: none);
        #: once it is the oldest pose kept, no gap is left to refuse readings in.
        self._gap_end = -math.inf

    def _field(self, i: int) -> np.ndarray:
        return self._store[i, self._lo:self._hi]

    def add(self, state: VehicleState) -> bool:
        """Append a pose; return False (and keep the buffer) for a non-finite or stale one."""
        vals = (state.stamp, state.x, state.y, state.yaw, state.v, state.omega)
        if not all(math.isfinite(v) for v in vals):
            return False
        if len(self):
            last_t = self._store[_T, self._hi - 1]
            if state.stamp < last_t - _TIME_RESET_S:
                self.clear()
            elif state.stamp <= last_t:
                return False
            elif not state.stamp - last_t <= self.max_gap_s:
                self._gap_end = state.stamp
        yaw = state.yaw
        if len(self):
            # Unwrap so linear interpolation of yaw never goes the long way round.
            prev = self._store[_YAW, self._hi - 1]
            yaw = prev + math.remainder(yaw - prev, 2.0 * math.pi)
        var = state.covariance_xy if math.isfinite(state.covariance_xy) else 0.0
        if self._hi == self._store.shape[1]:
            self._make_room()
        self._store[:, self._hi] = (state.stamp, state.x, state.y, yaw, state.v, state.omega,
                                    max(0.0, var))
        self._hi += 1
        # Times are increasing: the poses to forget are the oldest ones.
        self._lo += int(np.searchsorted(self._field(_T), state.stamp - self.history_s))
        self._lo = max(self._lo, self._hi - self._cap)
        return True

    def _make_room(self) -> None:
        """Move the live poses to the front; grow the storage when they fill half of it."""
        live = self._store[:, self._lo:self._hi]
        n = self._hi - self._lo
        if 2 * n > self._store.shape[1]:
            store = np.zeros((_FIELDS, 2 * self._store.shape[1]))
            store[:, :n] = live
            self._store = store
        else:
            self._store[:, :n] = live.copy()
        self._lo, self._hi = 0, n

    def lookup(self, times: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray,
                                                 np.ndarray]:
        """Return ``(x, y, yaw, valid)`` at each time (arrays shaped like ``times``).

        Invalid entries (before the first pose, across a gap, too far past the newest pose)
        hold NaN.
        """
        t = np.atleast_1d(np.asarray(times, dtype=float))
        if not len(self):
            nan = np.full(t.shape, np.nan)
            return nan, nan.copy(), nan.copy(), np.zeros(t.shape, dtype=bool)
        ts = self._field(_T)
        x = np.interp(t, ts, self._field(_X))
        y = np.interp(t, ts, self._field(_Y))
        yaw = np.interp(t, ts, self._field(_YAW))
        if t.size and self._gap_end <= ts[0] and ts[0] <= t.min() and t.max() <= ts[-1]:
            # Every time between the first and the newest pose, no gap among them: all valid
            # (the common case: a scan is processed once the poses cover it).
            valid = np.ones(t.shape, dtype=bool)
        else:
            valid = self._invalidate(t, ts, x, y, yaw)
        return x, y, np.mod(yaw + np.pi, 2.0 * np.pi) - np.pi, valid

    def _invalidate(self, t: np.ndarray, ts: np.ndarray, x: np.ndarray, y: np.ndarray,
                    yaw: np.ndarray) -> np.ndarray:
        """Dead-reckon ``x, y, yaw`` past the newest pose and put NaN where invalid (in place).

        :returns: which entries are valid.
        """
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
            last = self._store[:, self._hi - 1]
            v, w, yaw0 = last[_V], last[_OMEGA], last[_YAW]
            mid = yaw0 + 0.5 * w * dt[ahead]
            x[ahead] = last[_X] + v * dt[ahead] * np.cos(mid)
            y[ahead] = last[_Y] + v * dt[ahead] * np.sin(mid)
            yaw[ahead] = yaw0 + w * dt[ahead]
        valid &= inside | ahead
        x[~valid] = np.nan
        y[~valid] = np.nan
        yaw[~valid] = np.nan
        return valid

    def position_sigma(self, t: float) -> float:
        """1-sigma horizontal position uncertainty (m) of the pose at ``t`` (0 when empty).

        The localisation's variance interpolated in time (the newest one past the end): the
        fusion widens its association gate and map footprint by it.
        """
        if not len(self):
            return 0.0
        return math.sqrt(max(0.0, float(np.interp(t, self._field(_T), self._field(_VAR)))))

    def to_map(self, positions: np.ndarray, times: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Transform ``base_link`` points (N x 2 or N x 3) taken at ``times`` to ``map`` x, y.

        :returns: ``(xy, valid)``, ``xy`` N x 2 (NaN where invalid).
        """
        p = np.asarray(positions, dtype=float).reshape(len(times), -1)
        x, y, yaw, valid = self.lookup(times)
        c, s = np.cos(yaw), np.sin(yaw)
        xy = np.empty((len(x), 2))
        xy[:, 0] = x + c * p[:, 0] - s * p[:, 1]
        xy[:, 1] = y + s * p[:, 0] + c * p[:, 1]
        return xy, valid
