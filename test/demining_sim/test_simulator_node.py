"""DDS smoke test of the simulator hosted as a lifecycle node (own context and domain)."""

import time

import pytest

rclpy = pytest.importorskip('rclpy')

from geometry_msgs.msg import Twist, Vector3  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import Imu, JointState, NavSatFix, PointCloud2  # noqa: E402
from std_msgs.msg import Header, String  # noqa: E402

from demining_bringup.contract import codec, qos, topics  # noqa: E402
from demining_bringup.contract.datatypes import Garbage  # noqa: E402
from demining_bringup.contract.errors import CONFIG_ERRORS  # noqa: E402
from demining_bringup.contract.states import LifecycleState  # noqa: E402
from demining_bringup.contract.wire import wires  # noqa: E402
from demining_bringup.hosts.ros import ComponentNode  # noqa: E402
from demining_sim.simulator_node import SimulatedCrash, SimulatorComponent  # noqa: E402

pytestmark = pytest.mark.dds

TIMEOUT_S = 30.0


def spin_until(executor, condition, timeout=TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        executor.spin_once(timeout_sec=0.05)
    return condition()


def sim_node(ctx, **params):
    """The simulator node, configured and active (as the lifecycle manager leaves it)."""
    overrides = [Parameter('world', value='training_field'),
                 Parameter('real_time_factor', value=20.0)]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    node = ComponentNode(SimulatorComponent, context=ctx, parameter_overrides=overrides)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    return node


def test_publishes_the_contract_and_drives(ctx):
    node = sim_node(ctx)
    probe = rclpy.create_node('probe', context=ctx)
    got = {}

    def keep(name):
        def cb(msg):
            got.setdefault(name, []).append(msg)
        return cb
    subs = [(Clock, topics.CLOCK, qos.CLOCK), (Odometry, topics.ODOM_TRACKS, qos.SENSOR),
            (NavSatFix, topics.GNSS_FIX, qos.SENSOR), (Imu, topics.IMU, qos.SENSOR),
            (PointCloud2, topics.GPR_TRACES, qos.SENSOR),
            (PointCloud2, topics.MD_COILS, qos.SENSOR),
            (JointState, topics.TOOL_JOINT_STATES, qos.SENSOR),
            (Odometry, topics.GROUND_TRUTH, qos.SENSOR),
            (Header, topics.OPERATOR_HEARTBEAT, qos.COMMAND)]
    for msg_type, topic, profile in subs:
        probe.create_subscription(msg_type, topic, keep(topic), profile)
    cmd_pub = probe.create_publisher(Twist, topics.CMD_VEL, qos.COMMAND)
    probe.create_timer(0.02, lambda: cmd_pub.publish(Twist(linear=Vector3(x=0.5))))
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    executor.add_node(probe)
    try:
        assert spin_until(executor, lambda: all(t in got for _, t, _ in subs)), \
            f'missing: {[t for _, t, _ in subs if t not in got]}'
        start = codec.odometry_to_state(got[topics.GROUND_TRUTH][0])

        def moved():
            last = codec.odometry_to_state(got[topics.GROUND_TRUTH][-1])
            return abs(last.x - start.x) + abs(last.y - start.y) > 0.5
        assert spin_until(executor, moved)
        scan = codec.decode_gpr_scan(got[topics.GPR_TRACES][-1])
        assert scan.amplitudes.shape[1] == 256 and scan.sample_interval_ns == pytest.approx(0.04)
        md = codec.decode_md_scan(got[topics.MD_COILS][-1])
        assert len(md.channels) % 8 == 0
        clocks = [codec.stamp_to_sec(m.clock) for m in got[topics.CLOCK]]
        assert clocks == sorted(clocks) and clocks[-1] > 1.0
        fix = got[topics.GNSS_FIX][-1]
        assert fix.header.frame_id == topics.GNSS_FRAME and fix.status.status >= 0
    finally:
        executor.shutdown()
        node.destroy_node()
        probe.destroy_node()


def test_nothing_is_published_before_activation(ctx):
    node = ComponentNode(SimulatorComponent, context=ctx, parameter_overrides=[
        Parameter('world', value='training_field'), Parameter('real_time_factor', value=20.0)])
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    probe = rclpy.create_node('probe', context=ctx)
    clocks = []
    probe.create_subscription(Clock, topics.CLOCK, clocks.append, qos.CLOCK)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    executor.add_node(probe)
    try:
        spin_until(executor, lambda: False, timeout=1.0)
        assert clocks == [] and node.component.time == 0.0
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert spin_until(executor, lambda: len(clocks) > 2)
    finally:
        executor.shutdown()
        node.destroy_node()
        probe.destroy_node()


def test_node_crash_and_garbage_faults(ctx, tmp_path):
    scenario = tmp_path / 'crash.yaml'
    scenario.write_text('faults:\n'
                        '  - {at: 0.5, kind: garbage_message, topic: /sim/events}\n'
                        '  - {at: 1.0, kind: node_crash}\n')
    node = sim_node(ctx, scenario_file=str(scenario))
    probe = rclpy.create_node('probe', context=ctx)
    events = []
    probe.create_subscription(String, topics.SIM_EVENTS, events.append, qos.EVENTS)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    executor.add_node(probe)
    try:
        with pytest.raises(SimulatedCrash):
            spin_until(executor, lambda: False)
        spin_until(executor, lambda: any(_malformed(m) for m in events), timeout=5.0)
        assert any(_malformed(m) for m in events)
    finally:
        executor.shutdown()
        node.destroy_node()
        probe.destroy_node()


def _malformed(msg):
    try:
        codec.decode_event(msg)
    except codec.DecodeError:
        return True
    return False


def test_bad_world_fails_configure(ctx):
    node = ComponentNode(SimulatorComponent, context=ctx, parameter_overrides=[
        Parameter('world', value='/nonexistent/world.sdf')])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node.runtime.state is LifecycleState.UNCONFIGURED
    finally:
        node.destroy_node()


def test_out_of_range_parameter_is_a_config_error(ctx):
    with pytest.raises(CONFIG_ERRORS):
        ComponentNode(SimulatorComponent, context=ctx, parameter_overrides=[
            Parameter('world', value='training_field'),
            Parameter('real_time_factor', value=500.0)])


@pytest.mark.parametrize('topic', [topics.GPR_TRACES, topics.MD_COILS,
                                   topics.TOOL_JOINT_STATES, topics.SIM_EVENTS,
                                   topics.GROUND_TRUTH])
def test_garbage_on_a_simulator_topic_does_not_decode(topic):
    """What the garbage_message fault puts on these topics, every subscriber drops."""
    assert topic in {p.topic for p in SimulatorComponent.outputs.values()}
    wire = wires()[topic]
    with pytest.raises(codec.DecodeError):
        wire.decode(wire.encode(Garbage(3.0), 3.0))
