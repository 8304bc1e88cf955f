"""DDS smoke test of the control nodes together: plan, mission clearing, follower, tool."""

import time

import pytest

rclpy = pytest.importorskip('rclpy')

from geometry_msgs.msg import Twist  # noqa: E402
from nav_msgs.msg import Odometry, Path  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from demining_bringup.contract import codec, qos, topics  # noqa: E402
from demining_bringup.contract.datatypes import ToolState, VehicleState  # noqa: E402
from demining_control.coverage_planner_node import CoveragePlannerNode  # noqa: E402
from demining_control.mission_manager_node import MissionManagerNode  # noqa: E402
from demining_control.path_follower_node import PathFollowerNode  # noqa: E402
from demining_control.tool_controller_node import ToolControllerNode  # noqa: E402

TIMEOUT_S = 15.0
pytestmark = pytest.mark.dds


class Probe(Node):
    def __init__(self, context):
        super().__init__('control_probe', context=context)
        self.path = None
        self.mission = ''
        self.follower = ''
        self.cmd = None
        self.tool = None
        self.pub_odom = self.create_publisher(Odometry, topics.LOCALIZATION, qos.STATE)
        self.pub_ts = self.create_publisher(JointState, topics.TOOL_JOINT_STATES, qos.SENSOR)
        self.create_subscription(Path, topics.COVERAGE_PATH, self._on_path, qos.LATCHED)
        self.create_subscription(String, topics.MISSION_STATE,
                                 lambda m: setattr(self, 'mission', m.data), qos.LATCHED)
        self.create_subscription(String, topics.FOLLOWER_STATUS,
                                 lambda m: setattr(self, 'follower', m.data), qos.LATCHED)
        self.create_subscription(Twist, topics.CMD_VEL_AUTO,
                                 lambda m: setattr(self, 'cmd', m), qos.COMMAND)
        self.create_subscription(JointState, topics.TOOL_COMMAND_AUTO,
                                 lambda m: setattr(self, 'tool', codec.decode_tool_command(m)),
                                 qos.COMMAND)
        self.create_timer(0.05, self._tick)

    def _on_path(self, msg):
        self.path = codec.path_to_xy(msg)

    def _tick(self):
        now = self.get_clock().now().nanoseconds * 1e-9
        self.pub_odom.publish(codec.state_to_odometry(VehicleState(now, -5.0, -3.0, 0.0)))
        # a rotor at rest: the tool controller acts only on a measured tool
        self.pub_ts.publish(codec.encode_tool_state(ToolState(now)))


def test_control_nodes_over_dds(area_file, tmp_path, ros_domain_id):
    ctx = Context()
    rclpy.init(context=ctx, domain_id=ros_domain_id)
    area = Parameter('area_file', value=area_file)
    nodes = [CoveragePlannerNode(context=ctx, parameter_overrides=[area]),
             PathFollowerNode(context=ctx, parameter_overrides=[area]),
             ToolControllerNode(context=ctx),
             MissionManagerNode(context=ctx, parameter_overrides=[
                 area, Parameter('report_dir', value=str(tmp_path / 'run'))])]
    probe = Probe(ctx)
    ex = SingleThreadedExecutor(context=ctx)
    for n in nodes + [probe]:
        ex.add_node(n)
    try:
        deadline = time.monotonic() + TIMEOUT_S

        def wait(cond, what):
            while time.monotonic() < deadline:
                if cond():
                    return
                ex.spin_once(timeout_sec=0.05)
            raise AssertionError(f'timed out waiting for {what}')

        wait(lambda: probe.path is not None, 'coverage path')
        assert len(probe.path) > 100
        assert tuple(probe.path[0]) == pytest.approx((-5.0, -3.0), abs=1e-3)
        wait(lambda: probe.mission == 'clearing', 'mission clearing')
        wait(lambda: probe.follower == 'following', 'follower following')
        # the vehicle faces east, the first lane end is north-east: pivot or drive
        wait(lambda: probe.cmd is not None and (probe.cmd.linear.x > 0.0
                                                or abs(probe.cmd.angular.z) > 0.0),
             'follower command')
        wait(lambda: probe.tool is not None and probe.tool.flail_speed > 1.0,
             'flail spinning up')
        assert probe.tool.depth == 0.0      # no measured rotor speed: never lowered
    finally:
        ex.shutdown()
        for n in nodes + [probe]:
            n.destroy_node()
        rclpy.shutdown(context=ctx)
