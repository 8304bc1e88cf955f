"""The worst failure: driving over a detected AT mine. A TM-62M sits on the first lane of a
small field (rock-free loam); the machine must find it, never put its footprint on it, and end
its mission with a record, on the deterministic host."""

import math

import pytest
import yaml

from demining_bringup import stack as st
from demining_bringup.contract import topics
from demining_bringup.contract.sdf import write_world
from demining_bringup.contract.states import MissionState
from demining_bringup.deterministic_runner import hosted
from demining_bringup.hosts.deterministic import DeterministicHost
from demining_sim.generator import generate_world, make_item

FIELD = [(0.0, 0.0), (12.0, 0.0), (12.0, 8.0), (0.0, 8.0)]
#: On the first lane (the planner's first lane centre is 0.9 m in, lanes run east).
AT_XY = (5.5, 0.9)
#: A stuck machine ends its mission sooner here than the profile's 30 min (test time).
NO_PROGRESS_ABORT_S = 300.0


@pytest.mark.slow(seconds=150)
@pytest.mark.timeout(600)
def test_a_detected_at_mine_on_the_lane_is_never_driven_over(tmp_path):
    world = generate_world(FIELD, seed=5, ap_per_100m2=0.0, clutter_per_m2=0.0,
                           name='at_on_lane')
    world.items.append(make_item('TM-62M', 'at_on_lane', *AT_XY, 0.15))
    path = write_world(world, str(tmp_path / 'at_on_lane.sdf'))
    desc = st.load_stack()
    profile = yaml.safe_load(open(st.find_profile('mv4_flail'), encoding='utf-8'))
    profile.setdefault('mission_manager', {'ros__parameters': {}})['ros__parameters'][
        'no_progress_abort_s'] = NO_PROGRESS_ABORT_S
    profile_path = tmp_path / 'profile.yaml'
    profile_path.write_text(yaml.safe_dump(profile))
    args = st.resolve_arguments(desc, {'world': path, 'seed': 2, 'profile': str(profile_path),
                                       'run_dir': str(tmp_path / 'run')})
    nodes = st.resolve_stack(desc, args, st.load_profile(args['profile']))
    host = DeterministicHost(hosted(nodes))
    seen = {'state': MissionState.IDLE, 'report': None, 'at': None}
    host.tap(topics.MISSION_STATE, lambda s: seen.__setitem__('state', s))
    host.tap(topics.MISSION_REPORT, lambda p: seen.__setitem__('report', p))

    def on_detections(d):
        if seen['at'] is None and any(i.kind.name == 'AT' and math.hypot(
                i.x - AT_XY[0], i.y - AT_XY[1]) < 1.0 for i in d.items):
            seen['at'] = host.now     # when the AT label first reached the stack

    host.tap(topics.DETECTIONS, on_detections)
    events = []
    host.tap(topics.SIM_EVENTS, lambda ev: events.append(ev.kind))
    host.startup()
    sim = host.runtimes['simulator'].component.sim
    supervisor = host.runtimes['safety_supervisor'].component.supervisor.params
    closest = {'m': math.inf, 't': None, 'along': None}

    def on_tick(t):
        # distance from the mine to the machine's footprint rectangle (hull and flail)
        tr = sim.truth
        c, s = math.cos(tr.yaw), math.sin(tr.yaw)
        dx, dy = AT_XY[0] - tr.x, AT_XY[1] - tr.y
        along, across = c * dx + s * dy, -s * dx + c * dy
        ex = max(-supervisor.footprint_rear_m - along, 0.0, along - supervisor.footprint_front_m)
        ey = max(abs(across) - supervisor.footprint_half_width_m, 0.0)
        d = math.hypot(ex, ey)
        if d < closest['m']:
            closest['m'], closest['t'], closest['along'] = d, t, along

    host.run(lambda: seen['state'].terminal and seen['report'] is not None,
             sim_time_limit_s=3600.0, on_tick=on_tick)
    host.shutdown()
    assert seen['at'] is not None, 'the AT mine was never detected as AT'
    assert 'at_detonation' not in events
    assert closest['m'] > 0.0, f'the footprint reached the AT mine ({closest}, AT label at ' \
        f'{seen["at"]} s)'
    assert seen['state'].terminal and seen['report'], 'the mission did not end with a report'
