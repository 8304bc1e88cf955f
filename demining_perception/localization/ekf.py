"""Planar EKF localisation in ``map`` (in the spirit of robot_localization; no rclpy).

State ``[x, y, yaw, v, omega, b, g]``: position and heading in ``map`` (ENU), forward speed
(over the ground), yaw rate, the IMU's slowly changing heading error ``b`` and the tracks'
ground-to-sprocket speed ratio ``g``. Prediction is a unicycle with
random-walk speed and yaw rate; ``b`` is a first-order Gauss-Markov process
(``imu_heading_bias_sigma``, ``imu_heading_bias_tau_s``). Updates:

* track odometry: ``v / g`` and ``omega`` (the twist of ``/odom/tracks``). ``g``, the ratio of
  the ground speed to what the sprockets run, is in the state (first-order Gauss-Markov about
  1, ``ground_speed_ratio_sigma``, ``ground_speed_ratio_tau_s``): tracks slip 1-5 % on firm
  ground and most of their speed in wet clay or loose sand (Wong 2008, ch. 2,
  docs/sources.md), and the GNSS track measures it. Fused as the speed, a
  track running 0.4 m/s under a vehicle making 0.05 pulled the pose ahead between fixes and
  back at each one (0.3 m median error in wet clay, bench/perception.py), and every pull back
  was a reversal that cut the GPR's scans into pieces;
* IMU: absolute yaw ``yaw + b`` (optional, ``use_imu_orientation``) and yaw rate. An AHRS
  heading is off by a degree or more for minutes (a steel hull's magnetic field, declination,
  filter drift); fused as white noise at 100 Hz it *was* the heading, and 2 degrees put the
  detections of a sensor boom 4 m ahead 0.14 m off across the track (bench/perception.py:
  median position error 0.125 m with a 0.02 m pose). With ``b`` in the state the GNSS track
  measures it while the vehicle moves (the heading-error state of GNSS/INS integration:
  Groves 2013, ch. 14, docs/sources.md);
* GNSS: latitude/longitude converted to ``map`` with :class:`LocalCartesian` at the hazard
  area's origin, corrected for the antenna offset; an innovation whose squared Mahalanobis
  distance exceeds ``gnss_gate_chi2`` is rejected (multipath, jumps). A wrong fix that
  persists (a multipath bias, a receiver that lost its RTK corrections but still says fixed)
  is **not** followed: its innovations stay put (a jump, a bias) while the odometry runs,
  and every fix stays gated; :attr:`LocalizationCore.gnss_rejected_s` says
  for how long (the node flags it in its diagnostics after ``gnss_reject_warn_s``) and the
  position covariance grows with the process noise, as in a dropout, so the gate widens
  honestly: a fix the filter's own uncertainty can explain is accepted again. (Re-anchoring
  on a fix rejected for 10 s, the former rule, handed the map to a multipath bias: issue 12.)
  When instead the innovations drift (``gnss_max_drift_mps`` over ``gnss_drift_window_s``)
  while the odometry runs, the GNSS moves consistently and the dead reckoning slips away from
  it (tracks slipping in sand): the filter is wrong and is re-anchored on the fix.

**Lagged measurements** (a GNSS fix arrives ~0.1-0.5 s after its stamp, an RTK solution's
latency) are fused at their stamps: the filter keeps the states and measurements of the last
``max_measurement_age_s``; a measurement older than the filter goes back to the state before
the first later measurement, is fused there, and the later ones are fused again on top
(buffer and re-propagation, the "out-of-sequence measurement" solution of Bar-Shalom,
*IEEE TAES* 38(3), 2002, in its simplest, exact re-filtering form). Fusing a 0.4 s old fix as
current put the vehicle 16 cm back along track at 0.4 m/s.

Inputs that are NaN, out of range or too old are refused and reported through
:class:`Outcome`, so the node can log them (throttled).
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import math
from typing import Any, List, Optional, Tuple

import numpy as np

try:
    # numpy's own inverse gufunc (private): _inv below; a numpy without it uses np.linalg.inv
    from numpy.linalg import _umath_linalg
except ImportError:                               # pragma: no cover - numpy layout
    _umath_linalg = None

from demining_bringup.contract.datatypes import VehicleState
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.parameters import param
from demining_bringup.contract import vehicle_params

X, Y, YAW, V, W, B, G = range(7)
#: Length of the state.
N_STATE = 7
#: Bounds of the ground-to-track speed ratio (a track that spins in place still moves the
#: vehicle a little; a ratio above 1 is odometry scale error, not slip).
_RATIO_MIN, _RATIO_MAX = 0.05, 1.3
#: A measurement this much older than the filter restarts it (simulation reset), s.
_TIME_RESET_S = 5.0
#: The odometry counts as running when its latest twist is this recent, s (it comes at
#: 20-50 Hz).
_ODOM_FRESH_S = 0.5
#: Rejected fixes needed to measure the innovations' drift (5 Hz GNSS: 2 s).
_MIN_DRIFT_FIXES = 10
#: The identity of the state's size (read-only: only ever copied or subtracted from).
_IDENTITY = np.eye(N_STATE)
_IDENTITY.flags.writeable = False


class Outcome(enum.Enum):
    """What happened to a measurement."""

    ACCEPTED = 'accepted'
    INVALID = 'invalid'              # NaN, out of range, no fix
    STALE = 'stale'                  # older than max_measurement_age_s
    GATED = 'gated'                  # Mahalanobis gate (GNSS outlier)
    NOT_INITIALISED = 'not_initialised'
    INITIALISED = 'initialised'      # this GNSS fix started the filter
    LAGGED = 'lagged'                # older than the filter: fused at its stamp (re-filtered)
    REANCHORED = 'reanchored'        # the dead reckoning drifted from a consistent GNSS: reset


@dataclasses.dataclass(frozen=True)
class LocalizationParams:
    """Parameters of the localisation node."""

    area_file: str = vehicle_params.area_file()
    origin_latitude_deg: float = param(0.0, 'map origin latitude when no area_file, deg',
                                       min=-90.0, max=90.0)
    origin_longitude_deg: float = param(0.0, 'map origin longitude when no area_file, deg',
                                        min=-180.0, max=180.0)
    origin_altitude_m: float = param(0.0, 'map origin altitude when no area_file, m',
                                     min=-1e4, max=1e5)
    publish_rate_hz: float = param(10.0, '/localization/odometry rate, Hz', min=1.0,
                                   max=500.0)
    q_position: float = param(0.002, 'position process noise (slip), m^2/s', min=0.0,
                              max=100.0)
    q_yaw: float = param(0.0005, 'yaw process noise, rad^2/s', min=0.0, max=100.0)
    q_speed: float = param(0.2, 'speed random walk, (m/s)^2/s', min=0.0, max=100.0)
    q_yaw_rate: float = param(0.2, 'yaw-rate random walk, (rad/s)^2/s', min=0.0, max=100.0)
    odom_speed_sigma: float = param(0.05, 'track odometry speed noise, m/s', min=1e-4,
                                    max=10.0)
    odom_yaw_rate_sigma: float = param(0.03, 'track odometry yaw-rate noise, rad/s',
                                       min=1e-4, max=10.0)
    use_imu_orientation: bool = param(True, 'fuse the IMU absolute yaw')
    imu_yaw_sigma: float = param(0.02, 'IMU yaw noise, rad', min=1e-4, max=10.0)
    imu_yaw_rate_sigma: float = param(0.01, 'IMU yaw-rate noise, rad/s', min=1e-4, max=10.0)
    imu_heading_bias_sigma: float = param(
        0.035, 'steady-state spread of the IMU heading error that changes slowly (magnetic '
        'disturbance by the steel hull, declination, AHRS drift; estimated in the state from '
        'the GNSS track), rad', min=1e-4, max=1.0)
    imu_heading_bias_tau_s: float = param(
        600.0, 'correlation time of the slowly changing IMU heading error, s', min=1.0,
        max=1e6)
    ground_speed_ratio_sigma: float = param(
        0.3, 'spread of the ratio of ground speed to track (sprocket) speed about 1: slip in '
        'mud, wet clay or loose sand (estimated in the state from the GNSS track)', min=1e-3,
        max=1.0)
    ground_speed_ratio_tau_s: float = param(
        1800.0, 'correlation time of the ground-to-track speed ratio, s (it changes with the '
        'soil; slowly enough that dead reckoning through a GNSS outage keeps the ratio learnt)',
        min=1.0, max=1e5)
    gnss_sigma_m: float = param(0.05, 'GNSS horizontal noise when the fix has no covariance '
                                '(RTK-class receiver), m', min=1e-3, max=100.0)
    gnss_use_message_covariance: bool = param(True, 'use NavSatFix covariance when given')
    gnss_gate_chi2: float = param(13.8, 'Mahalanobis gate (chi^2, 2 dof; 13.8 = 99.9 %)',
                                  min=1.0, max=1e6)
    gnss_drift_window_s: float = param(
        3.0, 'rejected fixes over this long tell a wrong fix from a wrong filter: innovations '
        'that stay put are a jump or a multipath bias (kept rejected), innovations that '
        'drift while the odometry runs are the dead reckoning slipping away from a GNSS that '
        'moves consistently (re-anchored on it), s', min=0.5, max=600.0)
    gnss_max_drift_mps: float = param(
        0.1, 'innovation drift above which rejected fixes re-anchor the filter, m/s (dead '
        'reckoning on good odometry and IMU drifts ~0.01 m/s: 0.02 rad yaw at 0.4 m/s; a '
        'track slipping in sand drifts at tenths of the speed)', min=0.001, max=10.0)
    gnss_reject_warn_s: float = param(
        5.0, 'GNSS rejected by the gate this long is flagged in the diagnostics (a persistent '
        'wrong fix: it is not followed), s', min=0.5, max=3600.0)
    gnss_offset_x_m: float = param(0.0, 'GNSS antenna x in base_link, m', min=-20.0,
                                   max=20.0)
    gnss_offset_y_m: float = param(0.0, 'GNSS antenna y in base_link, m', min=-20.0,
                                   max=20.0)
    initial_yaw_sigma: float = param(3.2, 'yaw sigma at start when no IMU yaw is known, rad',
                                     min=0.01, max=10.0)
    max_speed_mps: float = param(5.0, 'speeds beyond this are refused as invalid, m/s',
                                 min=0.1, max=100.0)
    max_yaw_rate: float = param(3.0, 'yaw rates beyond this are refused as invalid, rad/s',
                                min=0.1, max=100.0)
    max_measurement_age_s: float = param(
        0.5, 'measurements up to this much older than the filter are fused at their stamps '
        '(states and measurements are kept this long and re-filtered), older ones are '
        'dropped, s (RTK latency is 0.1-0.5 s)', min=0.0, max=10.0)


class LocalizationCore:
    """The EKF plus input checks, GNSS conversion, gating and lagged-measurement re-filtering."""

    def __init__(self, params: LocalizationParams, origin: Tuple[float, float, float]) -> None:
        """Create an uninitialised filter with the ``map`` origin (lat, lon, alt)."""
        self.params = params
        self.geo = LocalCartesian(*origin)
        self.x = np.zeros(N_STATE)
        self.P = np.eye(N_STATE)
        self.t: Optional[float] = None
        self.initialised = False
        self._imu_yaw: Optional[float] = None
        self._rejecting_since: Optional[float] = None
        #: Time the GNSS has been rejected by the gate without a break, s (0: accepted).
        self.gnss_rejected_s = 0.0
        #: Innovations of the fixes rejected since the odometry last paused: (t, east, north).
        self._rejected: List[Tuple[float, float, float]] = []
        self._odom_t = -math.inf
        self.counts = {o: 0 for o in Outcome}
        #: The measurements of the last ``max_measurement_age_s`` in time order, each with
        #: the filter's state just before it: (t, kind, payload, t_before, x_before, P_before).
        self._log: List[Tuple[float, str, Any, float, np.ndarray, np.ndarray]] = []
        self._times: List[float] = []
        # The measurement matrices and noises that depend on the parameters only, built once
        # (read-only: a measurement's payload and the log keep references to them).
        self._r_odom = _frozen(np.diag([params.odom_speed_sigma ** 2,
                                        params.odom_yaw_rate_sigma ** 2]))
        self._r_gnss = _frozen(np.diag([params.gnss_sigma_m ** 2] * 2))
        #: Per (yaw fused, yaw rate fused): the IMU's H and R.
        self._imu_model = {rows: _imu_model(rows, params)
                           for rows in ((True, True), (True, False), (False, True))}

    # -- measurements ------------------------------------------------------------------------

    def update_odometry(self, t: float, v: float, omega: float) -> Outcome:
        """Fuse a track-odometry twist (forward speed, yaw rate)."""
        p = self.params
        if not _finite(t, v, omega) or abs(v) > p.max_speed_mps or abs(omega) > p.max_yaw_rate:
            return self._count(Outcome.INVALID)
        return self._count(self._fuse(t, 'odom', (v, omega)))

    def update_imu(self, t: float, yaw: Optional[float], omega: Optional[float]) -> Outcome:
        """Fuse an IMU yaw (may be None) and yaw rate (may be None)."""
        p = self.params
        if (yaw is not None and not _finite(yaw)) or (omega is not None and (
                not _finite(omega) or abs(omega) > p.max_yaw_rate)) or not _finite(t):
            return self._count(Outcome.INVALID)
        if yaw is not None and p.use_imu_orientation:
            self._imu_yaw = yaw
        return self._count(self._fuse(t, 'imu', (yaw, omega)))

    def update_gnss(self, t: float, lat: float, lon: float, alt: float = 0.0,
                    cov_xy: Optional[Tuple[float, float]] = None, fix: bool = True) -> Outcome:
        """Fuse a GNSS fix (deg, deg, m); ``cov_xy`` = (var east, var north) if known."""
        p = self.params
        if (not fix or not _finite(t, lat, lon) or not -90.0 <= lat <= 90.0
                or not -180.0 <= lon <= 180.0):
            return self._count(Outcome.INVALID)
        e, n, _ = self.geo.to_enu(lat, lon, alt if _finite(alt) else 0.0)
        e, n = float(e), float(n)
        R = self._r_gnss
        if (p.gnss_use_message_covariance and cov_xy is not None and _finite(*cov_xy)
                and min(cov_xy) > 0.0):
            R = np.diag(cov_xy)
        if not self.initialised:
            return self._count(self._initialise(t, e, n, R))
        return self._count(self._fuse(t, 'gnss', (e, n, R)))

    def _fuse(self, t: float, kind: str, payload: Any) -> Outcome:
        """Fuse a measurement at its stamp ``t``: now, or (lagged) by re-filtering."""
        if not self.initialised:
            return Outcome.NOT_INITIALISED
        if t < self.t - _TIME_RESET_S:
            # Time went backwards (simulation reset): start over on the next GNSS fix.
            self.initialised = False
            self.t = None
            self._log.clear()
            self._times.clear()
            return Outcome.NOT_INITIALISED
        if t < self.t - self.params.max_measurement_age_s:
            return Outcome.STALE
        if t >= self.t:
            out = self._apply(t, kind, payload)
        else:
            # Back to the state before the first later measurement, fuse this one at its
            # stamp, then the later ones again on top.
            i = bisect.bisect_right(self._times, t)
            later = self._log[i:]
            if later:
                self.t, self.x, self.P = later[0][3], later[0][4].copy(), later[0][5].copy()
            del self._log[i:]
            del self._times[i:]
            out = self._apply(t, kind, payload)
            for rec in later:
                self._apply(rec[0], rec[1], rec[2])
            if out is Outcome.ACCEPTED:
                out = Outcome.LAGGED
        # Keep what a measurement up to max_measurement_age_s old can need.
        k = bisect.bisect_left(self._times, self.t - self.params.max_measurement_age_s)
        if k:
            del self._log[:k]
            del self._times[:k]
        return out

    def _apply(self, t: float, kind: str, payload: Any) -> Outcome:
        """Predict to ``t`` (if later than the filter), update, and log the measurement."""
        # The state before, kept by reference: every step below binds new arrays to x and P
        # (the one in-place change, a GNSS re-anchor, copies first), so no copy is needed.
        before = (self.t, self.x, self.P)
        if t > self.t:
            self.x, self.P = _predict(self.x, self.P, t - self.t, self.params)
            self.t = t
        if kind == 'odom':
            self._odom_t = max(self._odom_t, t)
            out = self._odometry(*payload)
        elif kind == 'imu':
            out = self._imu(*payload)
        else:
            out = self._gnss(t, *payload)
        self._log.append((t, kind, payload) + before)
        self._times.append(t)
        return out

    def _odometry(self, v: float, omega: float) -> Outcome:
        # The sprockets say v / g: the ground moves the vehicle g times what the tracks run.
        g = self.x[G]
        H = np.zeros((2, N_STATE))
        H[0, V] = 1.0 / g
        H[0, G] = -self.x[V] / (g * g)
        H[1, W] = 1.0
        self._update(np.array([v - self.x[V] / g, omega - self.x[W]]), H, self._r_odom)
        return Outcome.ACCEPTED

    def _imu(self, yaw: Optional[float], omega: Optional[float]) -> Outcome:
        use_yaw = yaw is not None and self.params.use_imu_orientation
        z = []
        if use_yaw:
            z.append(math.remainder(yaw - self.x[YAW] - self.x[B], 2.0 * math.pi))
        if omega is not None:
            z.append(omega - self.x[W])
        if z:
            H, R = self._imu_model[use_yaw, omega is not None]
            self._update(np.array(z), H, R)
        return Outcome.ACCEPTED

    def _gnss(self, t: float, e: float, n: float, R: np.ndarray) -> Outcome:
        p = self.params
        c, s = math.cos(self.x[YAW]), math.sin(self.x[YAW])
        ox, oy = p.gnss_offset_x_m, p.gnss_offset_y_m
        h = np.array([self.x[X] + ox * c - oy * s, self.x[Y] + ox * s + oy * c])
        H = np.zeros((2, N_STATE))
        H[0, X] = H[1, Y] = 1.0
        H[0, YAW] = -ox * s - oy * c
        H[1, YAW] = ox * c - oy * s
        nu = np.array([e, n]) - h
        S = H @ self.P @ H.T + R
        d2 = float(nu @ np.linalg.solve(S, nu))
        if d2 > p.gnss_gate_chi2:
            # Not followed however long it persists (module docstring): the covariance grows
            # with the process noise meanwhile, so the gate widens.
            if self._rejecting_since is None:
                self._rejecting_since = t
            self.gnss_rejected_s = t - self._rejecting_since
            if self._filter_drifts(t, nu):
                # (Copies: the measurement log holds the arrays of the state before.)
                self.x, self.P = self.x.copy(), self.P.copy()
                self.x[X], self.x[Y] = e - (h[0] - self.x[X]), n - (h[1] - self.x[Y])
                self.P[:2, :] = 0.0
                self.P[:, :2] = 0.0
                self.P[:2, :2] = R
                self._rejecting_since = None
                self.gnss_rejected_s = 0.0
                self._rejected.clear()
                return Outcome.REANCHORED
            return Outcome.GATED
        self._rejecting_since = None
        self.gnss_rejected_s = 0.0
        self._rejected.clear()
        self._update(nu, H, R)
        return Outcome.ACCEPTED

    # -- output ------------------------------------------------------------------------------

    def predicted(self, t: float) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Return ``(x, P)`` predicted to ``t`` without changing the filter (None if not
        initialised)."""
        if not self.initialised or self.t is None:
            return None
        dt = max(0.0, t - self.t)
        x, P = _predict(self.x, self.P, dt, self.params)
        return x, P

    def state(self, t: float) -> Optional[VehicleState]:
        """Return the vehicle state predicted to ``t`` (None if not initialised)."""
        pred = self.predicted(t)
        return None if pred is None else self.state_from(t, *pred)

    def state_from(self, t: float, x: np.ndarray, P: np.ndarray) -> VehicleState:
        """Return the vehicle state of ``(x, P) = predicted(t)`` (a caller that needs both
        predicts once)."""
        return VehicleState(stamp=max(t, self.t), x=float(x[X]), y=float(x[Y]),
                            yaw=float(math.remainder(x[YAW], 2.0 * math.pi)), v=float(x[V]),
                            omega=float(x[W]), covariance_xy=float(max(P[X, X], P[Y, Y])))

    @property
    def ground_speed_ratio(self) -> float:
        """Estimated ground speed over track (sprocket) speed: 1 - slip."""
        return float(self.x[G])

    @property
    def imu_heading_error(self) -> float:
        """Estimated error of the IMU's heading, rad."""
        return float(self.x[B])

    @staticmethod
    def pose_covariance(P: np.ndarray) -> list:
        """Return the 36-element pose covariance (x, y, z, roll, pitch, yaw) of ``P``."""
        cov = [0.0] * 36
        rows = P.tolist()
        idx = [0, 1, 5]
        src = [X, Y, YAW]
        for a, i in zip(idx, src):
            for b, j in zip(idx, src):
                cov[6 * a + b] = rows[i][j]
        # z, roll, pitch are not estimated: a large variance says so.
        for k in (2, 3, 4):
            cov[6 * k + k] = 1e6
        return cov

    # -- internals ---------------------------------------------------------------------------

    def _count(self, o: Outcome) -> Outcome:
        self.counts[o] += 1
        return o

    def _initialise(self, t: float, e: float, n: float, R: np.ndarray) -> Outcome:
        p = self.params
        yaw = self._imu_yaw if self._imu_yaw is not None else 0.0
        c, s = math.cos(yaw), math.sin(yaw)
        self.x = np.array([e - p.gnss_offset_x_m * c + p.gnss_offset_y_m * s,
                           n - p.gnss_offset_x_m * s - p.gnss_offset_y_m * c, yaw, 0.0, 0.0,
                           0.0, 1.0])
        var_b = p.imu_heading_bias_sigma ** 2
        self.P = np.diag([R[0, 0], R[1, 1], 0.0, 1.0, 1.0, var_b,
                          p.ground_speed_ratio_sigma ** 2])
        if self._imu_yaw is not None:
            # The heading is the IMU's less its error: their sum is known to the IMU's noise,
            # each alone to the error's spread (errors correlated -1).
            self.P[YAW, YAW] = p.imu_yaw_sigma ** 2 + var_b
            self.P[YAW, B] = self.P[B, YAW] = -var_b
        else:
            self.P[YAW, YAW] = p.initial_yaw_sigma ** 2
        self.t = t
        self.initialised = True
        return Outcome.INITIALISED

    def _filter_drifts(self, t: float, nu: np.ndarray) -> bool:
        """True when the rejected fixes' innovations drift (the filter is wrong, not GNSS).

        Only while the odometry runs (without it the dead reckoning is not measured and a
        drift says nothing) and over ``gnss_drift_window_s`` of rejected fixes: the slope of
        the innovations (least squares) against ``gnss_max_drift_mps``.
        """
        p = self.params
        if t - self._odom_t > _ODOM_FRESH_S:
            self._rejected.clear()
            return False
        self._rejected.append((t, float(nu[0]), float(nu[1])))
        while self._rejected and self._rejected[0][0] < t - p.gnss_drift_window_s:
            self._rejected.pop(0)
        a = np.asarray(self._rejected)
        if len(a) < _MIN_DRIFT_FIXES or a[-1, 0] - a[0, 0] < 0.8 * p.gnss_drift_window_s:
            return False
        ts = a[:, 0] - a[:, 0].mean()
        slope = (ts @ (a[:, 1:] - a[:, 1:].mean(axis=0))) / float(ts @ ts)
        return float(np.hypot(*slope)) > p.gnss_max_drift_mps

    def _update(self, nu: np.ndarray, H: np.ndarray, R: np.ndarray) -> None:
        S = H @ self.P @ H.T + R
        K = self.P @ H.T @ _inv(S)
        self.x = self.x + K @ nu
        self.x[YAW] = math.remainder(self.x[YAW], 2.0 * math.pi)
        self.x[G] = min(max(self.x[G], _RATIO_MIN), _RATIO_MAX)
        # Joseph form keeps P symmetric positive definite.
        ikh = _IDENTITY - K @ H
        self.P = ikh @ self.P @ ikh.T + K @ R @ K.T


