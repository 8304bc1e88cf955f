"""The ROS host's sim time: one /clock subscription sets every in-process node's clock, and a
component node reads its clock as rclpy's ``now()`` does."""

import time

import pytest

pytest.importorskip('rclpy')

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.time_source import TimeSource  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402

from demining_bringup.contract import qos, topics  # noqa: E402
from demining_bringup.hosts.ros import ComponentNode, share_sim_time  # noqa: E402
from demining_control.cmd_mux_node import CmdMuxComponent  # noqa: E402

#: Wall seconds to wait for a /clock message to be delivered.
DELIVERY_TIMEOUT_S = 10.0


def _clock_subs(node):
    """The node's own rclpy time-source subscriptions to /clock."""
    return [s for s in node.subscriptions if s.topic_name == '/clock'
            and isinstance(getattr(s.callback, '__self__', None), TimeSource)]


def _node(name, ctx, sim_time=True):
    return Node(name, context=ctx,
                parameter_overrides=[Parameter('use_sim_time', value=sim_time)])


def _stamp(ns):
    msg = Clock()
    msg.clock.sec, msg.clock.nanosec = divmod(ns, 1_000_000_000)
    return msg


def test_one_subscription_sets_every_shared_clock_and_fires_their_timers(ctx):
    carrier = _node('carrier', ctx)
    hosted = [_node(f'hosted_{i}', ctx) for i in range(3)]
    wall = _node('clock_source', ctx, sim_time=False)
    nodes = [carrier, *hosted, wall]
    assert all(len(_clock_subs(n)) == 1 for n in [carrier, *hosted])   # rclpy's default
    assert share_sim_time(carrier, [carrier, *hosted, wall]) == 3
    assert len(_clock_subs(carrier)) == 1
    assert [len(_clock_subs(n)) for n in hosted + [wall]] == [0, 0, 0, 0]
    # The nodes stay on sim time: their clocks read the last /clock, their timers wake on it.
    fired = []
    hosted[0].create_timer(0.1, lambda: fired.append(hosted[0].get_clock().now()))
    pub = wall.create_publisher(Clock, topics.CLOCK, qos.CLOCK)
    executor = SingleThreadedExecutor(context=ctx)
    for n in nodes:
        executor.add_node(n)
    try:
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        stamp = 0
        while not fired or hosted[2].get_clock().now().nanoseconds < stamp:
            assert time.monotonic() < deadline, 'no /clock delivered to the shared clocks'
            stamp += 50_000_000                 # 0.05 s of sim time per message
            pub.publish(_stamp(stamp))
            executor.spin_once(timeout_sec=0.01)
        # every shared clock reads the carrier's time; the clock source keeps the wall's
        now = carrier.get_clock().now().nanoseconds
        assert 0 < now <= stamp
        assert [n.get_clock().now().nanoseconds for n in hosted] == [now] * 3
        assert wall.get_clock().now().nanoseconds > 10 ** 18
        assert fired and fired[0].nanoseconds <= now
        # use_sim_time set later still switches a shared node's clock, both ways
        hosted[1].set_parameters([Parameter('use_sim_time', value=False)])
        assert hosted[1].get_clock().now().nanoseconds > 10 ** 18
        hosted[1].set_parameters([Parameter('use_sim_time', value=True)])
        assert hosted[1].get_clock().now().nanoseconds == now
    finally:
        for n in nodes:
            executor.remove_node(n)
            n.destroy_node()
        executor.shutdown()


def test_a_carrier_off_sim_time_is_refused(ctx):
    carrier = _node('carrier', ctx, sim_time=False)
    try:
        with pytest.raises(ValueError, match='carrier of /clock must be on sim time'):
            share_sim_time(carrier, [])
    finally:
        carrier.destroy_node()


def test_an_rclpy_without_a_private_time_source_shares_nothing(ctx, monkeypatch):
    """Another rclpy release may keep the time source elsewhere: every node keeps its own."""
    carrier = _node('carrier', ctx, sim_time=True)
    other = _node('other', ctx, sim_time=True)
    try:
        monkeypatch.setattr(carrier, '_time_source', None)
        assert share_sim_time(carrier, [other]) == 0
        assert len(_clock_subs(other)) == 1
    finally:
        monkeypatch.undo()
        carrier.destroy_node()
        other.destroy_node()


def test_a_component_node_reads_the_time_rclpy_now_gives(ctx):
    """The host reads its clock's handle directly (cheaper than ``Clock.now()``): the same
    seconds, on sim time and on the wall clock."""
    node = ComponentNode(CmdMuxComponent, context=ctx,
                         parameter_overrides=[Parameter('use_sim_time', value=True)])
    source = _node('clock_source', ctx, sim_time=False)
    pub = source.create_publisher(Clock, topics.CLOCK, qos.CLOCK)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    try:
        stamp = 1_234_567_891_234              # 1234.567891234 s: every digit counts
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while node.get_clock().now().nanoseconds != stamp:
            assert time.monotonic() < deadline, 'no /clock delivered'
            pub.publish(_stamp(stamp))
            executor.spin_once(timeout_sec=0.01)
        assert node._now() == node.get_clock().now().nanoseconds * 1e-9 == stamp * 1e-9
        node.set_parameters([Parameter('use_sim_time', value=False)])
        wall = node.get_clock().now().nanoseconds * 1e-9
        assert wall <= node._now() <= node.get_clock().now().nanoseconds * 1e-9
    finally:
        executor.remove_node(node)
        node.destroy_node()
        source.destroy_node()
        executor.shutdown()
