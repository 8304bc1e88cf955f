"""Whole missions on a small generated field, headless, on both hosts; they must end the same way.

The same components run once as lifecycle nodes over DDS (``demine run``, in one process) and
once on the deterministic host (``demine run --backend core``). Each must clear the field and
write its report; DDS delivery timing moves numbers by centimetres, so the two are compared by
outcome: processed area within 3 m^2 (the 0.5 points this test held on the training field), the
same neutralised items, the same sequence of safety states. The field is the shared small one
(``conftest.py``); the demo worlds are the scoreboard's (``bench/missions.py``).
"""

import json
import math
import os
import subprocess
import sys

import pytest

from demining_bringup.contract.sdf import load_world
from demining_bringup.contract.world import ItemKind
from demining_bringup.report import REPORT_FILES

pytest.importorskip('rclpy')

SEED = '1'
#: Largest difference of processed area between the hosts, m^2 (issue: one behaviour, two
#: hosts): the 0.5 percentage points this test held on the 600 m^2 training field. DDS delivery
#: timing moves lane ends by centimetres; on the 60 m^2 field 0.5 points would be 0.3 m^2,
#: under a quarter of one lane end (a 2 m wide tool's 0.25 m).
COVERAGE_TOLERANCE_M2 = 3.0
RUN_TIMEOUT_S = 420
#: A detection this close to a mine counts as finding it (sensor boom + localisation error).
FOUND_RADIUS_M = 0.75
#: A track this close to a mine is the mine's (issue 12: "tracked within 0.2 m").
TRACKED_RADIUS_M = 0.2
#: The labels that are right for each kind of mine, as bench/perception.py scores them: an AT
#: mine and a UXO both make a no-go zone; an AP mine is AP or UNKNOWN, a suspect the flail
#: processes alike (the fusion's cost table: UNKNOWN for an AP mine costs what AP for clutter
#: does). Which of the two depends on one MD look: the field's TS-50s hold 0.5 g of metal, and
#: midway between two coils 25 cm apart one reads 3-5 mV against ~1.3 mV of noise, heard on
#: some passes and not on others (over DDS, where delivery timing moves the boom by millimetres,
#: ap_002 stayed UNKNOWN until the flail had passed in 3 of 10 runs). CLUTTER is never right.
RIGHT_KINDS = {'AP': ('AP', 'UNKNOWN'), 'AT': ('AT', 'UXO'), 'UXO': ('UXO', 'AT')}
pytestmark = [pytest.mark.slow(seconds=100), pytest.mark.dds,
              pytest.mark.timeout(2 * RUN_TIMEOUT_S)]


def _run(tmp_path, world, name, *extra, domain=None):
    run_dir = tmp_path / name
    env = dict(os.environ)
    if domain is not None:
        env['ROS_DOMAIN_ID'] = str(domain)
    proc = subprocess.run([sys.executable, '-m', 'demining_bringup.cli', 'run', '--world', world,
                           '--seed', SEED, '--run-dir', str(run_dir), *extra],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in REPORT_FILES:
        assert (run_dir / name).stat().st_size > 0, f'{name} missing from the {run_dir.name} run'
    summary = json.loads((run_dir / 'summary.json').read_text())
    summary['_run_dir'] = str(run_dir)
    # which items were neutralised is simulation truth, kept apart from the machine's record
    summary['_truth'] = json.loads((run_dir / 'truth.json').read_text())
    return summary


def _safety_states(summary):
    states = [e['state'] for e in summary['safety_events']]
    # Consecutive repeats are one state (a transition's reason may change within a state).
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


@pytest.fixture(scope='module')
def summaries(tmp_path_factory, small_field, domain_ids):
    tmp = tmp_path_factory.mktemp('equivalence')
    core = _run(tmp, small_field, 'core', '--backend', 'core')
    dds = _run(tmp, small_field, 'dds', '--backend', 'dds', domain=domain_ids())
    return core, dds


def test_both_hosts_complete_with_the_same_coverage(summaries):
    core, dds = summaries
    assert core['outcome'] == dds['outcome'] == 'complete'
    assert abs(core['area_cleared_m2'] - dds['area_cleared_m2']) <= COVERAGE_TOLERANCE_M2


def test_both_hosts_neutralise_the_same_items(summaries):
    core, dds = summaries
    ids = [{n['item_id'] for n in s['_truth']['neutralised']} for s in (core, dds)]
    assert ids[0] and ids[0] == ids[1]


def test_both_hosts_pass_the_same_safety_states(summaries):
    core, dds = summaries
    assert _safety_states(core) == _safety_states(dds)


@pytest.mark.parametrize('host', ['core', 'dds'])
def test_the_field_is_cleared_with_its_record(summaries, host):
    summary = dict(zip(('core', 'dds'), summaries))[host]
    assert summary['coverage_percent'] >= 99.0
    assert summary['at_detonations'] == 0
    geo = json.loads(open(os.path.join(summary['_run_dir'], 'cleared_area.geojson')).read())
    assert any(f['properties'].get('status') == 'processed' for f in geo['features'])


@pytest.mark.parametrize('host', ['core', 'dds'])
def test_every_mine_was_tracked_with_its_kind_before_the_tool_reached_it(summaries, host):
    # Perception can fail this test: a stack that detects nothing, or labels a mine only once
    # the flail has set it off, does not pass (the record's label history against the truth).
    summary = dict(zip(('core', 'dds'), summaries))[host]
    mines = [f for f in summary['_truth']['item_fates'] if f['kind'] in RIGHT_KINDS]
    assert mines
    for mine in mines:
        reached = mine['history'][0][0] if mine['history'] else math.inf
        labelled = [t for d in summary['detections']
                    if math.hypot(d['x'] - mine['x0'], d['y'] - mine['y0']) <= TRACKED_RADIUS_M
                    for t, kind in d['labels'] if kind in RIGHT_KINDS[mine['kind']]]
        assert labelled and min(labelled) < reached, (
            f'{host}: {mine["kind"]} mine {mine["name"]} ({mine["model"]}) not tracked as '
            f'{"/".join(RIGHT_KINDS[mine["kind"]])} within {TRACKED_RADIUS_M} m before the '
            f'tool reached it at {reached:.1f} s: labelled at {sorted(labelled)}')
        dismissed = [t for d in summary['detections']
                     if math.hypot(d['x'] - mine['x0'], d['y'] - mine['y0']) <= FOUND_RADIUS_M
                     for t, kind in d['labels'] if kind == 'CLUTTER' and t < reached]
        assert not dismissed, f'{host}: mine {mine["name"]} labelled CLUTTER at {dismissed}'


def test_no_ap_mine_is_labelled_clutter_on_the_deterministic_host(summaries, small_field):
    """The worst perception failure: an AP mine called clutter. Deterministic: no flakes."""
    core, _ = summaries
    world = load_world(small_field)
    for mine in (i for i in world.items if i.kind is ItemKind.AP):
        near = [d['kind'] for d in core['detections']
                if math.hypot(d['x'] - mine.x, d['y'] - mine.y) < FOUND_RADIUS_M]
        assert near and 'CLUTTER' not in near, f'AP mine {mine.name}: {near}'
