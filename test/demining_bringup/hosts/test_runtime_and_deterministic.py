"""The shared runtime's gates and the deterministic host, over the real stack's components."""

import dataclasses
import hashlib
import logging
import math

import pytest

from demining_bringup import stack as st
from demining_bringup.contract import topics
from demining_bringup.contract.component import Component, Port
from demining_bringup.contract.datatypes import Twist2D
from demining_bringup.contract.states import LifecycleState, MissionState
from demining_bringup.deterministic_runner import hosted
from demining_bringup.hosts.deterministic import (LOGGER_NAME, ComponentFailure, ConsoleHandler,
                                                  DeterministicHost, Hosted, HostLog,
                                                  LogFormatter)
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog, Throttle

ACTUATOR_TOPICS = {topics.CMD_VEL, topics.TOOL_COMMAND, topics.CMD_VEL_AUTO,
                   topics.TOOL_COMMAND_AUTO, topics.CMD_VEL_MUX}


def _stack_nodes(**given):
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {'world': 'training_field', 'seed': '3', **given})
    return st.resolve_stack(desc, args, st.load_profile(args['profile']))


def test_every_actuator_port_is_declared_on_its_contract_topic():
    actuators = {p.topic for n in _stack_nodes() for p in n.component().outputs.values()
                 if p.actuator}
    assert actuators == ACTUATOR_TOPICS


@pytest.mark.parametrize('spec', [n for n in _stack_nodes() if n.component().actuator_ports()],
                         ids=lambda n: n.name)
def test_no_actuator_command_leaves_a_component_before_activation(spec, tmp_path):
    params = dict(spec.parameters)
    if 'report_dir' in params:
        params['report_dir'] = str(tmp_path)
    sent = []
    rt = ComponentRuntime(spec.component(), name=spec.name,
                          sink=lambda port, value: sent.append(port), log=RecordingLog())
    rt.configure(params)
    if spec.name == 'cmd_mux':
        # the mux's timer commands only while paused (it holds zero); commands otherwise pass
        # on arrival
        rt.deliver('pause', True, 1.0)
    # Even called directly (not through the host's gated timers), a configured but inactive
    # component's commands go nowhere.
    for timer in rt.periods:
        getattr(rt.component, timer)(1.0)
    assert sent == [] and all(rt.dropped[p] > 0 for p in spec.component().actuator_ports())
    rt.activate(1.0)
    for timer in rt.periods:
        rt.fire(timer, 1.1)
    assert set(spec.component().actuator_ports()) <= set(sent)
    rt.deactivate(1.2)
    sent.clear()
    for timer in rt.periods:
        rt.fire(timer, 1.3)
    assert sent == []


@dataclasses.dataclass(frozen=True)
class _NoParams:
    """A schema without parameters."""


class _Needy(Component):
    name = 'needy'
    params = _NoParams
    inputs = {'cmd': Port(topics.CMD_VEL)}


def test_a_port_without_its_handler_is_refused_at_construction():
    with pytest.raises(TypeError, match='on_cmd'):
        ComponentRuntime(_Needy, sink=lambda p, v: None, log=RecordingLog())


def test_throttle_lets_one_line_a_period_per_message_head():
    now = [0.0]
    th = Throttle(lambda: now[0])
    assert th.allow(30, 'bad odometry dropped: NaN', 5.0)
    assert not th.allow(30, 'bad odometry dropped: NaN', 5.0)
    assert th.allow(30, 'another message', 5.0) and th.allow(30, 'unthrottled', 0.0)
    now[0] = 5.0
    assert th.allow(30, 'bad odometry dropped: NaN', 5.0)


def test_a_component_log_line_reads_as_a_ros_console_line_at_its_simulated_time(capsys):
    """`demine run --backend core` printed the bare message: no node, no time to match the
    journal's stamps with."""
    now = [1234.5]
    logger = logging.getLogger(f'{LOGGER_NAME}.coverage_planner')
    handler = ConsoleHandler()
    logger.addHandler(handler)
    try:
        log = HostLog('coverage_planner', lambda: now[0])
        log.warning('no-go zone: AT mine at (3.0, 4.0)')
        now[0] = 1240.0
        log.error('pinned')
        logging.getLogger('bench.missions').error('outside the host')
    finally:
        logger.removeHandler(handler)
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == ['[WARN] [1234.500] [coverage_planner]: no-go zone: AT mine at (3.0, 4.0)',
                         '[ERROR] [1240.000] [coverage_planner]: pinned']
    record = logging.LogRecord('bench.missions', logging.ERROR, __file__, 1, 'outside', None,
                               None)
    assert LogFormatter().format(record) == '[ERROR] [-] [bench.missions]: outside'


def _run_host(tmp_path, sim_s):
    nodes = _stack_nodes(run_dir=str(tmp_path))
    host = DeterministicHost(hosted(nodes))
    cmds = []
    host.tap(topics.CMD_VEL, cmds.append)
    states = []
    host.tap(topics.MISSION_STATE, states.append)
    host.startup()
    host.run(lambda: False, sim_time_limit_s=sim_s)
    return host, cmds, states


def test_the_deterministic_host_runs_the_stack_and_repeats_itself_exactly(tmp_path):
    host, cmds, states = _run_host(tmp_path / 'a', 40.0)
    assert all(rt.state is LifecycleState.ACTIVE for rt in host.runtimes.values())
    assert MissionState.CLEARING in states
    assert any(c.v > 0.0 for c in cmds), 'the vehicle never drove'
    _, again, _ = _run_host(tmp_path / 'b', 40.0)

    def digest(seq):
        return hashlib.sha256(repr([(c.v, c.omega) for c in seq]).encode()).hexdigest()
    assert digest(cmds) == digest(again)
    host.shutdown()
    assert all(rt.state is LifecycleState.FINALIZED for rt in host.runtimes.values())


class _Clock(Component):
    """A minimal clock source that raises at t >= 1 s (a crashing node)."""

    name = 'clock'
    clock_source = True
    params = _NoParams
    outputs = {'clock': Port(topics.CLOCK), 'cmd': Port(topics.CMD_VEL, actuator=True)}
    pacing_inputs = ()

    def advance_to(self, t):
        if t >= 1.0:
            raise RuntimeError('boom')
        self.emit('cmd', Twist2D(math.nan, 0.0))

    def clock_period_s(self):
        return 0.5


def test_a_component_that_raises_is_a_failed_node():
    host = DeterministicHost([Hosted(_Clock, 'clock', {})])
    host.startup()
    with pytest.raises(ComponentFailure, match='clock: RuntimeError: boom'):
        host.run(lambda: False, sim_time_limit_s=5.0)
    assert host.failed == ['clock']
    host.step(2.0)          # a failed node is no longer called
