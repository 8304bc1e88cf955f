"""DDS test of the safety supervisor as a lifecycle node.

Ok, e-stop latch, reset (stays stopped), resume, AT blast, inspection acknowledgement.
"""

import os
import time

import pytest

rclpy = pytest.importorskip('rclpy')

from geometry_msgs.msg import Twist  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from std_msgs.msg import Bool, Header, String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from demining_bringup.contract import codec, qos, topics  # noqa: E402
from demining_bringup.contract.datatypes import (SimEvent, ToolCommand,  # noqa: E402
                                                 ToolState, VehicleState)
from demining_bringup.contract.states import (LifecycleState, MissionState,  # noqa: E402
                                              SafetyState)
from demining_control.safety_supervisor_node import SafetySupervisorComponent  # noqa: E402

TIMEOUT_S = 10.0

pytestmark = pytest.mark.dds


class Harness(Node):
    """Plays operator station, localisation, command mux and tool controller."""

    def __init__(self, context):
        super().__init__('safety_test_harness', context=context)
        self.heartbeat = True
        self.state = ''
        self.cmd = None
        self.pub_hb = self.create_publisher(Header, topics.OPERATOR_HEARTBEAT, qos.COMMAND)
        self.pub_estop = self.create_publisher(Bool, topics.OPERATOR_ESTOP, qos.LATCHED)
        self.pub_cmd = self.create_publisher(Twist, topics.CMD_VEL_MUX, qos.COMMAND)
        self.pub_tool = self.create_publisher(codec.JointState, topics.TOOL_COMMAND_AUTO,
                                              qos.COMMAND)
        self.pub_odom = self.create_publisher(codec.Odometry, topics.LOCALIZATION, qos.STATE)
        self.pub_ts = self.create_publisher(codec.JointState, topics.TOOL_JOINT_STATES,
                                            qos.SENSOR)
        self.pub_mission = self.create_publisher(String, topics.MISSION_STATE, qos.LATCHED)
        self.pub_event = self.create_publisher(String, topics.SIM_EVENTS, qos.EVENTS)
        self.create_subscription(String, topics.SAFETY_STATE, self._on_state, qos.LATCHED)
        self.create_subscription(Twist, topics.CMD_VEL, self._on_cmd, qos.COMMAND)
        self.events = []
        self.create_subscription(String, topics.SAFETY_EVENTS, self._on_event, qos.EVENTS)
        self.pub_ack = self.create_publisher(String, topics.SAFETY_INSPECTION_ACK, qos.COMMAND)
        self.reset = self.create_client(Trigger, topics.SAFETY_RESET)
        self.resume = self.create_client(Trigger, topics.SAFETY_RESUME)
        self.create_timer(0.05, self._tick)
        self.pub_mission.publish(String(data=MissionState.CLEARING.value))

    def _on_state(self, msg):
        self.state = msg.data

    def _on_cmd(self, msg):
        self.cmd = (msg.linear.x, msg.angular.z)

    def _on_event(self, msg):
        self.events.append(codec.decode_safety_event(msg).reason)

    def _tick(self):
        now = self.get_clock().now().nanoseconds * 1e-9
        if self.heartbeat:
            self.pub_hb.publish(Header())
        cmd = Twist()
        cmd.linear.x = 0.4
        self.pub_cmd.publish(cmd)
        self.pub_tool.publish(codec.encode_tool_command(ToolCommand(83.8, 0.0, 0.15), now))
        # on the headland, 5 m west of the field: no interlock, inside the geofence
        # moving as the supervisor last commanded (no slip, no runaway)
        v = self.cmd[0] if self.cmd is not None else 0.0
        self.pub_odom.publish(codec.state_to_odometry(VehicleState(now, -5.0, 10.0, 0.0, v=v)))
        self.pub_ts.publish(codec.encode_tool_state(ToolState(now, 83.8, 0.0, 0.15)))


@pytest.fixture
def system(area_file, ros_domain_id):
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    ctx = Context()
    rclpy.init(context=ctx, domain_id=ros_domain_id)
    from demining_bringup.hosts.ros import ComponentNode
    node = ComponentNode(SafetySupervisorComponent, node_name='safety_supervisor', context=ctx,
                         parameter_overrides=[Parameter('area_file', value=area_file),
                                              Parameter('people_monitor_required', value=False),
                                              Parameter('imu_required', value=False),
                                              # the vehicle stands on undeclared ground
                                              # (tested in test_allowed_ground.py)
                                              Parameter('allowed_ground_check', value=False)])
    node.trigger_configure()
    node.trigger_activate()
    assert node.runtime.state is LifecycleState.ACTIVE
    harness = Harness(ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    ex.add_node(harness)
    try:
        yield ex, node, harness
    finally:
        ex.shutdown()
        harness.destroy_node()
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)