def _predict(x: np.ndarray, P: np.ndarray, dt: float,
             p: LocalizationParams) -> Tuple[np.ndarray, np.ndarray]:
    """Unicycle prediction of state and covariance over ``dt``."""
    if dt <= 0.0:
        return x.copy(), P.copy()
    # Plain floats: the same IEEE arithmetic as on numpy scalars, without their overhead.
    px, py, yaw, v, w, b, g = x.tolist()
    c, s = math.cos(yaw), math.sin(yaw)
    # The IMU heading error is first-order Gauss-Markov: it decays towards 0 and its
    # variance towards imu_heading_bias_sigma^2.
    decay = math.exp(-dt / p.imu_heading_bias_tau_s)
    # The ground-to-track speed ratio is first-order Gauss-Markov about 1 (no slip).
    ratio_decay = math.exp(-dt / p.ground_speed_ratio_tau_s)
    xn = np.array([px + v * c * dt, py + v * s * dt, math.remainder(yaw + w * dt, 2.0 * math.pi),
                   v, w, b * decay, 1.0 + (g - 1.0) * ratio_decay])
    F = _IDENTITY.copy()
    F[B, B] = decay
    F[G, G] = ratio_decay
    F[X, YAW] = -v * s * dt
    F[X, V] = c * dt
    F[Y, YAW] = v * c * dt
    F[Y, V] = s * dt
    F[YAW, W] = dt
    Q = np.zeros((N_STATE, N_STATE))
    Q.flat[::N_STATE + 1] = (p.q_position * dt, p.q_position * dt, p.q_yaw * dt, p.q_speed * dt,
                             p.q_yaw_rate * dt,
                             p.imu_heading_bias_sigma ** 2 * (1.0 - decay * decay),
                             p.ground_speed_ratio_sigma ** 2 * (1.0 - ratio_decay * ratio_decay))
    return xn, F @ P @ F.T + Q


