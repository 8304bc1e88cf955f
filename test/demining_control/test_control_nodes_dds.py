"""DDS tests of the control components hosted as lifecycle nodes (own Context).

The nodes together: plan, mission clearing, follower, tool. And the lifecycle gate: no motion
or tool command leaves the follower, the tool controller or the safety supervisor before it is
active.
"""

import time

import pytest

rclpy = pytest.importorskip('rclpy')

from geometry_msgs.msg import Twist  # noqa: E402
from nav_msgs.msg import Odometry, Path  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from demining_bringup.contract import codec, qos, topics  # noqa: E402
from demining_bringup.contract.datatypes import ToolState, VehicleState  # noqa: E402
from demining_bringup.contract.states import (FollowerStatus, LifecycleState,  # noqa: E402
                                              MissionState)
from demining_control.coverage_planner_node import CoveragePlannerComponent  # noqa: E402
from demining_control.mission_manager_node import MissionManagerComponent  # noqa: E402
from demining_control.path_follower_node import PathFollowerComponent  # noqa: E402
from demining_control.safety_supervisor_node import SafetySupervisorComponent  # noqa: E402
from demining_control.tool_controller_node import ToolControllerComponent  # noqa: E402

TIMEOUT_S = 15.0
#: How long the configured-only nodes run their (closed) timers: ten control periods.
INACTIVE_SPIN_S = 1.0
pytestmark = pytest.mark.dds

#: The actuator topics: the follower's and tool controller's automatic commands, and the
#: safety supervisor's gated ones.
ACTUATOR_TOPICS = (topics.CMD_VEL_AUTO, topics.TOOL_COMMAND_AUTO, topics.CMD_VEL,
                   topics.TOOL_COMMAND)


def host(cls, ctx, **params):
    """The component as a lifecycle node (unconfigured)."""
    from demining_bringup.hosts.ros import ComponentNode
    return ComponentNode(cls, node_name=cls.name, context=ctx, parameter_overrides=[
        Parameter(k, value=v) for k, v in params.items()])


def start(node):
    """Configure and activate a hosted component."""
    node.trigger_configure()
    node.trigger_activate()
    assert node.runtime.state is LifecycleState.ACTIVE
    return node


class Probe(Node):
    """Plays localisation and the tool, and listens to everything the control nodes say."""

    def __init__(self, context):
        super().__init__('control_probe', context=context)
        self.path = None
        self.mission = ''
        self.follower = ''
        self.cmd = None
        self.tool = None
        #: Every actuator command heard, per topic.
        self.heard = {t: 0 for t in ACTUATOR_TOPICS}
        self.pub_odom = self.create_publisher(Odometry, topics.LOCALIZATION, qos.STATE)
        self.pub_ts = self.create_publisher(JointState, topics.TOOL_JOINT_STATES, qos.SENSOR)
        self.pub_mission = self.create_publisher(String, topics.MISSION_STATE, qos.LATCHED)
        self.create_subscription(Path, topics.COVERAGE_PATH, self._on_path, qos.LATCHED)
        self.create_subscription(String, topics.MISSION_STATE,
                                 lambda m: setattr(self, 'mission', m.data), qos.LATCHED)
        self.create_subscription(String, topics.FOLLOWER_STATUS,
                                 lambda m: setattr(self, 'follower', m.data), qos.LATCHED)
        self.create_subscription(Twist, topics.CMD_VEL_AUTO, self._on_cmd, qos.COMMAND)
        self.create_subscription(JointState, topics.TOOL_COMMAND_AUTO, self._on_tool,
                                 qos.COMMAND)
        for topic, msg_type in ((topics.CMD_VEL, Twist), (topics.TOOL_COMMAND, JointState)):
            self.create_subscription(msg_type, topic, self._counter(topic), qos.COMMAND)
        self.create_timer(0.05, self._tick)

    def _counter(self, topic):
        def count(msg):
            self.heard[topic] += 1
        return count

    def _on_path(self, msg):
        self.path = codec.path_to_xy(msg)

    def _on_cmd(self, msg):
        self.heard[topics.CMD_VEL_AUTO] += 1
        self.cmd = msg

    def _on_tool(self, msg):
        self.heard[topics.TOOL_COMMAND_AUTO] += 1
        self.tool = codec.decode_tool_command(msg)

    def _tick(self):
        now = self.get_clock().now().nanoseconds * 1e-9
        self.pub_odom.publish(codec.state_to_odometry(VehicleState(now, -5.0, -3.0, 0.0)))
        # a rotor at rest: the tool controller acts only on a measured tool
        self.pub_ts.publish(codec.encode_tool_state(ToolState(now)))


def make_waiter(ex, timeout=TIMEOUT_S):
    deadline = time.monotonic() + timeout

    def wait(cond, what):
        while time.monotonic() < deadline:
            if cond():
                return
            ex.spin_once(timeout_sec=0.05)
        raise AssertionError(f'timed out waiting for {what}')
    return wait


def spin_for(ex, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ex.spin_once(timeout_sec=0.05)


def test_control_nodes_over_dds(area_file, tmp_path, ctx):
    nodes = [start(host(CoveragePlannerComponent, ctx, area_file=area_file)),
             start(host(PathFollowerComponent, ctx, area_file=area_file)),
             start(host(ToolControllerComponent, ctx)),
             start(host(MissionManagerComponent, ctx, area_file=area_file,
                        report_dir=str(tmp_path / 'run')))]
    probe = Probe(ctx)
    ex = SingleThreadedExecutor(context=ctx)
    for n in nodes + [probe]:
        ex.add_node(n)
    try:
        wait = make_waiter(ex)
        wait(lambda: probe.path is not None, 'coverage path')
        assert len(probe.path) > 100
        assert tuple(probe.path[0][:2]) == pytest.approx((-5.0, -3.0), abs=1e-3)
        wait(lambda: probe.mission == MissionState.CLEARING.value, 'mission clearing')
        wait(lambda: probe.follower == FollowerStatus.FOLLOWING.value, 'follower following')
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


def test_no_actuator_command_leaves_a_node_before_it_is_active(area_file, ctx):
    nodes = [host(PathFollowerComponent, ctx, area_file=area_file),
             host(ToolControllerComponent, ctx),
             host(SafetySupervisorComponent, ctx, area_file=area_file)]
    for n in nodes:
        n.trigger_configure()
        assert n.runtime.state is LifecycleState.INACTIVE
    probe = Probe(ctx)
    ex = SingleThreadedExecutor(context=ctx)
    for n in nodes + [probe]:
        ex.add_node(n)
    try:
        wait = make_waiter(ex)
        # The probe hears the nodes' publishers (the gate is the lifecycle, not discovery).
        for topic in ACTUATOR_TOPICS:
            wait(lambda: probe.count_publishers(topic) >= 1, f'a publisher on {topic}')
        # A clearing mission: an active follower and tool controller would command at once.
        probe.pub_mission.publish(String(data=MissionState.CLEARING.value))
        spin_for(ex, INACTIVE_SPIN_S)
        assert probe.heard == {t: 0 for t in ACTUATOR_TOPICS}
        # Inputs did reach the configured components (latched state is not lost).
        assert nodes[0].component.mission is MissionState.CLEARING
        assert nodes[1].component.mission is MissionState.CLEARING
        for n in nodes:
            n.trigger_activate()
            assert n.runtime.state is LifecycleState.ACTIVE
        wait(lambda: all(probe.heard[t] > 0 for t in ACTUATOR_TOPICS),
             'every actuator command once active')
    finally:
        ex.shutdown()
        for n in nodes + [probe]:
            n.destroy_node()
