"""Bad-input campaign (issue 9): every case ends with one clear line on stderr and exit 2.

World files, GeoJSON areas, polygons, profiles, parameter types and ranges, scenario files,
CLI values (``--rtf nan``, an out-of-range domain id), run folders that cannot be written, and
corrupt, truncated or finished mission journals for ``demine report`` and ``demine run
--resume``. The CLI runs in this process (``cli.main``), so the 30-odd cases take seconds;
nothing a bad input names is left half-written (a journal is never changed by a refused resume).
"""

import hashlib
import os
import re
import shutil

import pytest

from demining_bringup import cli
from demining_bringup import stack as st
from demining_bringup.contract.journal import GridGeometry, JournalWriter, journal_path

#: A GeoJSON area whose task id is not text.
_GEOJSON_BAD_ID = ('{"type": "Feature", "properties": {"task_id": {"a": 1}}, "geometry": '
                   '{"type": "Polygon", "coordinates": [[[18, 44], [18.0003, 44], '
                   '[18.0003, 44.0002], [18, 44.0002], [18, 44]]]}}')
#: A field polygon of the training field, for rewriting.
_FIELD_RE = re.compile(r'<demining:field>.*?</demining:field>', re.S)


def _training():
    return open(st.find_world('training_field'), encoding='utf-8').read()


def _world(tmp, text, name='w.sdf', mode='w'):
    path = tmp / name
    with open(path, mode) as f:
        f.write(text)
    return str(path)


def _field(tmp, coords):
    return _world(tmp, _FIELD_RE.sub(f'<demining:field>{coords}</demining:field>', _training()))


def _profile(tmp, text):
    return _world(tmp, text, 'p.yaml')


def _scenario(tmp, text):
    return _world(tmp, text, 's.yaml')


def _journal_run(tmp, damage):
    """A run folder whose journal is damaged (or finished)."""
    run = tmp / 'run'
    run.mkdir()
    j = JournalWriter(journal_path(str(run)), {'world_name': 'x'},
                      GridGeometry(0.0, 0.0, 0.1, 10, 10))
    for k in range(100):
        j.safety(float(k), 'ok', 'y' * 100)
    j.transition(1.0, 'planning', 'x')
    if damage == 'complete':
        j.transition(2.0, 'complete', 'done')
    j.commit(3.0)
    j.close()
    path = journal_path(str(run))
    data = open(path, 'rb').read()
    if damage == 'truncated':
        open(path, 'wb').write(data[:len(data) // 4])
    elif damage == 'garbage':
        open(path, 'wb').write(b'\x00\xff' * 3000)
    return str(run)


def _truncated_mcap(tmp):
    """A run folder with a recording cut off in the middle (a killed recorder)."""
    from demining_bringup.contract.wire import wires
    from demining_bringup.recording import McapRecorder
    w = wires()
    path = str(tmp / 'cut.mcap')
    rec = McapRecorder(path)
    for k in range(200):
        for topic in w.topics():
            rec.write_message(topic, w[topic].msg_type(), 0.1 * k)
    rec.close()
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])
    return path


def _read_only_parent(tmp):
    # root ignores permission bits: a run folder under a regular file cannot be created
    blocker = tmp / 'a_file'
    blocker.write_text('x')
    return str(blocker / 'run')


