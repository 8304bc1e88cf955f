"""Whole missions: the real stack over DDS, headless, on the small training field."""

import json
import math
import os

import pytest

from demining_bringup import stack as st
from demining_bringup.report import REPORT_FILES
from demining_bringup.runner import RunMode, StackRunner
from demining_bringup.contract.world import ItemKind
from demining_bringup.contract.sdf import load_world

#: A detection this close to a mine counts as finding it (sensor boom + localisation error).
_FOUND_RADIUS_M = 0.75
_MISSION_TIMEOUT_S = 400.0


def _run(tmp_path, domain_id, mode=RunMode.IN_PROCESS, **args):
    desc = st.load_stack()
    resolved = st.resolve_arguments(desc, {'run_dir': str(tmp_path / 'run'), **args})
    nodes = st.resolve_stack(desc, resolved, st.load_profile(resolved['profile']))
    runner = StackRunner(nodes, run_dir=str(tmp_path / 'run'), domain_id=domain_id, mode=mode,
                         timeout_s=_MISSION_TIMEOUT_S)
    return runner.run(), load_world(resolved['world'])


@pytest.mark.slow
@pytest.mark.dds
@pytest.mark.timeout(600)
def test_training_field_is_cleared_end_to_end(tmp_path, ros_domain_id):
    result, world = _run(tmp_path, ros_domain_id, real_time_factor='15.0')
    assert result.mission_state == 'complete', result
    for name in REPORT_FILES:
        assert os.path.getsize(os.path.join(result.run_dir, name)) > 0, name
    summary = json.loads(open(os.path.join(result.run_dir, 'summary.json')).read())
    assert summary['coverage_percent'] >= 99.0
    assert summary['at_detonations'] == 0
    neutralised = {e['item_id'] for e in summary['neutralised']}
    for mine in (i for i in world.items if i.kind is ItemKind.AP):
        found = any(math.hypot(d['x'] - mine.x, d['y'] - mine.y) < _FOUND_RADIUS_M
                    for d in summary['detections'] if d['kind'] != 'CLUTTER')
        assert mine.name in neutralised or found, f'AP mine {mine.name} missed'
    geo = json.loads(open(os.path.join(result.run_dir, 'cleared_area.geojson')).read())
    assert any(f['properties'].get('status') == 'processed' for f in geo['features'])
