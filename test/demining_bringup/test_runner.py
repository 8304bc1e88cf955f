"""Tests of the runner's pre-flight checks (DDS entities, no spinning)."""

import pytest
import rclpy
from rclpy.context import Context
from rclpy.node import Node
from std_msgs.msg import String

from demining_bringup.contract import qos
from demining_bringup.contract.errors import ConfigError
from demining_bringup.runner import check_qos, detach_qos_events


@pytest.fixture
def ctx(ros_domain_id):
    context = Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    yield context
    rclpy.try_shutdown(context=context)


def _pair(ctx, pub_qos, sub_qos):
    a = Node('talker', context=ctx)
    b = Node('listener', context=ctx)
    a.create_publisher(String, '/x', pub_qos)
    b.create_subscription(String, '/x', lambda m: None, sub_qos)
    return {'talker': a, 'listener': b}


def test_compatible_profiles_pass(ctx):
    built = _pair(ctx, qos.LATCHED, qos.STATE)
    check_qos(built)
    for n in built.values():
        n.destroy_node()


def test_reliable_subscription_on_best_effort_publisher_is_refused(ctx):
    built = _pair(ctx, qos.SENSOR, qos.COMMAND)
    with pytest.raises(ConfigError, match='/x: listener cannot hear talker'):
        check_qos(built)
    for n in built.values():
        n.destroy_node()


def test_detached_event_handlers_can_be_reattached_and_destroyed(ctx):
    node = Node('n', context=ctx)
    node.create_publisher(String, '/y', qos.STATE)
    node.create_subscription(String, '/y', lambda m: None, qos.STATE)
    before = len(list(node.waitables))
    handlers = detach_qos_events(node)
    assert handlers and len(list(node.waitables)) == before - len(handlers)
    for h in handlers:
        node.add_waitable(h)
    node.destroy_node()