def wait_for(ex, cond, what):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if cond():
            return
        ex.spin_once(timeout_sec=0.05)
    raise AssertionError(f'timed out waiting for {what}')


def call(ex, client):
    wait_for(ex, client.service_is_ready, client.srv_name)
    fut = client.call_async(Trigger.Request())
    wait_for(ex, fut.done, f'{client.srv_name} response')
    return fut.result()


def call_reset(ex, harness):
    return call(ex, harness.reset)


def stays_stopped(ex, harness, seconds=0.5):
    """Spin ``seconds``: every /cmd_vel heard is zero."""
    heard = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        harness.cmd = None
        ex.spin_once(timeout_sec=0.05)
        if harness.cmd is not None:
            heard.append(harness.cmd)
    return bool(heard) and all(c == (0.0, 0.0) for c in heard)


def test_safety_node_over_dds(system):
    ex, node, h = system
    sup = node.component.supervisor
    ok, estop, pstop = (SafetyState.OK.value, SafetyState.ESTOP.value,
                        SafetyState.PROTECTIVE_STOP.value)
    wait_for(ex, lambda: h.state == ok and h.cmd is not None and h.cmd[0] > 0.39,
             'state ok and motion passed through')
    # operator e-stop: latched, reset refused while pressed
    h.pub_estop.publish(Bool(data=True))
    wait_for(ex, lambda: h.state == estop and h.cmd == (0.0, 0.0), 'e-stop')
    assert not call_reset(ex, h).success
    h.pub_estop.publish(Bool(data=False))
    wait_for(ex, lambda: not node.component.latest.estop_pressed, 'e-stop release delivered')
    assert sup.state is SafetyState.ESTOP        # still latched
    assert call_reset(ex, h).success
    # a reset never restarts motion (IEC 60204-1, ISO 13850): stopped until a resume
    wait_for(ex, lambda: h.state == pstop, 'protective stop after reset')
    assert stays_stopped(ex, h) and h.state == pstop
    assert call(ex, h.resume).success
    wait_for(ex, lambda: h.state == ok and h.cmd is not None and h.cmd[0] > 0.39,
             'ok after resume')
    # an AT detonation latches the e-stop; resume needs an inspection acknowledgement
    h.pub_event.publish(codec.encode_event(SimEvent(1.0, 'at_detonation', 'tm62', 'AT', 5.0,
                                                    5.0)))
    wait_for(ex, lambda: h.state == estop, 'e-stop on AT detonation')
    assert call_reset(ex, h).success
    wait_for(ex, lambda: h.state == pstop, 'protective stop after second reset')
    refused = call(ex, h.resume)
    assert not refused.success and 'inspection' in refused.message
    h.pub_ack.publish(String(data=''))           # empty: dropped by the wire
    h.pub_ack.publish(String(data='hull and tracks inspected'))
    wait_for(ex, lambda: sup.inspections, 'inspection acknowledgement delivered')
    assert [i['text'] for i in sup.inspections] == ['hull and tracks inspected']
    assert stays_stopped(ex, h)
    assert call(ex, h.resume).success
    wait_for(ex, lambda: h.state == ok, 'ok after resume with inspection')
    # heartbeat lost: protective stop, recovers by itself
    h.heartbeat = False
    wait_for(ex, lambda: h.state == pstop and h.cmd == (0.0, 0.0),
             'protective stop on heartbeat loss')
    h.heartbeat = True
    wait_for(ex, lambda: h.state == ok, 'recovery')
    reasons = [t['reason'] for t in sup.transitions]
    assert any('at_detonation' in r for r in reasons)
    assert any('heartbeat' in r for r in reasons)
    # every reset, resume and acknowledgement went out on /safety/events
    wait_for(ex, lambda: any('heartbeat' in r for r in h.events), 'events heard')
    for text in ('reset refused: operator e-stop still pressed', 'reset: waiting for resume',
                 'resumed by operator', 'resume refused: at_detonation',
                 'inspection acknowledged: "hull and tracks inspected"',
                 'resumed by operator after inspection: "hull and tracks inspected"'):
        assert any(r.startswith(text) for r in h.events), (text, h.events)
