"""Tests of the core backend (``demine run --backend core``): whole missions without DDS.

The mission runs start ``demine run --backend core`` as separate processes, all at once, so
determinism is checked across interpreters (hash seeds, import order), not only within one.
"""

import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from demining_bringup import core_runner, stack
from demining_bringup.datatypes import Detection, DetectionKind, GprScan, MdScan
from demining_bringup.errors import ConfigError
from demining_bringup.parameters import ParamError
from demining_bringup.report import REPORT_FILES

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: A mission cut short by the mission manager's own time limit (it aborts and reports).
SHORT_MISSION_S = 300.0
RUN_TIMEOUT_S = 900.0
_WALL = re.compile(r'mission (\w+) in ([0-9.]+) s wall time')


def _short_profile(folder) -> str:
    with open(stack.find_profile('mv4_flail'), encoding='utf-8') as f:
        doc = yaml.safe_load(f)
    doc.setdefault('mission_manager', {'ros__parameters': {}})
    doc['mission_manager']['ros__parameters']['max_mission_time_s'] = SHORT_MISSION_S
    path = os.path.join(folder, 'short.yaml')
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(doc, f)
    return path


@pytest.fixture(scope='module')
def missions(tmp_path_factory):
    """Run four core missions concurrently; return {name: (exit code, stdout, run dir)}."""
    root = tmp_path_factory.mktemp('core_missions')
    short = _short_profile(str(root))
    jobs = {'full_a': ['--seed', '1'], 'full_b': ['--seed', '1'],
            'short_1': ['--seed', '1', '--profile', short],
            'short_2': ['--seed', '2', '--profile', short]}
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
               MPLBACKEND='Agg')
    procs = {}
    for name, extra in jobs.items():
        run_dir = str(root / name)
        cmd = [sys.executable, '-m', 'demining_bringup.cli', 'run', '--backend', 'core',
               '--world', 'training_field', '--run-dir', run_dir] + extra
        procs[name] = (subprocess.Popen(cmd, cwd=str(root), env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True), run_dir)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    out = {}
    for name, (proc, run_dir) in procs.items():
        try:
            stdout, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, _ = proc.communicate()
        out[name] = (proc.returncode, stdout, run_dir)
    return out


def _read(run_dir: str, name: str) -> bytes:
    with open(os.path.join(run_dir, name), 'rb') as f:
        return f.read()


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_core_mission_completes_with_full_coverage_and_every_report_file(missions):
    code, stdout, run_dir = missions['full_a']
    assert code == 0, stdout
    summary = json.loads(_read(run_dir, 'summary.json'))
    assert summary['outcome'] == 'complete'
    assert summary['coverage_percent'] >= 99.0
    assert summary['area_field_m2'] == pytest.approx(600.0, rel=0.01)
    assert summary['detections'], 'the training field has buried items to detect'
    assert summary['at_detonations'] == 0
    for name in REPORT_FILES:
        assert os.path.getsize(os.path.join(run_dir, name)) > 0, name
    state, wall = _WALL.search(stdout).groups()
    assert state == 'complete'
    # Far faster than real time (the mission is >1,000 s simulated), even on a loaded machine.
    assert float(wall) < summary['mission_time_s'] / 2.0, stdout


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_same_seed_gives_byte_identical_report(missions):
    (code_a, out_a, dir_a), (code_b, out_b, dir_b) = missions['full_a'], missions['full_b']
    assert code_a == 0 and code_b == 0, out_a + out_b
    # report.md carries its generation time; every other text file must match to the byte.
    for name in ('summary.json', 'detections.geojson', 'cleared_area.geojson'):
        assert _read(dir_a, name) == _read(dir_b, name), name


@pytest.mark.slow
@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_different_seed_gives_a_different_report(missions):
    code_1, out_1, dir_1 = missions['short_1']
    code_2, out_2, dir_2 = missions['short_2']
    # Cut short by max_mission_time_s: aborted (exit 1) but reported.
    assert code_1 == 1 and code_2 == 1, out_1 + out_2
    s1 = json.loads(_read(dir_1, 'summary.json'))
    s2 = json.loads(_read(dir_2, 'summary.json'))
    assert s1['outcome'] == s2['outcome'] == 'aborted'
    assert 'mission time over' in s1['reason']
    # Same world and plan, different noise: the detections move, the processed area shifts.
    xy1 = sorted((d['x'], d['y']) for d in s1['detections'])
    xy2 = sorted((d['x'], d['y']) for d in s2['detections'])
    assert xy1 and xy2 and xy1 != xy2
    assert _read(dir_1, 'summary.json') != _read(dir_2, 'summary.json')
    # ...but only by noise: the same items are found within a few decimetres.
    for (x1, y1), (x2, y2) in zip(xy1, xy2):
        if math.hypot(x1 - x2, y1 - y2) < 1.0:
            break
    else:
        pytest.fail(f'no common detection: {xy1} vs {xy2}')


def _nodes(tmp_path, **given):
    desc = stack.load_stack()
    args = stack.resolve_arguments(desc, dict(given, run_dir=str(tmp_path / 'run')))
    profile = stack.load_profile(args['profile'])
    return stack.resolve_stack(desc, args, profile), profile


