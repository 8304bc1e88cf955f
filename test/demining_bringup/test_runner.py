"""Tests of the runner's pre-flight checks: profile keys, one QoS per topic, QoS event handlers.

The runner no longer compares QoS pairs at start-up (``check_qos`` is gone): every port is
bound through the contract's wire (:mod:`demining_bringup.contract.wire`), which names one QoS
per topic for its publishers and subscribers alike. The tests here check that this holds in a
built stack, and that a profile key no node declares is refused before anything starts
(:func:`demining_bringup.stack.check_profile`, which replaced ``check_declared``).
"""

import os
import time
from collections import defaultdict

import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.time_source import TimeSource
from std_msgs.msg import String

from demining_bringup import stack as st
from demining_bringup.contract import qos, topics
from demining_bringup.contract.errors import ConfigError
from demining_bringup.contract.states import LifecycleState, MissionState
from demining_bringup.contract.wire import wires
from demining_bringup.lifecycle_manager_node import LifecycleManagerNode
from demining_bringup.deterministic_runner import hosted
from demining_bringup.hosts.deterministic import DeterministicHost
from demining_bringup.report import REPORT_FILES
from demining_bringup.results import RunResult, read_summary
from demining_bringup.runner import (ExecutorKind, MissionMonitor, abort_record,
                                     detach_qos_events, instantiate, make_executor, validate)

#: Wall seconds the graph may take to list every endpoint of this process.
GRAPH_TIMEOUT_S = 10.0


@pytest.fixture
def stack(tmp_path):
    """The default (embedded) stack, resolved, with its profile."""
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {'run_dir': str(tmp_path / 'run')})
    profile = st.load_profile(args['profile'])
    return st.resolve_stack(desc, args, profile), profile


# -- profile keys (stack.check_profile) ---------------------------------------------------

def test_the_bundled_profile_passes(stack):
    nodes, profile = stack
    st.check_profile(nodes, profile)


def test_unknown_key_in_a_node_section_is_refused(stack):
    nodes, profile = stack
    bad = {**profile, 'path_follower': {**profile.get('path_follower', {}),
                                        'lookahed_m': 1.0}}
    with pytest.raises(ConfigError, match=r'path_follower\.lookahed_m: unknown parameter'):
        st.check_profile(nodes, bad)


def test_key_of_another_node_in_a_node_section_is_refused(stack):
    nodes, profile = stack
    # report_dir is the mission manager's: in the follower's section it is a mistake.
    with pytest.raises(ConfigError, match=r'path_follower\.report_dir'):
        st.check_profile(nodes, {'path_follower': {'report_dir': '/tmp'}})


def test_unknown_key_in_the_wildcard_section_is_refused(stack):
    nodes, profile = stack
    bad = {**profile, st.WILDCARD: {**profile.get(st.WILDCARD, {}), 'tool_widht_m': 2.0}}
    with pytest.raises(ConfigError, match=r'/\*\*\.tool_widht_m: no node declares'):
        st.check_profile(nodes, bad)


def test_wildcard_keys_any_node_declares_pass(stack):
    nodes, _ = stack
    # report_dir only the mission manager declares, use_sim_time every node.
    st.check_profile(nodes, {st.WILDCARD: {'report_dir': '/tmp', 'use_sim_time': True}})


def test_a_boom_narrower_than_the_tracks_is_refused(stack):
    nodes, profile = stack
    shared = profile.get(st.WILDCARD, {})
    span = shared['track_gauge_m'] + shared['track_width_m']
    bad = {**profile, st.WILDCARD: {**shared, 'sensor_width_m': span - 0.05}}
    with pytest.raises(ConfigError, match=r'sensor_width_m: the boom .* narrower than the '
                       r"tracks' span"):
        st.check_profile(nodes, bad)
    # wider tracks under the same boom: the same refusal
    wide = {**profile, st.WILDCARD: {**shared, 'track_gauge_m': shared['sensor_width_m']}}
    with pytest.raises(ConfigError, match='narrower than the tracks'):
        st.check_profile(nodes, wide)


