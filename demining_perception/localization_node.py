"""Node ``localization``: /odom/tracks, /imu/data, /gnss/fix -> /localization/odometry."""

from __future__ import annotations

from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import Imu, NavSatFix, NavSatStatus

from demining_bringup import codec, qos, topics
from demining_bringup.area import load_area
from demining_bringup.node_main import run_node
from demining_bringup.ros_params import declare_parameters
from demining_bringup.diagnostics import WARN, DiagnosticsPublisher, InputMonitor
from demining_perception.localization.ekf import (LocalizationCore, LocalizationParams,
                                                  Outcome)

_LOG_THROTTLE_S = 5.0
_DIAG_PERIOD_S = 1.0
#: Twist covariance indices of v (linear x) and omega (angular z) in a 6x6 matrix.
_TWIST_V, _TWIST_W = 0, 35


class LocalizationNode(Node):
    """Thin adapter around :class:`LocalizationCore`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, anchor map at the hazard area's origin, wire topics."""
        super().__init__('localization', **kwargs)
        self.params = declare_parameters(self, LocalizationParams)
        p = self.params
        if p.area_file:
            o = load_area(p.area_file).origin        # WorldError -> exit code 2 in run_node
            origin = (o.latitude_deg, o.longitude_deg, o.elevation_m)
        else:
            origin = (p.origin_latitude_deg, p.origin_longitude_deg, p.origin_altitude_m)
        self.core = LocalizationCore(p, origin)
        self.monitor = InputMonitor()
        self.monitor.expect('odom', 'imu', 'gnss')
        self.pub = self.create_publisher(Odometry, topics.LOCALIZATION, qos.STATE)
        self.create_subscription(Odometry, topics.ODOM_TRACKS, self._on_odom, qos.SENSOR)
        self.create_subscription(Imu, topics.IMU, self._on_imu, qos.SENSOR)
        self.create_subscription(NavSatFix, topics.GNSS_FIX, self._on_gnss, qos.SENSOR)
        self.create_timer(1.0 / p.publish_rate_hz, self._publish)
        self.diag = DiagnosticsPublisher(self, _DIAG_PERIOD_S, self._status)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _log(self, what: str, outcome: Outcome) -> None:
        # One call site per outcome kind, so each is throttled on its own.
        if outcome in (Outcome.ACCEPTED, Outcome.INITIALISED):
            if outcome == Outcome.INITIALISED:
                self.get_logger().info('localisation initialised on the first GNSS fix')
        elif outcome == Outcome.NOT_INITIALISED:
            self.get_logger().info(f'{what}: waiting for a first GNSS fix',
                                   throttle_duration_sec=_LOG_THROTTLE_S)
        elif outcome == Outcome.GATED:
            self.get_logger().warning('GNSS fix rejected by the Mahalanobis gate',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
        elif outcome == Outcome.REANCHORED:
            self.get_logger().warning('GNSS rejected too long: position re-anchored on GNSS')
        elif outcome == Outcome.STALE:
            self.get_logger().warning(f'{what}: measurement too old, dropped',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
        else:
            self.get_logger().warning(f'{what}: invalid (NaN or out of range), dropped',
                                      throttle_duration_sec=_LOG_THROTTLE_S)

    def _on_odom(self, msg: Odometry) -> None:
        self.monitor.tick('odom', self._now())
        t = codec.stamp_to_sec(msg.header.stamp)
        self._log('odometry', self.core.update_odometry(t, msg.twist.twist.linear.x,
                                                        msg.twist.twist.angular.z))

    def _on_imu(self, msg: Imu) -> None:
        self.monitor.tick('imu', self._now())
        t = codec.stamp_to_sec(msg.header.stamp)
        # REP-145: covariance[0] == -1 means "no orientation estimate".
        yaw = (None if msg.orientation_covariance[0] == -1.0
               else codec.yaw_from_quaternion(msg.orientation))
        omega = None if msg.angular_velocity_covariance[0] == -1.0 else msg.angular_velocity.z
        self._log('imu', self.core.update_imu(t, yaw, omega))

    def _on_gnss(self, msg: NavSatFix) -> None:
        self.monitor.tick('gnss', self._now())
        t = codec.stamp_to_sec(msg.header.stamp)
        cov = None
        if msg.position_covariance_type != NavSatFix.COVARIANCE_TYPE_UNKNOWN:
            cov = (msg.position_covariance[0], msg.position_covariance[4])
        fix = msg.status.status >= NavSatStatus.STATUS_FIX
        self._log('gnss', self.core.update_gnss(t, msg.latitude, msg.longitude, msg.altitude,
                                                cov, fix))

    def _publish(self) -> None:
        now = self._now()
        pred = self.core.predicted(now)
        state = self.core.state(now)
        if pred is None or state is None:
            return
        _, P = pred
        msg = codec.state_to_odometry(state, topics.MAP_FRAME, topics.BASE_FRAME,
                                      pose_covariance=self.core.pose_covariance(P))
        twist_cov = [0.0] * 36
        twist_cov[_TWIST_V] = float(P[3, 3])
        twist_cov[_TWIST_W] = float(P[4, 4])
        msg.twist.covariance = twist_cov
        self.pub.publish(msg)

    def _status(self, now: float):
        level, message, values = self.monitor.report(now)
        if not self.core.initialised:
            level, message = max(level, WARN), 'not initialised (no GNSS fix yet)'
        st = self.core.state(now)
        if st is not None:
            values.append(('position_sigma_m', f'{st.covariance_xy ** 0.5:.3f}'))
        values += [(f'outcome {o.value}', str(n)) for o, n in self.core.counts.items()]
        return level, message, values


def main(args=None) -> int:
    """Run the node."""
    return run_node(LocalizationNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
