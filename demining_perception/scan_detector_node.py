"""The shared shape of the two sensor-processing nodes (GPR and metal detector).

Both take batched raw scans in ``base_link`` plus ``/localization/odometry``, buffer poses,
run a streaming detector core and publish raw detections in ``map``. Subclasses name the
topics, the decoder and the core; nothing here knows GPR from MD.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, List, Tuple

from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2

from demining_bringup import codec, qos, topics
from demining_bringup.diagnostics import DiagnosticsPublisher, InputMonitor
from demining_bringup.ros_params import declare_parameters
from demining_perception.pose_buffer import PoseBuffer

_LOG_THROTTLE_S = 5.0
_DIAG_PERIOD_S = 1.0


class ScanDetectorNode(Node):
    """Scans + poses -> detections; subclasses set the class attributes below."""

    node_name: ClassVar[str]
    params_type: ClassVar[type]
    core_type: ClassVar[Callable[[Any], Any]]
    decode: ClassVar[Callable[[PointCloud2], Any]]
    input_topic: ClassVar[str]
    output_topic: ClassVar[str]
    input_label: ClassVar[str]        # diagnostics key and log wording, e.g. 'traces'
    no_pose_counter: ClassVar[str]    # the core's stats field counting readings without a pose

    def __init__(self, **kwargs) -> None:
        """Declare parameters, create the core, subscriptions, publisher and diagnostics."""
        super().__init__(self.node_name, **kwargs)
        self.params = declare_parameters(self, self.params_type)
        self.core = type(self).core_type(self.params)
        self.poses = PoseBuffer(history_s=self.params.pose_history_s,
                                max_extrapolation_s=self.params.max_pose_extrapolation_s)
        self.monitor = InputMonitor()
        self.monitor.expect(self.input_label, 'pose')
        self.pub = self.create_publisher(PointCloud2, self.output_topic, qos.STATE)
        self.create_subscription(Odometry, topics.LOCALIZATION, self._on_pose, qos.STATE)
        self.create_subscription(PointCloud2, self.input_topic, self._on_scan, qos.SENSOR)
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

    def _on_scan(self, msg: PointCloud2) -> None:
        try:
            scan = type(self).decode(msg)
        except codec.DecodeError as exc:
            self.get_logger().warning(f'dropping a batch of {self.input_label}: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        self.monitor.tick(self.input_label, self._now())
        no_pose = getattr(self.core.stats, self.no_pose_counter)
        dets = self.core.process(scan, self.poses)
        if getattr(self.core.stats, self.no_pose_counter) > no_pose:
            self.get_logger().warning(f'{self.input_label} without a pose at their time are '
                                      'dropped', throttle_duration_sec=_LOG_THROTTLE_S)
        if dets:
            self.pub.publish(codec.encode_detections(dets, scan.stamp, topics.MAP_FRAME))

    def _status(self, now: float) -> Tuple[int, str, List[Tuple[str, str]]]:
        level, message, values = self.monitor.report(now)
        values += [(k, str(v)) for k, v in dataclasses.asdict(self.core.stats).items()]
        return level, message, values