# (id, argv builder taking tmp_path, fragment expected in the one error line)
CASES = [
    # -- world files ------------------------------------------------------------------------
    ('missing world', lambda t: ['validate', '--world', '/nonexistent/w.sdf'], 'not found'),
    ('malformed XML', lambda t: ['validate', '--world', _world(t, '<sdf><world>')], 'w.sdf'),
    ('empty world file', lambda t: ['validate', '--world', _world(t, '')], 'w.sdf'),
    ('binary world file', lambda t: ['validate', '--world', _world(
        t, bytes(range(256)) * 8, mode='wb')], 'w.sdf'),
    ('GeoJSON passed as a world', lambda t: ['validate', '--world', _world(
        t, '{"type": "FeatureCollection", "features": []}', 'area.geojson')], 'GeoJSON'),
    ('GeoJSON with an .sdf name', lambda t: ['validate', '--world', _world(
        t, '{"type": "Polygon", "coordinates": []}')], 'GeoJSON'),
    ('a folder as the world', lambda t: ['validate', '--world', str(t)], 'not found'),
    ('bow-tie field polygon', lambda t: ['validate', '--world', _field(
        t, '0 0 30 20 30 0 0 20')], 'polygon'),
    ('field with two points', lambda t: ['validate', '--world', _field(t, '0 0 30 0')],
     'w.sdf'),
    ('field with NaN', lambda t: ['validate', '--world', _field(t, '0 0 nan 0 30 20 0 20')],
     'w.sdf'),
    ('field with inf', lambda t: ['validate', '--world', _field(t, '0 0 inf 0 30 20 0 20')],
     'w.sdf'),
    ('field with an odd number count', lambda t: ['validate', '--world', _field(
        t, '0 0 30 0 30 20 0')], 'w.sdf'),
    # -- GeoJSON areas (demine generate-world --geojson) ----------------------------------------
    ('GeoJSON area without features', lambda t: ['generate-world', '--geojson', _world(
        t, '{"type": "FeatureCollection", "features": []}', 'a.geojson'), '-o',
        str(t / 'w.sdf')], 'no features'),
    ('GeoJSON area with bad coordinates', lambda t: ['generate-world', '--geojson', _world(
        t, '{"type": "Polygon", "coordinates": [["east", "north"]]}', 'a.geojson'), '-o',
        str(t / 'w.sdf')], 'coordinates'),
    ('GeoJSON area whose task id is an object', lambda t: ['generate-world', '--geojson',
                                                           _world(t, _GEOJSON_BAD_ID,
                                                                  'a.geojson'),
                                                           '-o', str(t / 'w.sdf')],
     'task_id'),
    ('rock density out of range', lambda t: ['generate-world', '--polygon', '0,0 9,0 9,9',
                                             '--rock-density', '500', '-o', str(t / 'w.sdf')],
     'rock_density'),
    # -- profiles and parameters --------------------------------------------------------------
    ('unknown profile', lambda t: ['validate', '--profile', 'tractor9000'],
     'unknown vehicle profile'),
    ('malformed profile YAML', lambda t: ['validate', '--profile', _profile(
        t, '/**:\n  ros__parameters:\n    tool_width_m: [2.0\n')], 'malformed YAML'),
    ('profile not a mapping', lambda t: ['validate', '--profile', _profile(t, '- 1\n- 2\n')],
     'p.yaml'),
    ('negative tool width', lambda t: ['validate', '--profile', _profile(
        t, '/**:\n  ros__parameters:\n    tool_width_m: -1.0\n')], 'tool_width_m'),
    ('tool width of the wrong type', lambda t: ['validate', '--profile', _profile(
        t, '/**:\n  ros__parameters:\n    tool_width_m: wide\n')], 'tool_width_m'),
    ('parameter typo', lambda t: ['validate', '--profile', _profile(
        t, '/**:\n  ros__parameters:\n    tool_widht_m: 2.0\n')], 'tool_widht_m'),
    ('unknown node section', lambda t: ['validate', '--profile', _profile(
        t, 'no_such_node:\n  ros__parameters:\n    x: 1\n')], 'no_such_node'),
    ('NaN parameter', lambda t: ['validate', '--profile', _profile(
        t, '/**:\n  ros__parameters:\n    working_depth_m: .nan\n')], 'working_depth_m'),
    ('--rtf nan', lambda t: ['validate', '--rtf', 'nan'], 'real_time_factor'),
    ('--rtf inf', lambda t: ['validate', '--rtf', 'inf'], 'real_time_factor'),
    ('--rtf 0', lambda t: ['validate', '--rtf', '0'], 'real_time_factor'),
    ('--seed -5', lambda t: ['validate', '--seed', '-5'], 'seed'),
    ('--domain-id 300', lambda t: ['run', '--domain-id', '300', '--run-dir',
                                   str(t / 'r')], 'domain'),
    ('--domain-id -1', lambda t: ['run', '--domain-id', '-1', '--run-dir', str(t / 'r')],
     'domain'),
    ('--timeout nan', lambda t: ['run', '--backend', 'core', '--timeout', 'nan',
                                 '--run-dir', str(t / 'r')], 'timeout'),
    ('--timeout -3', lambda t: ['run', '--backend', 'core', '--timeout', '-3',
                                '--run-dir', str(t / 'r')], 'timeout'),
    # -- scenario files -----------------------------------------------------------------------
    ('missing scenario', lambda t: ['validate', '--scenario', '/nonexistent/s.yaml'],
     'not found'),
    ('malformed scenario YAML', lambda t: ['validate', '--scenario', _scenario(
        t, 'faults: [{at: 1.0, kind: gnss_loss\n')], 's.yaml'),
    ('unknown fault kind', lambda t: ['validate', '--scenario', _scenario(
        t, 'faults:\n  - {at: 1.0, kind: meteor_strike}\n')], 'meteor_strike'),
    ('fault at a negative time', lambda t: ['validate', '--scenario', _scenario(
        t, 'faults:\n  - {at: -1.0, kind: gnss_loss, duration: 1.0}\n')], 's.yaml'),
    # -- run folders and journals -------------------------------------------------------------
    ('run folder cannot be created', lambda t: ['run', '--backend', 'core', '--run-dir',
                                                _read_only_parent(t)], 'run folder'),
    ('run folder is a file', lambda t: ['run', '--backend', 'core', '--run-dir',
                                        _world(t, 'x', 'afile')], 'run folder'),
    ('report of a missing folder', lambda t: ['report', str(t / 'nope')], 'no such run folder'),
    ('report without a journal', lambda t: ['report', str(t)], 'no mission journal'),
    ('report of a truncated journal', lambda t: ['report', _journal_run(t, 'truncated')],
     'journal'),
    ('report of a garbage journal', lambda t: ['report', _journal_run(t, 'garbage')],
     'journal'),
    ('report from a file that is no recording', lambda t: [
        'report', _journal_run(t, 'complete'), '--from-recording',
        _world(t, '{"type": "FeatureCollection"}', 'x.mcap')], 'MCAP'),
    ('report from a missing recording', lambda t: [
        'report', _journal_run(t, 'complete'), '--from-recording'], 'recording'),
    ('report from a journal given as a recording', lambda t: [
        'report', _journal_run(t, 'complete'), '--from-recording',
        journal_path(str(t / 'run'))], 'MCAP'),
    ('resume without a journal', lambda t: ['run', '--backend', 'core', '--resume', str(t)],
     'no mission journal'),
    ('resume a truncated journal', lambda t: ['run', '--backend', 'core', '--resume',
                                              _journal_run(t, 'truncated')], 'journal'),
    ('resume a garbage journal', lambda t: ['run', '--backend', 'core', '--resume',
                                            _journal_run(t, 'garbage')], 'journal'),
    ('resume a finished mission', lambda t: ['run', '--backend', 'core', '--resume',
                                             _journal_run(t, 'complete')], 'already complete'),
]