def test_validate_refuses_an_unknown_profile_key_before_configuring(stack):
    nodes, profile = stack
    with pytest.raises(ConfigError, match='no_such_parameter'):
        validate(nodes, {**profile, 'fusion': {'no_such_parameter': 1.0}})


# -- one QoS per topic (contract/wire.py) -------------------------------------------------

def test_every_port_of_every_component_is_a_topic_of_the_wire():
    w = wires()
    for spec in st.load_stack().nodes:          # both simulation backends
        cls = st.load_component(spec.module, spec.class_name, spec.name)
        for port in list(cls.inputs.values()) + list(cls.outputs.values()):
            assert port.topic in w, f'{spec.name}: {port.topic} has no wire'
            if port in cls.inputs.values():
                assert w[port.topic].decode is not None, f'{port.topic} cannot be decoded'


def _is_time_source(sub):
    # rclpy's own /clock subscription (use_sim_time): BEST_EFFORT depth 1, not the stack's.
    return isinstance(getattr(sub.callback, '__self__', None), TimeSource)


def test_publishers_and_subscribers_of_a_topic_share_the_wire_qos(stack, ctx):
    """Build the whole stack (configured, not spinning): one QoS per topic, both ends."""
    nodes, _ = stack
    w = wires()
    built = [instantiate(spec, ctx) for spec in nodes]
    # The runner's own nodes listen too.
    built.append(MissionMonitor(context=ctx, parameter_overrides=[
        Parameter('use_sim_time', value=True)]))
    built.append(LifecycleManagerNode(context=ctx, parameter_overrides=[
        Parameter('node_names', value=[n.name for n in nodes]),
        Parameter('autostart', value=False)]))
    try:
        for node in built[:len(nodes)]:
            node.trigger_configure()
            assert node.runtime.state is LifecycleState.INACTIVE, node.get_name()
        pubs, subs = defaultdict(list), defaultdict(list)
        # The nodes report resolved names (/cmd_vel), the contract's are relative (cmd_vel).
        contract = {topics.resolved(t): t for t in topics.TOPICS if t in w}
        for node in built:
            for p in node.publishers:
                if p.topic_name in contract:
                    pubs[contract[p.topic_name]].append((node.get_name(), p.qos_profile))
            for s in node.subscriptions:
                if s.topic_name in contract and not _is_time_source(s):
                    subs[contract[s.topic_name]].append((node.get_name(), s.qos_profile))
        for topic in set(pubs) | set(subs):
            for name, profile in pubs[topic] + subs[topic]:
                assert profile == w[topic].qos, f'{name} on {topic}: not the wire QoS'
        # Not vacuous: component inputs and outputs met on the topics between nodes.
        both = {t for t in pubs if subs[t]}
        assert {topics.CMD_VEL_AUTO, topics.TOOL_COMMAND_AUTO, topics.LOCALIZATION,
                topics.MISSION_STATE, topics.COVERAGE_PATH} <= both
        # What DDS matched agrees (it reports reliability and durability).
        peer = built[0]
        for topic in both:
            want = (w[topic].qos.reliability, w[topic].qos.durability)
            deadline = time.monotonic() + GRAPH_TIMEOUT_S
            while True:
                ends = (peer.get_publishers_info_by_topic(topics.resolved(topic))
                        + peer.get_subscriptions_info_by_topic(topics.resolved(topic)))
                if len(ends) >= len(pubs[topic]) + len(subs[topic]):
                    break
                assert time.monotonic() < deadline, f'{topic}: endpoints not discovered'
                time.sleep(0.05)
            for e in ends:
                got = (e.qos_profile.reliability, e.qos_profile.durability)
                if topic == topics.CLOCK and e.endpoint_type.name == 'SUBSCRIPTION':
                    continue            # rclpy's time source (best effort is compatible)
                assert got == want, f'{e.node_name} on {topic}: {got} != {want}'
    finally:
        for node in built:
            node.destroy_node()


# -- QoS event handlers -------------------------------------------------------------------

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


# -- executors ----------------------------------------------------------------------------

