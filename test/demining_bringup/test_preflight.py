"""Pre-flight: a plan the supervisor would stop is refused before the mission starts."""

import subprocess
import sys

import pytest

from demining_bringup import stack as st
from demining_bringup.contract.sdf import write_world
from demining_bringup.contract.states import PlanState
from demining_bringup.preflight import preflight
from demining_sim.generator import generate_world

FIELD = [(0.0, 0.0), (24.0, 0.0), (24.0, 16.0), (0.0, 16.0)]


def _world(tmp_path, start, lane=None, name='preflight'):
    world = generate_world(FIELD, seed=1, ap_per_100m2=0.0, clutter_per_m2=0.0, name=name)
    world.vehicle_start = start
    world.approach_lane = lane
    return write_world(world, str(tmp_path / f'{name}.sdf'))


def _nodes(world):
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {'world': world})
    return st.resolve_stack(desc, args, st.load_profile(args['profile']))


def test_a_start_far_outside_the_fence_is_refused(tmp_path):
    # 30 m out with no approach lane: the path to the field leaves field + 10 m
    world = _world(tmp_path, (-30.0, 5.0, 0.0))
    with pytest.raises(st.ConfigError, match='leaves the geofence'):
        preflight(_nodes(world))


def test_an_approach_lane_makes_the_same_start_allowed(tmp_path):
    lane = [(-35.0, 3.0), (0.0, 3.0), (0.0, 7.0), (-35.0, 7.0)]
    world = _world(tmp_path, (-30.0, 5.0, 0.0), lane)
    status = preflight(_nodes(world))
    assert PlanState(status.state) is PlanState.PLANNED


def test_the_cli_says_why_in_one_line_and_exits_2(tmp_path):
    world = _world(tmp_path, (-30.0, 5.0, 0.0))
    out = subprocess.run([sys.executable, '-m', 'demining_bringup.cli', 'run', '--backend',
                          'core', '--world', world, '--run-dir', str(tmp_path / 'run')],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and 'geofence' in lines[0]
    assert not (tmp_path / 'run').exists()          # nothing started, no run folder