def test_in_process_run_reports_progress_and_stops_at_the_mission_time_limit(tmp_path):
    nodes, _ = _nodes(tmp_path, seed=3)
    mission = next(n for n in nodes if n.name == 'mission_manager')
    mission.parameters['max_mission_time_s'] = 20.0
    lines = []
    result = core_runner.run_core(nodes, progress=lines.append, progress_period_s=5.0)
    assert result.mission_state == 'aborted' and not result.ok
    assert result.summary is not None and result.summary['outcome'] == 'aborted'
    assert result.run_dir == str(tmp_path / 'run')
    assert 21.0 <= result.sim_time_s <= 22.5      # 1 Hz mission timer, started at t = 1 s
    assert len(lines) == 4 and 'sim     5.0 s' in lines[0], lines
    assert sorted(os.listdir(result.run_dir)) == sorted(REPORT_FILES)


def test_sim_time_limit_ends_a_run_without_a_report(tmp_path):
    nodes, _ = _nodes(tmp_path)
    result = core_runner.CoreRunner(nodes, sim_time_limit_s=3.0).run()
    assert result.timed_out and result.summary is None
    assert result.mission_state == 'clearing'
    assert result.sim_time_s == pytest.approx(3.0)


def test_parameters_come_from_each_node_module_schema(tmp_path):
    nodes, _ = _nodes(tmp_path, seed=7)
    params = core_runner.build_parameters(nodes)
    assert set(params) == set(core_runner.SCHEMAS)
    assert type(params['simulator']).__name__ == 'SimNodeParams'
    assert params['simulator'].seed == 7
    assert params['simulator'].gpr_trace_rate_hz == 20.0           # profile node section
    assert params['mission_manager'].report_dir == str(tmp_path / 'run')
    assert params['safety_supervisor'].area_file.endswith('training_field.sdf')
    nodes[0].parameters['seed'] = -1
    with pytest.raises(ParamError, match='simulator.seed'):
        core_runner.build_parameters(nodes)


def test_profile_typo_and_unsupported_node_are_refused(tmp_path):
    nodes, profile = _nodes(tmp_path)
    profile = dict(profile, fusion={'publish_period_sx': 1.0})
    with pytest.raises(ConfigError, match='fusion.publish_period_sx'):
        core_runner.check_profile(nodes, profile)
    with pytest.raises(ConfigError, match=r'/\*\*.nope'):
        core_runner.check_profile(nodes, {'/**': {'nope': 1}})
    gz, _ = _nodes(tmp_path, sim='gazebo')
    with pytest.raises(ConfigError, match='sensor_emulator'):
        core_runner.build_parameters(gz)


def test_wire_conversions_equal_the_codec_round_trips():
    from demining_bringup import codec     # ROS message types, no DDS
    for t in (0.0, 0.1, 0.30000000000000004, 1234.5678901234, 1e-10, -1.0):
        assert core_runner.wire_time(t) == codec.stamp_to_sec(codec.sec_to_stamp(t))
    for yaw in np.linspace(-math.pi, math.pi, 37):
        assert core_runner.wire_yaw(yaw) == codec.yaw_from_quaternion(
            codec.quaternion_from_yaw(yaw))
    dets = [Detection(x=1.1, y=2.2, depth=0.1, confidence=1.5, kind=DetectionKind.AP, id=4,
                      radius=0.07, strength=12.3),
            Detection(x=float('nan'), y=0.0, depth=0.1, confidence=0.5),
            Detection(x=-3.3, y=0.7, depth=0.25, confidence=0.2, kind=DetectionKind.CLUTTER)]
    assert core_runner.wire_detections(dets, 'md') == codec.decode_detections(
        codec.encode_detections(dets, 1.0), source='md')
    scan = GprScan(stamp=1.05, positions=np.array([[4.0, -0.3, 0.1], [4.0, 0.3, 0.1]]),
                   time_offsets=np.array([-0.05, 0.0]), channels=np.array([0, 1]),
                   sample_interval_ns=0.1, amplitudes=np.array([[1.0, 2.0], [np.nan, 0.0]]))
    wired = core_runner.wire_gpr_scan(scan)
    decoded = codec.decode_gpr_scan(codec.encode_gpr_scan(scan))
    assert wired.channels.tolist() == decoded.channels.tolist() == [0]
    for field in ('stamp', 'sample_interval_ns'):
        assert getattr(wired, field) == getattr(decoded, field)
    for field in ('positions', 'time_offsets', 'amplitudes'):
        a, b = getattr(wired, field), getattr(decoded, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field
    md = MdScan(stamp=2.0, positions=np.array([[4.0, 0.1, 0.05]] * 3),
                time_offsets=np.array([-0.02, -0.01, 0.0]), channels=np.array([2, 3, 4]),
                signals=np.array([0.5, np.inf, 1.25]))
    wired, decoded = core_runner.wire_md_scan(md), codec.decode_md_scan(codec.encode_md_scan(md))
    assert wired.stamp == decoded.stamp and wired.channels.tolist() == [2, 4]
    for field in ('positions', 'time_offsets', 'channels', 'signals'):
        a, b = getattr(wired, field), getattr(decoded, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field