@pytest.mark.parametrize('argv_of, fragment', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv_of, fragment):
    argv = argv_of(tmp_path)
    before = {p: _sha(p) for p in _journals(tmp_path)}
    try:
        rc = cli.main(argv)
    except SystemExit as exc:                  # argparse refuses some values itself
        rc = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and 'Traceback' not in err, err
    assert fragment in lines[0], lines[0]
    after = {p: _sha(p) for p in _journals(tmp_path)}
    assert after == before, 'a refused command changed a journal'


def _journals(folder):
    return [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs
            if f == 'journal.sqlite']


def _sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_there_are_at_least_30_cases():
    assert len(CASES) + len(RUNTIME_CASES) >= 30 and len(CASES) >= 30


# -- inputs met at run time: a safe reaction and a log line, nothing recorded lost ------------

def _report_journal_run(tmp):
    """A run folder whose journal a report can be built from (an interrupted mission)."""
    import dataclasses
    from demining_bringup.contract.area import load_area
    from demining_control.coverage.processed import ProcessedGrid
    world = st.find_world('training_field')
    area = load_area(world)
    grid = ProcessedGrid(area.field, area.exclusion_zones, 0.1, 2.0, 2.6)
    run = tmp / 'run'
    run.mkdir()
    meta = {'world_name': area.name, 'area_file': world, 'simulated': False,
            'area': {'field': area.field, 'exclusion_zones': area.exclusion_zones,
                     'origin': dataclasses.asdict(area.origin)},
            'parameters': {'processed_resolution_m': 0.1, 'tool_width_m': 2.0,
                           'tool_offset_x_m': 2.6, 'working_depth_m': 0.15}}
    j = JournalWriter(journal_path(str(run)), meta, GridGeometry(
        grid.origin_x, grid.origin_y, grid.resolution, grid.width, grid.height))
    j.transition(0.0, 'planning', 'waiting for the coverage path')
    j.close(10.0)
    return str(run)


