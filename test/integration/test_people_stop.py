"""Done-when of issue 8 item 1: a person walking into the work area stops the flail and the
vehicle before the person is inside the work safety distance; the mission resumes after the
area is clear and completes; the report shows the stop and the resumption."""

import json
import math
import os

import pytest

from demining_bringup import stack as st
from demining_bringup.contract import topics
from demining_bringup.contract.states import MissionState
from demining_bringup.deterministic_runner import hosted
from demining_bringup.hosts.deterministic import DeterministicHost
from demining_control.safety.supervisor import PEOPLE_CLEAR_RESUME, PERSON_STOP

_ROOT = os.path.join(os.path.dirname(__file__), '..', '..')
SCENARIO = os.path.join(_ROOT, 'config', 'faults', 'person_in_work_area.yaml')


@pytest.mark.slow(seconds=50)
@pytest.mark.timeout(600)
def test_a_person_stops_flail_and_vehicle_before_the_safety_distance(tmp_path, small_field):
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {'world': small_field, 'seed': 1,
                                       'run_dir': str(tmp_path), 'scenario': SCENARIO})
    params = st.load_profile(args['profile'])
    nodes = st.resolve_stack(desc, args, params)
    host = DeterministicHost(hosted(nodes))
    seen = {'state': MissionState.IDLE, 'report': None}
    host.tap(topics.MISSION_STATE, lambda s: seen.__setitem__('state', s))
    host.tap(topics.MISSION_REPORT, lambda p: seen.__setitem__('report', p))
    actors_msgs = []
    host.tap(topics.SIM_ACTORS, actors_msgs.append)
    host.startup()
    sim = host.runtimes['simulator'].component.sim
    monitor = host.runtimes['people_monitor'].component.zones.params
    safety_m = monitor.flail_safety_distance_m
    worst = {'flail': math.inf, 'moving': math.inf, 'closest': math.inf}

    def on_tick(t):
        tr = sim.truth
        fx = tr.x + monitor.tool_offset_x_m * math.cos(tr.yaw)
        fy = tr.y + monitor.tool_offset_x_m * math.sin(tr.yaw)
        for a in sim.actors.actors:
            pos = a.position(t)
            if pos is None:
                continue
            d = math.hypot(pos[0] - fx, pos[1] - fy)
            worst['closest'] = min(worst['closest'], d)
            if sim.tools.flail.speed > monitor.flail_running_speed_radps:
                worst['flail'] = min(worst['flail'], d)
            if abs(tr.v) > 0.02:
                worst['moving'] = min(worst['moving'], d)

    host.run(lambda: seen['state'].terminal, sim_time_limit_s=8000.0, on_tick=on_tick)
    assert seen['state'] is MissionState.COMPLETE
    assert worst['closest'] < safety_m - 10.0          # the person did walk well inside
    assert worst['flail'] > safety_m, worst            # ... but never while the flail ran
    assert worst['moving'] > safety_m, worst           # ... nor while the vehicle moved
    assert actors_msgs and all(m.frame_id == topics.MAP_FRAME for m in actors_msgs)
    summary = json.load(open(os.path.join(seen['report'], 'summary.json')))
    reasons = [e['reason'] for e in summary['safety_events']]
    stop = next(i for i, r in enumerate(reasons) if r.startswith(PERSON_STOP))
    assert any(r == PEOPLE_CLEAR_RESUME for r in reasons[stop:]), reasons
    assert any(r.startswith('people zone stop') for r in reasons)
    report = open(os.path.join(seen['report'], 'report.md'), encoding='utf-8').read()
    assert PERSON_STOP in report and PEOPLE_CLEAR_RESUME in report
