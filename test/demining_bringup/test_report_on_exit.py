"""A report on every exit, on the deterministic host (in process, fast).

The mission manager writes the report whenever the mission ends: the runner's stop request
(the flag SIGINT/SIGTERM set), its wall-clock limit, a crashed node, or the stack shutting
down under a running mission. The CLI-level tests (subprocess, signals) are in
test/integration/test_report_on_exit.py.
"""

import json
import os

from demining_bringup import stack as st
from demining_bringup.contract import topics
from demining_bringup.contract.states import MissionState
from demining_bringup.deterministic_runner import (TIME_LIMIT_MARGIN_S, abort_mission,
                                                   backstop_limit_s, hosted, mission_core,
                                                   run_deterministic)
from demining_bringup.hosts.deterministic import DeterministicHost
from demining_bringup.report import REPORT_FILES
from demining_bringup.results import StopRequest


def _nodes(run_dir):
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {'world': 'training_field', 'run_dir': str(run_dir)})
    return st.resolve_stack(desc, args, st.load_profile(args['profile']))


def _summary(run_dir):
    for name in REPORT_FILES:
        assert os.path.getsize(os.path.join(run_dir, name)) > 0, name
    with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
        return json.load(f)


def test_a_stop_request_aborts_with_its_reason_and_writes_the_report(tmp_path):
    stop = StopRequest()
    stop.set('interrupted by SIGTERM')
    result = run_deterministic(_nodes(tmp_path / 'run'), run_dir=str(tmp_path / 'run'),
                               stop=stop)
    assert result.mission_state == 'aborted' and not result.ok
    assert result.interrupted == 'interrupted by SIGTERM' and not result.timed_out
    summary = _summary(tmp_path / 'run')
    assert summary['outcome'] == 'aborted' and summary['reason'] == 'interrupted by SIGTERM'
    assert result.summary == summary
    # the GPR processor's latched permittivity reached the record (the profile's prior)
    assert summary['soil_permittivity'] == {'in_use': 9.0, 'prior': 9.0, 'estimate': None,
                                            'fits': 0, 'estimated': False}


def test_the_wall_clock_limit_aborts_with_its_reason(tmp_path):
    result = run_deterministic(_nodes(tmp_path / 'run'), run_dir=str(tmp_path / 'run'),
                               wall_time_limit_s=0.5)
    assert result.timed_out and result.mission_state == 'aborted'
    assert _summary(tmp_path / 'run')['reason'] == 'timed out after 0.5 s wall'


def test_the_abort_reason_is_used_once_then_back_to_the_operator_default(tmp_path):
    host = DeterministicHost(hosted(_nodes(tmp_path / 'run')))
    host.startup()
    try:
        host.run(lambda: host.now >= 2.0)
        mm = host.runtimes['mission_manager'].component
        assert abort_mission(host, 'timed out after 20 s wall')[0]
        assert mm.mission.state is MissionState.ABORTED
        assert mm.abort_reason == 'aborted by operator'
        assert host.call(topics.MISSION_ABORT)[0] is False      # already aborted
    finally:
        host.shutdown()
    assert _summary(tmp_path / 'run')['reason'] == 'timed out after 20 s wall'


def test_a_stack_shut_down_under_a_running_mission_still_reports(tmp_path):
    host = DeterministicHost(hosted(_nodes(tmp_path / 'run')))
    host.startup()
    host.run(lambda: host.now >= 2.0)
    assert not host.runtimes['mission_manager'].component.mission.state.terminal
    host.shutdown()
    summary = _summary(tmp_path / 'run')
    assert summary['outcome'] == 'aborted'
    assert summary['reason'] == 'stack shut down before the mission ended'


def test_the_runner_backs_up_the_missions_own_time_limit_not_a_fixed_cap(tmp_path):
    # The runner's limit is the mission manager's time limit (its budget grows with the field)
    # plus a margin; a fixed 4 h cap once cut a 1,070 m^2 field at 80 % with 22 h of budget left.
    assert backstop_limit_s(1000.0, None) == 1000.0 + TIME_LIMIT_MARGIN_S
    assert backstop_limit_s(1000.0, 20.0) == 20.0 + 1000.0 + TIME_LIMIT_MARGIN_S
    host = DeterministicHost(hosted(_nodes(tmp_path / 'run')))
    host.startup()
    try:
        mission = mission_core(host)
        assert mission is host.runtimes['mission_manager'].component.mission
        # training_field's 600 m^2 at the default 50 m^2/h and 1 h margin: 13 h, beyond 4 h
        assert backstop_limit_s(mission.time_limit_s, mission.start_stamp) > 13 * 3600.0
    finally:
        host.shutdown()


def test_a_given_simulated_time_limit_aborts_with_its_reason(tmp_path):
    result = run_deterministic(_nodes(tmp_path / 'run'), run_dir=str(tmp_path / 'run'),
                               sim_time_limit_s=5.0)
    assert result.timed_out and result.mission_state == 'aborted'
    assert result.sim_time_s == 5.0
    assert _summary(tmp_path / 'run')['reason'] == 'simulated-time limit of 5 s reached'
