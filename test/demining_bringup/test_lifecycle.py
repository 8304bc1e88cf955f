"""The lifecycle manager: its plans (no ROS) and the ROS node driving hosted components."""

import time

import pytest

from demining_bringup.contract.states import LifecycleState
from demining_bringup.hosts.lifecycle import (Step, Transition, TransitionSequence,
                                              shutdown_plan, startup_plan)

NODES = ('simulator', 'localization', 'path_follower')
TIMEOUT_S = 20.0

U, I, A, F = (LifecycleState.UNCONFIGURED, LifecycleState.INACTIVE, LifecycleState.ACTIVE,
              LifecycleState.FINALIZED)


# -- plans ----------------------------------------------------------------------------------

def test_startup_configures_all_in_order_then_activates_all_in_order():
    assert startup_plan(NODES) == (
        [Step(n, Transition.CONFIGURE) for n in NODES]
        + [Step(n, Transition.ACTIVATE) for n in NODES])


def test_shutdown_deactivates_then_cleans_up_then_shuts_down_in_reverse_order():
    rev = list(reversed(NODES))
    assert shutdown_plan(NODES) == (
        [Step(n, Transition.DEACTIVATE) for n in rev]
        + [Step(n, Transition.CLEANUP) for n in rev]
        + [Step(n, Transition.SHUTDOWN) for n in rev])


def test_empty_plans():
    assert startup_plan([]) == [] and shutdown_plan([]) == []
    seq = TransitionSequence([])
    assert seq.done and seq.ok and seq.next_step() is None


def test_a_sequence_walks_every_step_when_all_succeed():
    plan = startup_plan(NODES)
    seq = TransitionSequence(plan)
    walked = []
    for step in seq:
        assert not seq.done and not seq.ok
        walked.append(step)
        seq.report(True)
    assert walked == plan
    assert seq.done and seq.ok and seq.failed is None
    assert seq.next_step() is None and seq.describe_failure() == ''


def test_a_failed_step_stops_the_sequence_and_names_node_and_transition():
    seq = TransitionSequence(startup_plan(NODES))
    walked = []
    for step in seq:
        walked.append(step)
        # localization refuses to activate (configure went through for all)
        seq.report(step != Step('localization', Transition.ACTIVATE), 'no GNSS origin')
    assert walked[-1] == Step('localization', Transition.ACTIVATE)
    assert len(walked) == len(NODES) + 2                 # path_follower never activated
    assert seq.done and not seq.ok
    assert seq.failed == Step('localization', Transition.ACTIVATE)
    assert seq.next_step() is None
    line = seq.describe_failure()
    assert 'localization' in line and 'activate' in line and 'no GNSS origin' in line
    assert '\n' not in line
    seq.report(True)                                     # ignored once done
    assert seq.failed == Step('localization', Transition.ACTIVATE) and not seq.ok


def test_a_failure_without_a_reason_still_says_what_failed():
    seq = TransitionSequence(startup_plan(NODES))
    seq.report(False)
    line = seq.describe_failure()
    assert 'simulator' in line and 'configure' in line
    assert not line.rstrip().endswith(':'), line


# -- the ROS node -----------------------------------------------------------------------------

@pytest.fixture
def area():
    """An area file: the training field world (a world SDF is an area file too)."""
    from demining_bringup.stack import find_world
    return find_world('training_field')


class Managed:
    """A lifecycle manager and the follower and tool controller it manages, one executor."""

    def __init__(self, ctx, area_file):
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter

        from demining_bringup.hosts.ros import ComponentNode
        from demining_bringup.lifecycle_manager_node import LifecycleManagerNode
        from demining_control.path_follower_node import PathFollowerComponent
        from demining_control.tool_controller_node import ToolControllerComponent
        self.follower = ComponentNode(PathFollowerComponent, node_name='path_follower',
                                      context=ctx, parameter_overrides=[
                                          Parameter('area_file', value=area_file)])
        self.tool = ComponentNode(ToolControllerComponent, node_name='tool_controller',
                                  context=ctx)
        self.manager = LifecycleManagerNode(context=ctx, parameter_overrides=[
            Parameter('node_names', value=['path_follower', 'tool_controller']),
            Parameter('autostart', value=True)])
        self.nodes = [self.follower, self.tool, self.manager]
        self.ex = SingleThreadedExecutor(context=ctx)
        for n in self.nodes:
            self.ex.add_node(n)
        #: Every distinct (follower, tool) state pair seen between callbacks.
        self.seen = [self.states()]

    def states(self):
        return self.follower.runtime.state, self.tool.runtime.state

    def spin_until(self, cond, what):
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            self.ex.spin_once(timeout_sec=0.02)
            if self.states() != self.seen[-1]:
                self.seen.append(self.states())
            if cond():
                return
        raise AssertionError(f'timed out waiting for {what} (states {self.seen})')

    def close(self):
        self.ex.shutdown()
        for n in self.nodes:
            n.destroy_node()


@pytest.mark.dds
def test_manager_brings_the_nodes_up_in_order_and_shuts_them_down(ctx, area):
    m = Managed(ctx, area)
    try:
        m.spin_until(lambda: m.manager.active, 'all nodes active')
        assert m.states() == (A, A) and not m.manager.failure
        # Configure both, then activate in order: the tool controller is configured before
        # anything is active.
        assert m.seen == [(U, U), (I, U), (I, I), (A, I), (A, A)]
        m.seen = [m.states()]
        m.manager.shutdown()
        m.spin_until(lambda: m.manager.finished, 'all nodes shut down')
        assert m.states() == (F, F) and not m.manager.failure and not m.manager.active
        # Reverse order: the tool controller (later in the list) stops first.
        assert m.seen == [(A, A), (A, I), (I, I), (I, U), (U, U), (U, F), (F, F)]
    finally:
        m.close()


@pytest.mark.dds
def test_a_node_that_fails_to_configure_stops_the_start_up_and_is_named(ctx, tmp_path):
    m = Managed(ctx, str(tmp_path / 'no_such_area.geojson'))
    try:
        m.spin_until(lambda: m.manager.failure, 'a failure')
        failure = m.manager.failure
        assert 'path_follower' in failure and 'configure' in failure, failure
        assert 'tool_controller' not in failure
        assert not m.manager.active
        # The sequence stopped: nothing after the failed step happened.
        for _ in range(10):
            m.ex.spin_once(timeout_sec=0.02)
        assert m.states() == (U, U)
    finally:
        m.close()