def test_a_truncated_recording_is_read_to_its_last_whole_chunk(tmp_path, capsys):
    """A recorder killed with the run leaves an MCAP file without its summary."""
    run = _report_journal_run(tmp_path)
    journal = _sha(journal_path(run))
    rc = cli.main(['report', run, '--from-recording', _truncated_mcap(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert 'the recording was cut off' in out
    assert os.path.getsize(os.path.join(run, cli.RECORDING_IMAGE)) > 0
    assert _sha(journal_path(run)) == journal


def test_nan_and_inf_in_messages_reach_the_record_safely(tmp_path):
    """NaN/inf in what the mission manager receives: no crash, nothing recorded is lost."""
    import json
    import math
    from demining_bringup.contract.datatypes import (Detection, DetectionKind, Detections,
                                                     Grid, SimEvent, ToolState, VehicleState)
    from demining_bringup.contract.journal import read_journal
    from demining_bringup.deterministic_runner import abort_mission, hosted
    from demining_bringup.hosts.deterministic import DeterministicHost
    import numpy as np
    desc = st.load_stack()
    run = str(tmp_path / 'run')
    args = st.resolve_arguments(desc, {'world': 'training_field', 'run_dir': run})
    host = DeterministicHost(hosted(st.resolve_stack(desc, args,
                                                     st.load_profile(args['profile']))))
    host.startup()
    try:
        host.run(lambda: host.now >= 20.0)
        mm = host.runtimes['mission_manager'].component
        mm.journal_commit(host.now)
        before = read_journal(journal_path(run))
        nan, inf = math.nan, math.inf
        now = host.now
        mm.on_pose(VehicleState(now, nan, inf, nan, 0.0, 0.0), now)
        mm.on_tool_state(ToolState(now, nan, inf, nan), now)
        bad = [Detection(nan, 1.0, 0.1, 0.9, DetectionKind.AT, id=99),
               Detection(2.0, inf, 0.1, 0.9, DetectionKind.AP, id=98)]
        mm.on_detections(Detections(now, bad), now)
        mm.on_event(SimEvent(now, 'at_detonation', '', '', nan, inf, 'blast, no position'), now)
        mm.on_mine_map(Grid(now, np.zeros((3, 3), np.int8), nan, 0.0, 0.1), now)
        host.run(lambda: host.now >= now + 5.0)
        assert abort_mission(host, 'test over')[0]
    finally:
        host.shutdown()
    after = read_journal(journal_path(run))
    assert len(after.trajectory) >= len(before.trajectory)
    assert after.processed.sum() >= before.processed.sum()
    assert after.transitions[:len(before.transitions)] == before.transitions
    with open(os.path.join(run, 'summary.json'), encoding='utf-8') as f:
        summary = json.load(f)                       # strict JSON: no NaN slipped in
    blast = [e for e in summary['at_detonation_events'] if e['detail'] == 'blast, no position']
    assert blast and blast[0]['x'] is None and blast[0]['lat'] is None
    assert all(d['id'] not in (98, 99) for d in summary['detections'])


RUNTIME_CASES = [test_a_truncated_recording_is_read_to_its_last_whole_chunk,
                 test_nan_and_inf_in_messages_reach_the_record_safely]


@pytest.fixture(autouse=True)
def _no_runs_folder_left(tmp_path, monkeypatch):
    """Run in tmp_path: a refused run must not leave runs/ folders behind in the project."""
    monkeypatch.chdir(tmp_path)
    yield
    shutil.rmtree(tmp_path / 'runs', ignore_errors=True)
