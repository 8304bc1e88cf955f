"""path_follower node: follows /coverage/path while the mission is clearing.

Subscribes /coverage/path, /localization/odometry, /mission/state; publishes /cmd_vel/auto
(10 Hz, zero unless clearing), /follower/status (latched, on change) and /diagnostics.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from std_msgs.msg import String

from demining_bringup import codec, qos, topics
from demining_bringup.area import load_area
from demining_bringup.datatypes import Twist2D, VehicleState
from demining_bringup.node_main import run_node
from demining_bringup.parameters import param
from demining_bringup import vehicle_params
from demining_bringup.ros_params import declare_parameters
from demining_bringup import diagnostics as diag
from demining_control.coverage.planner import classify_work
from demining_control.follower.pure_pursuit import FollowerParams, FollowerStatus, PathFollower

_CONTROL_PERIOD_S = 0.1
_DIAG_PERIOD_S = 1.0
_LOG_THROTTLE_S = 5.0
_CLEARING = 'clearing'


@dataclasses.dataclass(frozen=True)
class PathFollowerConfig(FollowerParams):
    """Node parameters: the follower's plus how work legs are recognised."""

    area_file: str = vehicle_params.area_file()
    work_reach_m: float = param(4.0, 'path points within this of the field are work legs '
                                '(tool_offset_x_m + lane_end_margin_m + a little), m', min=0.0,
                                max=100.0)
    pose_timeout_s: float = param(0.5, 'no motion when the pose is older than this, s',
                                  min=0.05, max=10.0)


class PathFollowerNode(Node):
    """Thin adapter around :class:`PathFollower`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters and wire topics."""
        super().__init__('path_follower', **kwargs)
        self.config = declare_parameters(self, PathFollowerConfig)
        self.follower = PathFollower(self.config)
        self.field = (load_area(self.config.area_file).field if self.config.area_file
                      else None)
        self.mission_state = ''
        self.pose: Optional[VehicleState] = None
        self.pose_time: Optional[float] = None
        self._published_status = ''
        self._cmd_pub = self.create_publisher(Twist, topics.CMD_VEL_AUTO, qos.COMMAND)
        self._status_pub = self.create_publisher(String, topics.FOLLOWER_STATUS, qos.LATCHED)
        self._diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self.create_subscription(Path, topics.COVERAGE_PATH, self._on_path, qos.LATCHED)
        self.create_subscription(Odometry, topics.LOCALIZATION, self._on_odom, qos.STATE)
        self.create_subscription(String, topics.MISSION_STATE, self._on_mission, qos.LATCHED)
        self.create_timer(_CONTROL_PERIOD_S, self._on_control)
        self.create_timer(_DIAG_PERIOD_S, self._on_diag)
        self._publish_status()

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_path(self, msg: Path) -> None:
        try:
            xy = codec.path_to_xy(msg)
            work = (classify_work(xy, self.field, self.config.work_reach_m)
                    if self.field is not None else None)
            self.follower.set_path(xy, work)
        except (codec.DecodeError, ValueError) as exc:
            self.get_logger().warning(f'bad path dropped: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        self.get_logger().info(f'following a path of {len(xy)} waypoints')
        self._publish_status()

    def _on_odom(self, msg: Odometry) -> None:
        try:
            self.pose = codec.odometry_to_state(msg)
            self.pose_time = self._now()
        except codec.DecodeError as exc:
            self.get_logger().warning(f'bad odometry dropped: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)

    def _on_mission(self, msg: String) -> None:
        self.mission_state = msg.data

    def _on_control(self) -> None:
        now = self._now()
        cmd = Twist2D()
        fresh = self.pose is not None and self.pose_time is not None and \
            now - self.pose_time <= self.config.pose_timeout_s
        if self.mission_state == _CLEARING and fresh:
            cmd = self.follower.update(self.pose, _CONTROL_PERIOD_S)
        out = Twist()
        out.linear.x, out.angular.z = float(cmd.v), float(cmd.omega)
        self._cmd_pub.publish(out)
        self._publish_status()

    def _publish_status(self) -> None:
        status = self.follower.status.value
        if status != self._published_status:
            self._published_status = status
            self._status_pub.publish(String(data=status))

    def _on_diag(self) -> None:
        f = self.follower
        level = diag.OK if f.status is not FollowerStatus.IDLE else diag.WARN
        values = {'status': f.status.value, 'mission_state': self.mission_state,
                  'progress_index': f.progress_index,
                  'cross_track_m': f'{f.cross_track_m:.3f}',
                  'heading_error_rad': f'{f.heading_error_rad:.3f}'}
        self._diag_pub.publish(diag.diagnostics(self.get_name(), self._now(), level,
                                                f.status.value, values))


def main(args=None) -> int:
    """Run the node."""
    return run_node(PathFollowerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