def _inv(a: np.ndarray) -> np.ndarray:
    """``np.linalg.inv(a)`` of a small float64 matrix, without its per-call checks.

    The same LAPACK routine (numpy's ``_umath_linalg.inv`` gufunc, which ``np.linalg.inv``
    calls), so the same bits; its set-up (type checks, an error-state context) cost twice the
    inversion itself, at each of the filter's ~45 updates per second. A singular or
    non-finite ``a`` gives a non-finite result here (numpy warns): it goes through
    ``np.linalg.inv``, which raises as before; so does every matrix on a numpy without the
    private module.
    """
    if _umath_linalg is None:
        return np.linalg.inv(a)
    out = _umath_linalg.inv(a, signature='d->d')
    if not all(map(math.isfinite, out.flat)):
        return np.linalg.inv(a)
    return out


def _frozen(a: np.ndarray) -> np.ndarray:
    """``a``, made read-only."""
    a.flags.writeable = False
    return a


def _imu_model(rows: Tuple[bool, bool], p: LocalizationParams
               ) -> Tuple[np.ndarray, np.ndarray]:
    """H and R of an IMU measurement of (yaw, yaw rate), ``rows`` saying which it has."""
    states = [i for i, has in zip((YAW, W), rows) if has]
    H = np.zeros((len(states), N_STATE))
    H[np.arange(len(states)), states] = 1.0
    # The IMU's yaw is the heading plus its slowly varying error.
    H[[k for k, i in enumerate(states) if i == YAW], B] = 1.0
    r = [s for s, has in zip((p.imu_yaw_sigma ** 2, p.imu_yaw_rate_sigma ** 2), rows) if has]
    return _frozen(H), _frozen(np.diag(r))


def _finite(*vals: float) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in vals)
    except (TypeError, ValueError):
        return False
