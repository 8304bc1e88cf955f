"""coverage_planner node: plans boustrophedon coverage once it has the area and a pose.

Subscribes /localization/odometry; publishes /coverage/path (latched) and /diagnostics.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node

from demining_bringup import codec, qos, topics
from demining_bringup.area import load_area
from demining_bringup.node_main import run_node
from demining_bringup import vehicle_params
from demining_bringup.ros_params import declare_parameters
from demining_bringup import diagnostics as diag
from demining_control.coverage.planner import (CoverageParams, CoveragePlan, PlanningError,
                                               plan_coverage)

#: Period of /diagnostics, s.
_DIAG_PERIOD_S = 1.0
#: Throttle of repeated warnings, s.
_LOG_THROTTLE_S = 5.0


@dataclasses.dataclass(frozen=True)
class CoveragePlannerConfig(CoverageParams):
    """Node parameters: the planner's plus the hazard area file."""

    area_file: str = vehicle_params.area_file()


class CoveragePlannerNode(Node):
    """Thin adapter around :func:`plan_coverage`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, load the area, wait for the first pose."""
        super().__init__('coverage_planner', **kwargs)
        self.config = declare_parameters(self, CoveragePlannerConfig)
        self.area = load_area(self.config.area_file)
        self.plan: Optional[CoveragePlan] = None
        self.error = ''
        self._path_pub = self.create_publisher(
            Path, topics.COVERAGE_PATH, qos.LATCHED)
        self._diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self.create_subscription(Odometry, topics.LOCALIZATION, self._on_odom, qos.STATE)
        self.create_timer(_DIAG_PERIOD_S, self._on_diag)
        self.get_logger().info(f'area {self.area.name!r}: waiting for the first pose')

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_odom(self, msg: Odometry) -> None:
        if self.plan is not None or self.error:
            return
        try:
            state = codec.odometry_to_state(msg)
        except codec.DecodeError as exc:
            self.get_logger().warning(f'bad odometry dropped: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        try:
            self.plan = plan_coverage(self.area.field, self.area.exclusion_zones,
                                      (state.x, state.y), self.config)
        except PlanningError as exc:
            self.error = str(exc)
            self.get_logger().error(f'cannot plan coverage: {exc}')
            return
        self._path_pub.publish(codec.xy_to_path(self.plan.waypoints, self._now()))
        self.get_logger().info(f'coverage path: {self.plan.summary()}')

    def _on_diag(self) -> None:
        if self.error:
            level, text, values = diag.ERROR, self.error, {}
        elif self.plan is None:
            level, text, values = diag.WARN, 'waiting for the first pose', {}
        else:
            p = self.plan
            level, text = diag.OK, 'path published'
            values = {'lanes': len(p.lanes), 'waypoints': len(p.waypoints),
                      'length_m': f'{p.length_m:.1f}', 'work_length_m': f'{p.work_length_m:.1f}',
                      'expected_time_s': f'{p.expected_time_s:.0f}',
                      'transit_over_unprocessed_m': f'{p.transit_over_unprocessed_m:.1f}'}
        self._diag_pub.publish(diag.diagnostics(self.get_name(), self._now(), level, text,
                                                values))


def main(args=None) -> int:
    """Run the node."""
    return run_node(CoveragePlannerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