@pytest.mark.parametrize('kind', list(ExecutorKind))
def test_every_executor_kind_delivers_messages(ctx, kind):
    executor = make_executor(kind, ctx)
    node = Node('executor_check', context=ctx)
    got = []
    node.create_subscription(String, '/executor_check', got.append, qos.STATE)
    pub = node.create_publisher(String, '/executor_check', qos.STATE)
    executor.add_node(node)
    deadline = time.monotonic() + GRAPH_TIMEOUT_S
    try:
        while not got and time.monotonic() < deadline:
            pub.publish(String(data=kind.value))
            executor.spin_once(timeout_sec=0.05)
        assert got and got[0].data == kind.value
    finally:
        executor.remove_node(node)
        node.destroy_node()
        executor.shutdown()


# -- the record of a run whose mission manager wrote none (runner.abort_record) ------------

def _summary_files(run_dir):
    for name in REPORT_FILES:
        assert os.path.getsize(os.path.join(run_dir, name)) > 0, name
    return read_summary(str(run_dir))


def test_a_run_stopped_before_the_mission_manager_started_is_aborted_and_reported(stack):
    # SIGTERM while the processes were still starting: no journal, no report in the folder.
    nodes, _ = stack
    run_dir = _run_dir(nodes)
    os.makedirs(run_dir, exist_ok=True)
    lines = []
    bare = RunResult(mission_state='unknown', run_dir=run_dir, summary=None, wall_time_s=5.0,
                     interrupted='interrupted by SIGTERM')
    result = abort_record(bare, nodes, 'interrupted by SIGTERM', lines.append)
    summary = _summary_files(run_dir)
    assert summary['outcome'] == 'aborted' and summary['reason'] == 'interrupted by SIGTERM'
    assert result.summary == summary and result.mission_state == 'aborted'
    assert summary['coverage_percent'] == 0.0
    assert any('mission aborted here' in ln for ln in lines)


def test_a_killed_mission_managers_record_is_continued_and_aborted(stack):
    # The mission manager died mid-mission: its journal holds the record so far; the abort
    # adds the runner's reason to it, not an 'interrupted' guess.
    nodes, _ = stack
    run_dir = _run_dir(nodes)
    host = DeterministicHost(hosted(nodes))
    host.startup()
    host.run(lambda: host.now >= 30.0)
    mm = host.runtimes['mission_manager'].component
    assert mm.mission.state is MissionState.CLEARING
    mm.journal_commit(host.now)
    mm.journal.close()          # the process is gone: what it committed is all there is
    mm.journal = None
    host.shutdown()
    bare = RunResult(mission_state='clearing', run_dir=run_dir, summary=None, wall_time_s=9.0)
    result = abort_record(bare, nodes, 'node(s) exited with an error: mission_manager',
                          lambda line: None)
    summary = _summary_files(run_dir)
    assert result.summary == summary
    assert summary['outcome'] == 'aborted'
    # the runner's abort is the journal's second segment
    assert summary['reason'] == ('node(s) exited with an error: mission_manager '
                                 '(over 2 runs: resumed after a restart)')
    # the record so far is kept: the mission's time and the ground it processed
    assert summary['runs'] == 2 and summary['mission_time_s'] >= 25.0
    assert summary['coverage_percent'] > 0.0


def test_a_record_that_cannot_be_continued_is_left_to_the_journal_rebuild(stack, tmp_path):
    nodes, _ = stack
    run_dir = _run_dir(nodes)
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, 'journal.sqlite'), 'wb') as f:
        f.write(b'not a journal')
    lines = []
    bare = RunResult(mission_state='unknown', run_dir=run_dir, summary=None, wall_time_s=5.0)
    assert abort_record(bare, nodes, 'interrupted by SIGTERM', lines.append) is bare
    assert any('could not be aborted here' in ln for ln in lines)
    assert not os.path.exists(os.path.join(run_dir, 'summary.json'))


def _run_dir(nodes):
    return next(n.parameters['report_dir'] for n in nodes if n.name == 'mission_manager')
