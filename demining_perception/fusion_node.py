"""Node ``fusion``: GPR and MD detections -> /mine_map, /detections, /detections/markers."""

from __future__ import annotations

from typing import List, Sequence

from builtin_interfaces.msg import Duration
from nav_msgs.msg import OccupancyGrid
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from demining_bringup import codec, qos, topics
from demining_bringup.area import load_area
from demining_bringup.datatypes import Detection, DetectionKind
from demining_bringup.node_main import run_node
from demining_bringup.ros_params import declare_parameters
from demining_bringup.diagnostics import DiagnosticsPublisher, InputMonitor
from demining_perception.fusion.core import FusionCore, FusionParams

_LOG_THROTTLE_S = 5.0
#: Marker colours (r, g, b, a) per kind.
_COLOURS = {DetectionKind.AP: (1.0, 0.0, 0.0, 0.9), DetectionKind.AT: (1.0, 0.0, 1.0, 0.9),
            DetectionKind.UXO: (1.0, 0.5, 0.0, 0.9), DetectionKind.CLUTTER: (0.5, 0.5, 0.5, 0.6),
            DetectionKind.UNKNOWN: (1.0, 1.0, 0.0, 0.9)}
_MARKER_HEIGHT_M = 0.1
_TEXT_SIZE_M = 0.25


def markers_for(dets: Sequence[Detection], stamp: float) -> MarkerArray:
    """Build a MarkerArray (a DELETEALL, then a cylinder and a label per detection)."""
    header = codec.make_header(stamp, topics.MAP_FRAME)
    out: List[Marker] = [Marker(header=header, action=Marker.DELETEALL)]
    for d in dets:
        r, g, b, a = _COLOURS.get(d.kind, _COLOURS[DetectionKind.UNKNOWN])
        m = Marker(header=header, ns='detections', id=int(d.id), type=Marker.CYLINDER,
                   action=Marker.ADD, lifetime=Duration())
        m.pose.position.x, m.pose.position.y = float(d.x), float(d.y)
        m.pose.position.z = -float(d.depth)
        m.pose.orientation.w = 1.0
        m.scale.x = m.scale.y = 2.0 * max(float(d.radius), 0.05)
        m.scale.z = _MARKER_HEIGHT_M
        m.color = ColorRGBA(r=r, g=g, b=b, a=a)
        t = Marker(header=header, ns='labels', id=int(d.id), type=Marker.TEXT_VIEW_FACING,
                   action=Marker.ADD, text=f'{d.id} {d.kind.name} {d.confidence:.2f}')
        t.pose.position.x, t.pose.position.y = float(d.x), float(d.y)
        t.pose.position.z = 0.3
        t.pose.orientation.w = 1.0
        t.scale.z = _TEXT_SIZE_M
        t.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
        out.extend([m, t])
    return MarkerArray(markers=out)


class FusionNode(Node):
    """Thin adapter around :class:`FusionCore`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, size the grid from the hazard area, wire topics and timer."""
        super().__init__('fusion', **kwargs)
        self.params = declare_parameters(self, FusionParams)
        bounds = None
        if self.params.area_file:
            area = load_area(self.params.area_file)   # WorldError -> exit code 2 in run_node
            xs = [p[0] for p in area.field]
            ys = [p[1] for p in area.field]
            bounds = (min(xs), min(ys), max(xs), max(ys))
        self.core = FusionCore.from_bounds(self.params, bounds)
        g = self.core.grid
        self.get_logger().info(f'mine map {g.width} x {g.height} cells at {g.resolution} m, '
                               f'origin ({g.origin_x:.1f}, {g.origin_y:.1f})')
        self.monitor = InputMonitor(stale_after_s=10.0)   # detections come only with hits
        self.map_pub = self.create_publisher(OccupancyGrid, topics.MINE_MAP, qos.LATCHED)
        self.det_pub = self.create_publisher(PointCloud2, topics.DETECTIONS, qos.LATCHED)
        self.marker_pub = self.create_publisher(MarkerArray, topics.DETECTION_MARKERS,
                                                qos.LATCHED)
        self.create_subscription(PointCloud2, topics.GPR_DETECTIONS,
                                 lambda m: self._on_detections(m, 'gpr'), qos.STATE)
        self.create_subscription(PointCloud2, topics.MD_DETECTIONS,
                                 lambda m: self._on_detections(m, 'md'), qos.STATE)
        self.create_timer(self.params.publish_period_s, self._publish)
        self.diag = DiagnosticsPublisher(self, self.params.publish_period_s, self._status)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_detections(self, msg: PointCloud2, source: str) -> None:
        try:
            dets = codec.decode_detections(msg, source=source)
        except codec.DecodeError as exc:
            self.get_logger().warning(f'dropping {source} detections: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        if msg.header.frame_id not in ('', topics.MAP_FRAME):
            self.get_logger().warning(f'dropping {source} detections in frame '
                                      f'{msg.header.frame_id!r} (expected map)',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        self.monitor.tick(source, self._now())
        self.core.add(dets, codec.stamp_to_sec(msg.header.stamp))

    def _publish(self) -> None:
        now = self._now()
        self.core.update(now)
        fused = self.core.fused()
        g = self.core.grid
        self.map_pub.publish(codec.grid_to_occupancy(g.occupancy(), g.origin_x, g.origin_y,
                                                     g.resolution, now, topics.MAP_FRAME))
        self.det_pub.publish(codec.encode_detections(fused, now, topics.MAP_FRAME))
        self.marker_pub.publish(markers_for(fused, now))

    def _status(self, now: float):
        level, message, values = self.monitor.report(now)
        fused = self.core.fused()
        counts = {k.name: 0 for k in DetectionKind}
        for d in fused:
            counts[d.kind.name] += 1
        values += [('tracks', str(len(self.core.tracks))), ('published', str(len(fused))),
                   ('detections_in', str(self.core.detections_in)),
                   ('detections_outside_map', str(self.core.detections_outside))]
        values += [(f'kind {k}', str(v)) for k, v in counts.items()]
        return level, message, values


def main(args=None) -> int:
    """Run the node."""
    return run_node(FusionNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
