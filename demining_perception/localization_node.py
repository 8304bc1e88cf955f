"""Node ``localization``: /odom/tracks, /imu/data, /gnss/fix -> /localization/odometry.

:class:`LocalizationComponent` wraps :class:`LocalizationCore` (the EKF): it feeds it the
decoded odometry, IMU and GNSS samples, publishes the predicted state with its covariances at
``publish_rate_hz`` once the first GNSS fix has anchored it, and reports its inputs and the
outcome of every measurement on /diagnostics.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional

from demining_bringup.contract import topics
from demining_bringup.contract.area import load_area
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import (NOT_PROVIDED, STATUS_FIX, GnssFix, ImuSample,
                                                 OdomSample)
from demining_bringup.contract.geo import yaw_from_xyzw
from demining_bringup.contract.states import DiagLevel
from demining_perception.input_monitor import InputMonitor
from demining_perception.localization.ekf import (V, W, LocalizationCore, LocalizationParams,
                                                  Outcome)

#: Throttle of the repeated measurement warnings, s (a bad sensor would flood the log).
_LOG_THROTTLE_S = 5.0
#: Number of values of a row-major 6x6 covariance (geometry_msgs/TwistWithCovariance).
_COV_SIZE = 36
#: Twist covariance indices of v (linear x) and omega (angular z) in a 6x6 matrix.
_TWIST_V, _TWIST_W = 0, 35


class LocalizationComponent(Component):
    """The EKF localisation, anchored at the hazard area's geographic origin."""

    name = 'localization'
    params = LocalizationParams
    inputs = {'odom': Port(topics.ODOM_TRACKS), 'imu': Port(topics.IMU),
              'gnss': Port(topics.GNSS_FIX)}
    outputs = {'pose': Port(topics.LOCALIZATION)}

    def on_configure(self, params: LocalizationParams) -> None:
        """Anchor ``map`` at the hazard area's origin (or the origin parameters); build the EKF.

        :raises WorldError: when the area file cannot be read.
        """
        if params.area_file:
            o = load_area(params.area_file).origin
            origin = (o.latitude_deg, o.longitude_deg, o.elevation_m)
        else:
            origin = (params.origin_latitude_deg, params.origin_longitude_deg,
                      params.origin_altitude_m)
        self._period_s = 1.0 / params.publish_rate_hz
        self.core: Optional[LocalizationCore] = LocalizationCore(params, origin)
        self.monitor = InputMonitor()
        self.monitor.expect('odom', 'imu', 'gnss')

    def on_cleanup(self) -> None:
        """Forget the filter (a new configure re-reads the area's origin)."""
        self.core = None

    def timers(self) -> Dict[str, float]:
        """Publish the state at ``publish_rate_hz``."""
        return {'publish': self._period_s}

    # -- inputs ---------------------------------------------------------------------------

    def on_odom(self, sample: OdomSample, now: float) -> None:
        """Fuse the track odometry's twist (its pose drifts and is not used)."""
        self.monitor.tick('odom', now)
        self._log('odometry', self.core.update_odometry(sample.stamp, sample.v, sample.omega))

    def on_imu(self, sample: ImuSample, now: float) -> None:
        """Fuse the IMU yaw and yaw rate, each only when the IMU provides it (REP-145)."""
        self.monitor.tick('imu', now)
        yaw = (None if sample.orientation_variance[0] == NOT_PROVIDED
               else yaw_from_xyzw(*sample.orientation))
        omega = (None if sample.angular_velocity_variance == NOT_PROVIDED
                 else sample.angular_velocity[2])
        self._log('imu', self.core.update_imu(sample.stamp, yaw, omega))

    def on_gnss(self, fix: GnssFix, now: float) -> None:
        """Fuse a GNSS fix; a status below STATUS_FIX is refused by the core as invalid."""
        self.monitor.tick('gnss', now)
        # East and north variances, when the receiver reports a covariance.
        cov = (fix.covariance[0], fix.covariance[1]) if len(fix.covariance) else None
        self._log('gnss', self.core.update_gnss(fix.stamp, fix.latitude, fix.longitude,
                                                fix.altitude, cov, fix.status >= STATUS_FIX))

    def _log(self, what: str, outcome: Outcome) -> None:
        # One call per outcome kind, each message with its own head, so each is throttled on
        # its own by the host.
        if outcome is Outcome.ACCEPTED:
            return
        if outcome is Outcome.INITIALISED:
            self.log.info('localisation initialised on the first GNSS fix')
        elif outcome is Outcome.NOT_INITIALISED:
            self.log.info(f'{what}: waiting for a first GNSS fix', throttle_s=_LOG_THROTTLE_S)
        elif outcome is Outcome.GATED:
            self.log.warning('GNSS fix rejected by the Mahalanobis gate',
                             throttle_s=_LOG_THROTTLE_S)
        elif outcome is Outcome.LAGGED:
            return
        elif outcome is Outcome.REANCHORED:
            self.log.warning('dead reckoning drifted away from a consistent GNSS: position '
                             're-anchored on GNSS')
        elif outcome is Outcome.STALE:
            self.log.warning(f'{what}: measurement too old, dropped', throttle_s=_LOG_THROTTLE_S)
        else:
            self.log.warning(f'{what}: invalid (NaN or out of range), dropped',
                             throttle_s=_LOG_THROTTLE_S)

    # -- output ---------------------------------------------------------------------------

    def publish(self, now: float) -> None:
        """Emit the state predicted to ``now`` with its covariances (nothing before a fix)."""
        pred = self.core.predicted(now)
        if pred is None:
            return
        state = self.core.state_from(now, *pred)
        _, P = pred
        twist_cov = [0.0] * _COV_SIZE
        twist_cov[_TWIST_V] = float(P[V, V])
        twist_cov[_TWIST_W] = float(P[W, W])
        # a new state of our own: filled in, not copied
        state.pose_covariance = tuple(self.core.pose_covariance(P))
        state.twist_covariance = tuple(twist_cov)
        self.emit('pose', state)

    def diagnostics(self, now: float) -> Status:
        """Inputs (rate, age), initialisation, position sigma, slip, IMU heading error and
        outcome counts."""
        level, message, values = self.monitor.report(now)
        if not self.core.initialised:
            level, message = max(level, DiagLevel.WARN), 'not initialised (no GNSS fix yet)'
        st = self.core.state(now)
        if st is not None:
            values['position_sigma_m'] = f'{st.covariance_xy ** 0.5:.3f}'
            # Field indicators: the tracks' slip and the AHRS heading error the GNSS measured.
            values['ground_speed_ratio'] = f'{self.core.ground_speed_ratio:.3f}'
            values['imu_heading_error_deg'] = f'{math.degrees(self.core.imu_heading_error):.2f}'
        rejected = self.core.gnss_rejected_s
        values['gnss_rejected_s'] = f'{rejected:.1f}'
        if rejected >= self.core.params.gnss_reject_warn_s:
            # A persistent wrong fix is not followed (the EKF module docstring): say so.
            level = max(level, DiagLevel.WARN)
            message = (f'GNSS rejected for {rejected:.0f} s (a persistent wrong fix is not '
                       'followed)')
        values.update({f'outcome {o.value}': str(n) for o, n in self.core.counts.items()})
        return level, message, values


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (a lifecycle node hosting :class:`LocalizationComponent`)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(LocalizationComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
