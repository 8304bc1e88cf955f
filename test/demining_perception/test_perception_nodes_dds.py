"""The fusion and localisation components hosted as lifecycle nodes over DDS (own Context)."""

import time

import pytest

rclpy = pytest.importorskip('rclpy')

from nav_msgs.msg import OccupancyGrid, Odometry  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import NavSatFix, NavSatStatus, PointCloud2  # noqa: E402

from demining_bringup.contract import codec, qos, topics  # noqa: E402
from demining_bringup.contract.datatypes import Detection, DetectionKind  # noqa: E402
from demining_bringup.contract.geo import LocalCartesian  # noqa: E402

pytestmark = pytest.mark.dds
TIMEOUT_S = 15.0


def spin_until(executor, cond, timeout=TIMEOUT_S, action=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if action is not None:
            action()
        executor.spin_once(timeout_sec=0.05)
        if cond():
            return True
    return False


def hosted(cls, ctx, **params):
    """The component as a lifecycle node, configured and active."""
    from demining_bringup.hosts.ros import ComponentNode
    node = ComponentNode(cls, context=ctx, parameter_overrides=[
        Parameter(k, value=v) for k, v in params.items()])
    node.trigger_configure()
    node.trigger_activate()
    return node


def test_fusion_node_publishes_track_and_map(ctx):
    from demining_perception.fusion_node import FusionComponent
    node = hosted(FusionComponent, ctx, publish_period_s=0.2, map_width_m=20.0,
                  map_height_m=20.0, map_origin_x=0.0, map_origin_y=0.0)
    peer = rclpy.create_node('fusion_test_peer', context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    ex.add_node(peer)
    got = {}
    peer.create_subscription(PointCloud2, topics.DETECTIONS,
                             lambda m: got.__setitem__('dets', codec.decode_detections(m)),
                             qos.LATCHED)
    peer.create_subscription(OccupancyGrid, topics.MINE_MAP,
                             lambda m: got.__setitem__('map', m), qos.LATCHED)
    pub = peer.create_publisher(PointCloud2, topics.GPR_DETECTIONS, qos.STATE)
    det = Detection(x=5.0, y=6.0, depth=0.1, confidence=0.9, source='gpr', radius=0.05,
                    strength=10.0, polarity=1, sigma_xy=0.05)

    def send():
        if pub.get_subscription_count() and 'sent' not in got:
            pub.publish(codec.encode_detections([det], 1.0))
            pub.publish(codec.encode_detections([det], 1.1))
            got['sent'] = True

    try:
        assert spin_until(ex, lambda: got.get('dets') and 'map' in got, action=send)
        d = got['dets'][0]
        # A lone plastic-polarity mine-size reflector: suspect (AP, or UNKNOWN while a stone
        # is as likely); the polarity and pose sigma cross the wire.
        assert len(got['dets']) == 1 and d.id == 1
        assert d.kind in (DetectionKind.AP, DetectionKind.UNKNOWN)
        assert d.polarity == 1 and abs(d.sigma_xy - 0.05) < 1e-6
        assert abs(d.x - 5.0) < 1e-3 and abs(d.y - 6.0) < 1e-3
        grid = codec.occupancy_to_grid(got['map'])
        assert grid.shape == (200, 200)
        assert grid[60, 50] > grid[0, 0] >= 0
    finally:
        ex.shutdown()
        node.destroy_node()
        peer.destroy_node()


def test_localization_node_publishes_pose_from_gnss(ctx):
    from demining_perception.localization_node import LocalizationComponent
    origin = (45.0, 16.0, 100.0)
    node = hosted(LocalizationComponent, ctx, origin_latitude_deg=origin[0],
                  origin_longitude_deg=origin[1], origin_altitude_m=origin[2])
    peer = rclpy.create_node('loc_test_peer', context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    ex.add_node(peer)
    got = []
    peer.create_subscription(Odometry, topics.LOCALIZATION, got.append, qos.STATE)
    pub = peer.create_publisher(NavSatFix, topics.GNSS_FIX, qos.SENSOR)
    lat, lon, alt = LocalCartesian(*origin).to_geodetic(12.0, -3.0, 0.0)

    def send():
        if pub.get_subscription_count():
            msg = NavSatFix(latitude=float(lat), longitude=float(lon), altitude=float(alt))
            msg.status.status = NavSatStatus.STATUS_FIX
            msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
            msg.header.stamp = node.get_clock().now().to_msg()
            pub.publish(msg)

    try:
        assert spin_until(ex, lambda: len(got) > 0, action=send)
        p = got[-1].pose.pose.position
        assert abs(p.x - 12.0) < 0.05 and abs(p.y + 3.0) < 0.05
        assert got[-1].header.frame_id == topics.MAP_FRAME
        assert got[-1].child_frame_id == topics.BASE_FRAME
        # The EKF's covariances travel: x variance set, z not estimated, twist v and omega.
        assert 0.0 < got[-1].pose.covariance[0] < 1.0 and got[-1].pose.covariance[14] > 1e5
        assert got[-1].twist.covariance[0] > 0.0 and got[-1].twist.covariance[35] > 0.0
    finally:
        ex.shutdown()
        node.destroy_node()
        peer.destroy_node()
