"""Node ``md_processor``: /metal_detector/coils + /localization/odometry -> MD detections."""

from __future__ import annotations

from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2

from demining_bringup import codec, qos, topics
from demining_bringup.node_main import run_node
from demining_bringup.ros_params import declare_parameters
from demining_bringup.diagnostics import DiagnosticsPublisher, InputMonitor
from demining_perception.metal_detector.processing import MdParams, MdProcessor
from demining_perception.pose_buffer import PoseBuffer

_LOG_THROTTLE_S = 5.0
_DIAG_PERIOD_S = 1.0


class MdProcessorNode(Node):
    """Thin adapter around :class:`MdProcessor`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, create the core, subscriptions, publisher and diagnostics."""
        super().__init__('md_processor', **kwargs)
        self.params = declare_parameters(self, MdParams)
        self.core = MdProcessor(self.params)
        self.poses = PoseBuffer(history_s=self.params.pose_history_s,
                                max_extrapolation_s=self.params.max_pose_extrapolation_s)
        self.monitor = InputMonitor()
        self.monitor.expect('coils', 'pose')
        self.pub = self.create_publisher(PointCloud2, topics.MD_DETECTIONS, qos.STATE)
        self.create_subscription(Odometry, topics.LOCALIZATION, self._on_pose, qos.STATE)
        self.create_subscription(PointCloud2, topics.MD_COILS, self._on_coils, qos.SENSOR)
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

    def _on_coils(self, msg: PointCloud2) -> None:
        try:
            scan = codec.decode_md_scan(msg)
        except codec.DecodeError as exc:
            self.get_logger().warning(f'dropping MD batch: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        self.monitor.tick('coils', self._now())
        no_pose = self.core.stats.readings_no_pose
        dets = self.core.process(scan, self.poses)
        if self.core.stats.readings_no_pose > no_pose:
            self.get_logger().warning('MD readings without a pose at their time are dropped',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
        if dets:
            self.pub.publish(codec.encode_detections(dets, scan.stamp, topics.MAP_FRAME))

    def _status(self, now: float):
        level, message, values = self.monitor.report(now)
        s = self.core.stats
        values += [('readings', str(s.readings)),
                   ('readings_no_pose', str(s.readings_no_pose)),
                   ('rows_still', str(s.rows_still)), ('detections', str(s.detections))]
        return level, message, values


def main(args=None) -> int:
    """Run the node."""
    return run_node(MdProcessorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
