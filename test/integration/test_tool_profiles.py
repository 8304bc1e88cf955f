"""Issue 11: the tiller and the combined flail + tiller profiles complete a whole mission on the
deterministic host, the tool governed, raised off the work legs, and no live mine left in ground
the record calls processed. The shared small generated field (conftest.py) keeps ``make test``
within its budget; the demo world (training_field) with every profile is the scoreboard's:
``bench/missions.py --profile tiller --profile flail_tiller``."""

import json
import math
import os

import pytest

from demining_bringup import stack as st
from demining_bringup.contract import topics
from demining_bringup.contract.states import LegKind, MissionState
from demining_bringup.deterministic_runner import hosted
from demining_bringup.hosts.deterministic import DeterministicHost

#: Time to lift the tool from its working depth (0.25 m at the controller's 0.05 m/s) and a
#: control period's margin, s.
LIFT_S = 6.0
#: A machine held in a protective stop ends its mission sooner than the profile's 15 min
#: (test time; the abort itself is the mission manager's tested behaviour).
STOP_ABORT_S = 120.0


def _mission(tmp_path, profile, world):
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {'world': world, 'seed': 1, 'profile': profile,
                                       'run_dir': str(tmp_path)})
    params = st.load_profile(args['profile'])
    params.setdefault('mission_manager', {})['protective_stop_abort_s'] = STOP_ABORT_S
    nodes = st.resolve_stack(desc, args, params)
    host = DeterministicHost(hosted(nodes))
    seen = {'state': MissionState.IDLE, 'leg': LegKind.NONE, 'limits': [], 'down_off_work': 0,
            'report': None}
    host.tap(topics.MISSION_STATE, lambda s: seen.__setitem__('state', s))
    host.tap(topics.MISSION_REPORT, lambda p: seen.__setitem__('report', p))
    host.tap(topics.FOLLOWER_LEG, lambda leg: seen.__setitem__('leg', leg))
    host.tap(topics.TOOL_SPEED_LIMIT, seen['limits'].append)
    host.startup()
    sim = host.runtimes['simulator'].component.sim

    prev = {'leg': LegKind.NONE, 't': 0.0}

    def on_tick(t):
        # off the work legs (transit, reversing) the tool is up once it had time to lift
        if seen['leg'] is not prev['leg']:
            prev.update(leg=seen['leg'], t=t)
        if prev['leg'] in (LegKind.TRANSIT, LegKind.REVERSE) and t - prev['t'] > LIFT_S \
                and sim.tools.depth > 0.0:
            seen['down_off_work'] += 1

    host.run(lambda: seen['state'].terminal, sim_time_limit_s=6000.0, on_tick=on_tick)
    host.shutdown()
    return seen, sim


@pytest.fixture(scope='module')
def mission_of(tmp_path_factory, small_field):
    """Run each profile's mission once for the tests of this module: ``mission_of(profile)``
    returns ``(seen, sim, run_dir)``."""
    runs = {}

    def run(profile):
        if profile not in runs:
            run_dir = tmp_path_factory.mktemp(profile)
            runs[profile] = (*_mission(run_dir, profile, small_field), run_dir)
        return runs[profile]
    return run


@pytest.mark.slow(seconds=35)
@pytest.mark.timeout(900)       # a whole (small) mission at the governed speed
@pytest.mark.parametrize('profile', ['tiller', 'flail_tiller'])
def test_tool_profile_completes_a_mission_governed_and_raised_off_work(mission_of, profile):
    seen, sim, run_dir = mission_of(profile)
    assert seen['state'] is MissionState.COMPLETE
    with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
        summary = json.load(f)
    assert summary['at_detonations'] == 0
    assert seen['down_off_work'] == 0
    with open(os.path.join(run_dir, 'truth.json'), encoding='utf-8') as f:
        truth = json.load(f)
    assert truth['mines_left_active_in_processed_ground'] == 0
    # governed below the profile's cap on work legs, and never at zero
    cap = st.load_profile(st.find_profile(profile))['/**']['working_speed_mps']
    assert seen['limits'] and max(seen['limits']) <= cap + 1e-6
    assert min(seen['limits']) > 0.0
    assert sim.tools.tiller.speed >= 0.0


@pytest.mark.slow(seconds=35)
@pytest.mark.timeout(900)
@pytest.mark.parametrize('profile', ['tiller', 'flail_tiller'])
def test_tool_profile_mission_processes_the_ground_outside_the_no_go_zones(mission_of,
                                                                           profile):
    *_, run_dir = mission_of(profile)
    with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
        summary = json.load(f)
    # the field outside the AT/UXO no-go zones and the clearance the tool keeps from them
    # (left for a manual team whatever the tool)
    assert summary['coverage_workable_percent'] >= 95.0


@pytest.mark.slow(seconds=35)
@pytest.mark.timeout(900)
@pytest.mark.parametrize('profile', ['tiller', 'flail_tiller'])
def test_every_no_go_zone_of_a_tool_profile_mission_holds_an_at_mine_or_uxo(
        mission_of, profile):
    """A no-go zone is never released, so a false one leaves ground for a manual team. (The
    combined machine's GPR read the shallow PMN-2, top at 1 cm, as a 15 cm flat top and the
    fusion labelled it AT for one update: an unresolvable half width is now unknown.)"""
    *_, run_dir = mission_of(profile)
    with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
        zones = json.load(f)['no_go_zones']
    with open(os.path.join(run_dir, 'truth.json'), encoding='utf-8') as f:
        items = json.load(f)['items']
    heavy = [(i['x'], i['y']) for i in items if i['kind'] in ('AT', 'UXO')]
    false = [z for z in zones if not any(math.hypot(z['x'] - x, z['y'] - y) <= z['radius_m']
                                         for x, y in heavy)]
    assert not false, f'no-go zones without an AT mine or UXO in them: {false}'
