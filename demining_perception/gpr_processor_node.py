"""Node ``gpr_processor``: /gpr/traces + /localization/odometry -> /gpr/detections."""

from __future__ import annotations

from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2

from demining_bringup import codec, qos, topics
from demining_bringup.node_main import run_node
from demining_bringup.ros_params import declare_parameters
from demining_bringup.diagnostics import DiagnosticsPublisher, InputMonitor
from demining_perception.gpr.processing import GprParams, GprProcessor
from demining_perception.pose_buffer import PoseBuffer

_LOG_THROTTLE_S = 5.0
_DIAG_PERIOD_S = 1.0


class GprProcessorNode(Node):
    """Thin adapter around :class:`GprProcessor`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, create the core, subscriptions, publisher and diagnostics."""
        super().__init__('gpr_processor', **kwargs)
        self.params = declare_parameters(self, GprParams)
        self.core = GprProcessor(self.params)
        self.poses = PoseBuffer(history_s=self.params.pose_history_s,
                                max_extrapolation_s=self.params.max_pose_extrapolation_s)
        self.monitor = InputMonitor()
        self.monitor.expect('traces', 'pose')
        self.pub = self.create_publisher(PointCloud2, topics.GPR_DETECTIONS, qos.STATE)
        self.create_subscription(Odometry, topics.LOCALIZATION, self._on_pose, qos.STATE)
        self.create_subscription(PointCloud2, topics.GPR_TRACES, self._on_traces, qos.SENSOR)
        self.diag = DiagnosticsPublisher(self, _DIAG_PERIOD_S, self._status)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_pose(self, msg: Odometry) -> None:
        try:
            state = codec.odometry_to_state(msg)
        except codec.DecodeError as exc:
            self.get_logger().warning(f'dropping pose: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        self.poses.add(state)
        self.monitor.tick('pose', self._now())

    def _on_traces(self, msg: PointCloud2) -> None:
        try:
            scan = codec.decode_gpr_scan(msg)
        except codec.DecodeError as exc:
            self.get_logger().warning(f'dropping GPR batch: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        self.monitor.tick('traces', self._now())
        no_pose = self.core.stats.traces_no_pose
        dets = self.core.process(scan, self.poses)
        if self.core.stats.traces_no_pose > no_pose:
            self.get_logger().warning('GPR traces without a pose at their time are dropped',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
        if dets:
            self.pub.publish(codec.encode_detections(dets, scan.stamp, topics.MAP_FRAME))

    def _status(self, now: float):
        level, message, values = self.monitor.report(now)
        s = self.core.stats
        values += [('traces', str(s.traces)), ('traces_no_pose', str(s.traces_no_pose)),
                   ('traces_still', str(s.traces_still)), ('detections', str(s.detections))]
        return level, message, values


def main(args=None) -> int:
    """Run the node."""
    return run_node(GprProcessorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
