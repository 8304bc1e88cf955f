"""bench/fusion_replay.py: a mission's fusion inputs recorded, replayed and scored."""

import json
import os
import pickle

import numpy as np
import pytest

from bench import fusion_replay as fr
from demining_bringup.contract.datatypes import Detection
from demining_perception.fusion.core import FusionCore, FusionParams

#: A TM-62P 23 cm deep as two GPR channels report it in one pass (weak, with the pulse's
#: sign and flat tops: the deep-reflector rule's plastic branch makes it AT), the MD silent.
MINE = (5.0, 5.0)
#: The flat-top half width its reports fit, m (an AP mine's size: the posterior alone does
#: not call it AT; a point-like 0-4 cm would be a stone's)
MINE_TOP_M = 0.06


def _gpr(x, y, depth, strength, polarity=1, radius=0.03):
    return Detection(x=x, y=y, depth=depth, confidence=0.95, source='gpr', radius=radius,
                     strength=strength, polarity=polarity)


def _session(core):
    """A short mission's calls: processed ground, the boom's sweeps, two objects, publishes;
    return when the core first labelled one AT (None: never)."""
    first_at = None
    core.set_processed(np.zeros((100, 100), dtype=bool), 0.0, 0.0, 0.1)
    for k in range(40):
        # the boom passes over both objects, then on (the sensors had their look)
        core.sweep(0.25 * k - 4.0, 5.0, 0.0, 0.5 * k)
        if k == 10:
            core.add([_gpr(MINE[0], MINE[1], 0.23, 11.6, radius=MINE_TOP_M),
                      _gpr(MINE[0], MINE[1] + 0.25, 0.235, 8.9, radius=MINE_TOP_M)], 0.5 * k)
            core.add([_gpr(8.0, 2.0, 0.05, 30.0)], 0.5 * k)
        if k % 5 == 4:
            core.update(0.5 * k)
            if first_at is None and any(d.kind.name == 'AT' for d in core.fused()):
                first_at = 0.5 * k
    core.update(100.0)
    return first_at


def _run(tmp_path, items):
    """A run folder (the session recorded on a fresh core, and its truth), that core and
    when it first labelled an object AT."""
    run = tmp_path / 'run'
    run.mkdir()
    live = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    recorder = fr.FusionRecorder(live)
    first_at = _session(live)
    recorder.save(str(run / fr.RECORDING))
    (run / 'truth.json').write_text(json.dumps({'items': items}))
    return str(run), live, first_at


AT_MINE = {'kind': 'AT', 'model': 'TM-62P', 'x0': MINE[0], 'y0': MINE[1], 'depth0': 0.23}


def test_a_replay_gives_the_recorded_cores_tracks_and_labels(tmp_path):
    run, live, first_at = _run(tmp_path, [AT_MINE])
    data = fr.load(os.path.join(run, fr.RECORDING))
    labels, core = fr.replay(data)
    assert [(d.x, d.y, d.kind, d.confidence) for d in core.fused()] == \
        [(d.x, d.y, d.kind, d.confidence) for d in live.fused()]
    (label,) = labels.values()
    assert label['kind'] == 'AT' and label['rule'] == 'deep reflector'
    scored = fr.score(labels, fr.truth_items(run))
    assert first_at is not None
    assert scored['false'] == [] and scored['hazards'][0]['t'] == first_at


def test_a_label_on_no_hazard_is_false_and_names_what_lies_under_it(tmp_path):
    stone = {'kind': 'CLUTTER', 'model': 'rock', 'x0': 5.05, 'y0': 5.1, 'depth0': 0.24}
    run, _, _ = _run(tmp_path, [stone])
    scored = fr.score(fr.replay(fr.load(os.path.join(run, fr.RECORDING)))[0],
                      fr.truth_items(run))
    (false,) = scored['false']
    assert false['under'] == 'CLUTTER rock 24 cm' and scored['hazards'] == []


def test_the_record_of_a_mission_out_of_time_is_read_too(tmp_path):
    """A mission that ran out of wall time writes the report's truth (depth_m, no model, no
    position as laid): a replay of it is scored, not a TypeError (stop 56, irregular_area)."""
    stone = {'item_id': 'rock_1', 'kind': 'CLUTTER', 'x': 5.05, 'y': 5.1, 'depth_m': 0.24}
    run, _, _ = _run(tmp_path, [stone])
    scored = fr.score(fr.replay(fr.load(os.path.join(run, fr.RECORDING)))[0],
                      fr.truth_items(run))
    (false,) = scored['false']
    assert false['under'] == 'CLUTTER  24 cm'
    no_depth = dict(stone, depth_m=None)
    with open(os.path.join(run, 'truth.json'), 'w', encoding='utf-8') as f:
        json.dump({'items': [no_depth]}, f)
    (false,) = fr.score(fr.replay(fr.load(os.path.join(run, fr.RECORDING)))[0],
                        fr.truth_items(run))['false']
    assert false['under'] == 'CLUTTER '


def test_a_changed_rule_that_loses_a_hazard_is_reported(tmp_path, capsys):
    run, _, _ = _run(tmp_path, [AT_MINE])
    base = str(tmp_path / 'base.json')
    assert fr.main([run, '--json', base]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary == {'runs': 1, 'no_go_labels': 1, 'false_no_go_labels': 0, 'hazards': 1,
                       'hazards_labelled': 1}
    assert fr.main([run, '--set', 'deep_reflector_plastic_min_z=inf', '--against', base]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith('LOST run: AT TM-62P at (5.00, 5.00)')
    summary = json.loads(out[-1])
    assert summary['hazards_labelled'] == 0 and summary['hazards_lost'] == 1
    assert summary['hazards_later'] == 0 and summary['false_no_go_labels_before'] == 0


def test_a_file_that_is_not_a_plain_recording_is_refused_with_one_line(tmp_path, capsys):
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'truth.json').write_text(json.dumps({'items': []}))
    # a pickled class instance: loading it would construct objects (never run here)
    (run / fr.RECORDING).write_bytes(pickle.dumps(_gpr(1.0, 1.0, 0.1, 5.0)))
    with pytest.raises(fr.RecordingError, match='not plain data'):
        fr.load(str(run / fr.RECORDING))
    assert fr.main([str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ')
    (run / fr.RECORDING).write_bytes(pickle.dumps({'version': fr.VERSION + 1}))
    with pytest.raises(fr.RecordingError, match='version'):
        fr.load(str(run / fr.RECORDING))
    with pytest.raises(SystemExit):
        fr.main([str(run), '--set', 'no_such_parameter=1'])


def test_missions_record_fusion_needs_run_folders():
    from bench import missions
    with pytest.raises(SystemExit):
        missions.parse_args(['--record-fusion'])
    ns = missions.parse_args(['--record-fusion', '--out', '/tmp/x', '--quick'])
    assert all(s['record_fusion'] for s in missions.build_specs(ns))
    assert not any(s['record_fusion'] for s in missions.build_specs(
        missions.parse_args(['--quick'])))
