"""The `demine` CLI: bad input ends with one line naming the problem and exit code 2."""

import os
import subprocess
import sys

import pytest

from demining_bringup import stack as st

_TIMEOUT_S = 60


def _demine(*argv, env=None):
    return subprocess.run([sys.executable, '-m', 'demining_bringup.cli', *argv],
                          capture_output=True, text=True, timeout=_TIMEOUT_S,
                          env=dict(os.environ, **(env or {})))


def _assert_config_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr            # one line, never a traceback
    assert 'Traceback' not in proc.stderr
    assert fragment in lines[0], lines[0]


def _training_text():
    return open(st.find_world('training_field')).read()


def test_missing_world(ros_domain_id):
    _assert_config_error(_demine('validate', '--world', '/nonexistent/w.sdf',
                                 '--domain-id', str(ros_domain_id)), 'not found')


def test_malformed_world(tmp_path, ros_domain_id):
    bad = tmp_path / 'broken.sdf'
    bad.write_text('<sdf version="1.9"><world name="x"><model>')
    _assert_config_error(_demine('validate', '--world', str(bad),
                                 '--domain-id', str(ros_domain_id)), 'broken.sdf')


def test_invalid_field_polygon(tmp_path, ros_domain_id):
    import re
    text = _training_text()
    # A bow-tie: the same four corners in crossing order.
    bowtie = re.sub(r'<demining:field>.*?</demining:field>',
                    '<demining:field>0 0 30 20 30 0 0 20</demining:field>', text, flags=re.S)
    assert bowtie != text
    bad = tmp_path / 'bowtie.sdf'
    bad.write_text(bowtie)
    _assert_config_error(_demine('validate', '--world', str(bad),
                                 '--domain-id', str(ros_domain_id)), 'polygon')


def test_unknown_profile(ros_domain_id):
    _assert_config_error(_demine('validate', '--profile', 'tractor9000',
                                 '--domain-id', str(ros_domain_id)), 'unknown vehicle profile')


def test_malformed_parameter_file(tmp_path, ros_domain_id):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('/**:\n  ros__parameters:\n    tool_width_m: [2.0\n')
    _assert_config_error(_demine('validate', '--profile', str(bad),
                                 '--domain-id', str(ros_domain_id)), 'malformed YAML')


@pytest.mark.parametrize('section, fragment', [
    ('/**:\n  ros__parameters:\n    tool_width_m: -1.0\n', 'tool_width_m'),
    ('/**:\n  ros__parameters:\n    tool_widht_m: 2.0\n', 'tool_widht_m'),
    ('path_follower:\n  ros__parameters:\n    no_such_parameter: 1.0\n', 'no_such_parameter'),
])
def test_bad_parameter_values(tmp_path, ros_domain_id, section, fragment):
    bad = tmp_path / 'bad.yaml'
    bad.write_text(section)
    _assert_config_error(_demine('validate', '--profile', str(bad),
                                 '--domain-id', str(ros_domain_id)), fragment)


def test_validate_accepts_the_defaults(ros_domain_id):
    proc = _demine('validate', '--domain-id', str(ros_domain_id))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('ok:')


@pytest.mark.parametrize('parameters, fragment', [
    ('{safety_supervisor: {suspect_track_enforcee: true}}', 'suspect_track_enforcee'),
    ('{safety_supervisor: {max_speed_mps: -1.0}}', 'max_speed_mps'),
])
def test_a_scenarios_parameters_are_checked_like_the_profiles(tmp_path, ros_domain_id,
                                                              parameters, fragment):
    """`demine run --scenario` ran with the profile's parameters alone: a scenario's
    setup.parameters were silently ignored (the fault campaign and the scoreboard apply
    them); now they apply, checked like the profile's."""
    scenario = tmp_path / 'scenario.yaml'
    scenario.write_text(f'setup:\n  parameters: {parameters}\n')
    _assert_config_error(_demine('validate', '--scenario', str(scenario),
                                 '--domain-id', str(ros_domain_id)), fragment)


def test_a_scenarios_parameters_reach_the_nodes(tmp_path):
    from argparse import Namespace
    from demining_bringup import cli
    scenario = tmp_path / 'scenario.yaml'
    scenario.write_text('setup:\n  parameters: {safety_supervisor: '
                        '{suspect_track_enforce: true}}\n')
    ns = Namespace(world=None, profile=None, seed=None, rtf=None, scenario=str(scenario))
    _, _, nodes = cli._prepare(ns, '')
    sup = [n for n in nodes if n.name == 'safety_supervisor'][0]
    assert sup.parameters['suspect_track_enforce'] is True


def test_lists():
    assert 'training_field' in _demine('worlds').stdout.split()
    assert 'mv4_flail' in _demine('profiles').stdout.split()


@pytest.mark.dds
@pytest.mark.timeout(180)
def test_a_crashing_node_ends_the_run_with_the_report_saved(tmp_path, ros_domain_id):
    import json
    scenario = os.path.join(os.path.dirname(__file__), '..', '..', 'config', 'faults',
                            'node_crash.yaml')
    run_dir = tmp_path / 'run'
    proc = subprocess.run([sys.executable, '-m', 'demining_bringup.cli', 'run', '--scenario',
                           scenario, '--run-dir', str(run_dir), '--timeout', '120',
                           '--domain-id', str(ros_domain_id)],
                          capture_output=True, text=True, timeout=170)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr
    assert 'a node raised SimulatedCrash' in proc.stdout
    summary = json.loads((run_dir / 'summary.json').read_text())
    assert summary['outcome'] == 'aborted'
    assert summary['reason'].startswith('a node failed: SimulatedCrash'), summary['reason']
    from demining_bringup.report import REPORT_FILES
    assert all((run_dir / name).stat().st_size > 0 for name in REPORT_FILES)
    assert 0.0 < summary['mission_time_s'] <= 31.0     # the crash is scheduled at 30 s
