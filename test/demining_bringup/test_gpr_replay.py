"""``demine gpr`` on the stack's own recordings (demining_bringup/gpr_replay.py): the
recording replayed through the GPR processor node's component, in the map frame."""

import json
import math
import sys
from pathlib import Path

import numpy as np

from demining_bringup import cli
from demining_perception.gpr.processing import GprParams

# the simulator-model drive shared with the perception tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'demining_perception'))
from perception_synth import sim_gpr_batch  # noqa: E402


def _record_a_pass(path, items, *, length_m=6.0, speed=0.4, heading=0.3):
    """An MCAP recording, as ``demine run --record`` writes one, of the simulator's 8-channel
    GPR boom driven straight over ``items`` (base_link from the origin at ``heading``), with
    the poses on /localization/odometry; return the direct processor's detections (the
    online chain called batch by batch, then the end of the scan) and the traces written."""
    from demining_bringup.contract import topics
    from demining_bringup.contract.datatypes import VehicleState
    from demining_bringup.contract.wire import wires
    from demining_bringup.recording import McapRecorder
    from demining_perception.gpr.processing import GprProcessor
    from demining_perception.pose_buffer import PoseBuffer
    from demining_sim.generator import soil_preset
    from demining_sim.sensors.gpr import GprModel, GprParams as SimGprParams
    from demining_sim.spatial import ItemTable
    soil = soil_preset('loam')
    sp = SimGprParams()
    model = GprModel(sp, ItemTable(items), rng=np.random.default_rng(3),
                     permittivity=soil.permittivity, conductivity=soil.conductivity,
                     roughness_m=soil.roughness_m)
    ch_y = 1.0 - (np.arange(8) + 0.5) * 0.25
    sensor_x = 4.0
    c, s = math.cos(heading), math.sin(heading)
    w = wires()
    rec = McapRecorder(str(path))
    proc = GprProcessor(GprParams())
    poses = PoseBuffer()
    direct = []
    k = 0
    for b in range(1, int(length_m / speed * 10.0) + 1):
        stamp = b / 10.0
        for t in np.arange(stamp - 0.05, stamp + 1e-9, 0.05):
            pose = VehicleState(stamp=float(t), x=speed * t * c, y=speed * t * s, yaw=heading)
            poses.add(pose)
            rec.write_message(topics.LOCALIZATION, w[topics.LOCALIZATION].encode(pose, t), t)
        scan, k = sim_gpr_batch(model, stamp, k, ch_y, sensor_x,
                                lambda t: (speed * t * c, speed * t * s, heading))
        rec.write_message(topics.GPR_TRACES, w[topics.GPR_TRACES].encode(scan, stamp), stamp)
        direct += proc.process(scan, poses)
    rec.close()
    return direct + proc.flush(), proc.stats.traces


def _item(kind, x, y, depth):
    from demining_bringup.contract.world import BuriedItem, ItemKind
    if kind == 'pmn':
        return BuriedItem(name='pmn', kind=ItemKind.AP, x=x, y=y, depth=depth, diameter=0.112,
                          height=0.056, metal_mass=0.004, permittivity=3.0, model='PMN')
    return BuriedItem(name='shrapnel', kind=ItemKind.CLUTTER, x=x, y=y, depth=depth,
                      diameter=0.04, height=0.01, metal_mass=0.02, permittivity=80.0,
                      model='shrapnel')


def _on_lane(along, across, heading=0.3):
    c, s = math.cos(heading), math.sin(heading)
    return c * along - s * across, s * along + c * across


def test_a_recording_replays_through_the_online_chain_in_the_map_frame(tmp_path, capsys):
    # a PMN under channel 2, shrapnel under channel 5, and a PMN 0.2 m before the recording
    # ends (only the end-of-scan flush reports it)
    spots = [('pmn', 5.2, 0.375, 0.08), ('shrapnel', 6.4, -0.375, 0.1), ('pmn', 7.8, 0.125, 0.1)]
    items = [_item(k, *_on_lane(a, b), d) for k, a, b, d in spots]
    path = tmp_path / 'mission.mcap'
    direct, n_traces = _record_a_pass(path, items, length_m=3.8)
    out_json, out_png = tmp_path / 'picks.json', tmp_path / 'bscan.png'
    assert cli.main(['gpr', str(path), '--permittivity', '9', '--json', str(out_json),
                     '--png', str(out_png), '--channel', '2']) == 0
    res = json.loads(out_json.read_text())
    assert res['frame'] == 'map' and res['traces'] == n_traces > 0
    got = res['detections']
    # what the online chain found, where it found it, nothing added or lost
    assert sorted((round(d.x, 4), round(d.y, 4), round(d.depth, 4)) for d in direct) == \
        sorted((d['x'], d['y'], d['depth']) for d in got)
    for it, (kind, *_rest, depth) in zip(items, spots):
        near = [d for d in got if math.hypot(d['x'] - it.x, d['y'] - it.y) <= 0.1]
        assert near, (kind, it.x, it.y, got)
        assert min(abs(d['depth'] - depth) for d in near) <= 0.03
    assert out_png.stat().st_size > 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == res


def test_bad_recordings_are_one_error_line_exit_2(tmp_path, capsys):
    junk = tmp_path / 'junk.mcap'
    junk.write_bytes(b'garbage')
    assert cli.main(['gpr', str(junk)]) == 2
    assert 'not a readable MCAP recording' in capsys.readouterr().err
    path = tmp_path / 'mission.mcap'
    _record_a_pass(path, [], length_m=1.0)
    assert cli.main(['gpr', str(path), '--channel', '9']) == 2
    assert 'channel 9' in capsys.readouterr().err
    assert cli.main(['gpr', str(path), str(path)]) == 2
    assert 'one recording at a time' in capsys.readouterr().err
