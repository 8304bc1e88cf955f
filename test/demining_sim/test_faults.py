"""Fault scenarios: parsing with clear errors, the pure schedule, and each kind's effect."""

import glob
import math
import os

import numpy as np
import pytest
import yaml

from demining_bringup.contract import topics
from demining_bringup.contract.datatypes import (GprScan, MdScan, SimEvent, ToolCommand,
                                                 ToolState, Twist2D)
from demining_sim.faults import (Fault, FaultInjector, FaultKind, load_scenario,
                                 parse_scenario)
from demining_sim.sensors.gnss import GnssFix
from demining_sim.sensors.imu import ImuSample
from demining_sim.sensors.odometry import OdomSample
from demining_sim.simulator import Heartbeat, MessageFault, SimParams, Simulator
from demining_bringup.contract.world import GeoOrigin, World

CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', 'config', 'faults')
TYPES = {'gpr': GprScan, 'md': MdScan, 'imu': ImuSample, 'odom': OdomSample, 'gnss': GnssFix}


def world():
    return World('f', GeoOrigin(45.0, 16.0), [(-5, -20), (80, -20), (80, 20), (-5, 20)])


def run(faults, seconds=12.0, **params):
    """Drive straight with the flail on; return [(t, output)] for every output."""
    sim = Simulator(world(), SimParams(seed=3, gnss_dropouts_per_hour=0.0, **params),
                    parse_scenario({'faults': faults}, 'test.yaml'))
    out = []
    while sim.t < seconds - 1e-9:
        sim.set_command(Twist2D(0.5, 0.0))
        sim.set_tool_command(ToolCommand(83.8, 0.0, 0.0))
        sim.advance_to(sim.t + 0.1)
        out += sim.drain()
    return sim, out


def stamps(out, cls, t0=-1.0, t1=math.inf):
    return [o for o in out if isinstance(o, cls) and t0 <= o.stamp < t1]


# --- parsing -----------------------------------------------------------------------------

def test_example_scenarios_load():
    files = sorted(glob.glob(os.path.join(CONFIG, '*.yaml')))
    assert len(files) >= 4
    for path in files:
        scenario = load_scenario(path)
        # a fault-campaign file may hold only operator actions (an e-stop, a killed node) or a
        # hazardous world (a slope) in its setup
        setup = (yaml.safe_load(open(path, encoding='utf-8')) or {}).get('setup') or {}
        assert scenario.faults or scenario.actors or setup.get('operator') or \
            setup.get('world', {}).get('slope'), path


@pytest.mark.parametrize('entry,needle', [
    ({'at': 1.0, 'kind': 'meteor'}, "unknown fault kind 'meteor'"),
    ({'at': 1.0, 'kind': 'gnss_loss', 'sensor': 'gpr'}, "unknown field 'sensor'"),
    ({'at': 1.0, 'kind': 'sensor_dropout'}, "missing 'sensor'"),
    ({'at': 1.0, 'kind': 'sensor_dropout', 'sensor': 'lidar'}, "'lidar' is not one of"),
    ({'kind': 'gnss_loss'}, "missing 'at'"),
    ({'at': -1.0, 'kind': 'gnss_loss'}, 'below 0'),
    ({'at': 1.0, 'kind': 'gnss_jump', 'offset': [1.0]}, 'offset'),
    ({'at': 1.0, 'kind': 'node_crash', 'duration': 3.0}, "unknown field 'duration'"),
    ({'at': 1.0, 'kind': 'garbage_message', 'topic': '/nope'}, "'nope' is not one of"),
    ({'at': float('nan'), 'kind': 'gnss_loss'}, 'finite'),
])
def test_bad_entries_name_file_and_entry(tmp_path, entry, needle):
    path = tmp_path / 'bad.yaml'
    import yaml
    path.write_text(yaml.safe_dump({'faults': [{'at': 0.0, 'kind': 'gnss_loss'}, entry]}))
    with pytest.raises(ValueError) as exc:
        load_scenario(str(path))
    msg = str(exc.value)
    assert str(path) in msg and 'faults[1]' in msg and needle in msg


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match='cannot read'):
        load_scenario(str(tmp_path / 'missing.yaml'))
    (tmp_path / 'x.yaml').write_text('faults: [\n')
    with pytest.raises(ValueError, match='not valid YAML'):
        load_scenario(str(tmp_path / 'x.yaml'))
    (tmp_path / 'y.yaml').write_text('fault: []\n')
    with pytest.raises(ValueError, match="unknown section 'fault'"):
        load_scenario(str(tmp_path / 'y.yaml'))
    with pytest.raises(ValueError, match=r'actors\[0\].*missing .path.'):
        parse_scenario({'actors': [{'name': 'a'}]}, 's.yaml')


def test_injector_is_pure():
    inj = FaultInjector([Fault(FaultKind.GNSS_LOSS, 10.0, 5.0),
                         Fault(FaultKind.NODE_CRASH, 12.0)])
    assert inj.active(9.99) == []
    assert [f.kind for f in inj.active(10.0)] == [FaultKind.GNSS_LOSS]
    assert inj.active(15.0) == []
    assert [f.kind for f in inj.started(11.0, 12.0)] == [FaultKind.NODE_CRASH]
    assert inj.active(12.0) == [inj.faults[0]]          # instants are never "active"
    assert inj.next_change(10.0) == 12.0
    assert inj.is_active(11.0, FaultKind.GNSS_LOSS)
    assert inj.active(11.0) == inj.active(11.0)         # same answer every time


# --- effects -----------------------------------------------------------------------------

def test_every_fault_start_is_an_event():
    _, out = run([{'at': 2.0, 'kind': 'gnss_loss', 'duration': 1.0},
                  {'at': 3.0, 'kind': 'node_crash'}])
    faults = [o for o in out if isinstance(o, SimEvent) and o.kind == 'fault']
    assert [(f.stamp, f.item_id) for f in faults] == [(2.0, 'gnss_loss'), (3.0, 'node_crash')]


def test_gnss_loss():
    _, out = run([{'at': 4.0, 'kind': 'gnss_loss', 'duration': 3.0}])
    assert stamps(out, GnssFix, 4.0, 7.0) == []
    assert len(stamps(out, GnssFix, 0.0, 4.0)) == 19       # 0.2 .. 3.8 s
    assert len(stamps(out, GnssFix, 7.0, 12.0)) == 25


def test_gnss_jump():
    sim, out = run([{'at': 4.0, 'kind': 'gnss_jump', 'offset': [5.0, 0.0], 'duration': 3.0}])

    def east(fixes):
        return np.array([sim.geo.to_enu(f.latitude, f.longitude, f.altitude)[0]
                         for f in fixes])
    gt = {round(o.stamp, 3): o.x for o in out if type(o).__name__ == 'GroundTruth'}
    during = stamps(out, GnssFix, 4.0, 7.0)
    after = stamps(out, GnssFix, 7.0, 12.0)
    err_during = east(during) - np.array([gt[round(f.stamp, 3)] for f in during])
    err_after = east(after) - np.array([gt[round(f.stamp, 3)] for f in after])
    assert np.all(np.abs(err_during - 5.0) < 0.15)
    assert np.all(np.abs(err_after) < 0.15)


@pytest.mark.parametrize('sensor', ['gpr', 'md', 'imu', 'odom', 'gnss'])
def test_sensor_dropout(sensor):
    _, out = run([{'at': 4.0, 'kind': 'sensor_dropout', 'sensor': sensor, 'duration': 3.0}])
    cls = TYPES[sensor]
    assert stamps(out, cls, 4.0, 7.0) == []
    assert stamps(out, cls, 7.0, 12.0)
    assert stamps(out, cls, 0.0, 4.0)


@pytest.mark.parametrize('sensor', ['gpr', 'md', 'odom'])
def test_sensor_frozen_repeats_the_last_output(sensor):
    _, out = run([{'at': 4.0, 'kind': 'sensor_frozen', 'sensor': sensor, 'duration': 3.0}])
    cls = TYPES[sensor]
    frozen = stamps(out, cls, 4.0, 7.0)
    assert len(frozen) >= 3
    field = {'gpr': 'amplitudes', 'md': 'signals', 'odom': 'x'}[sensor]
    first = getattr(frozen[0], field)
    for o in frozen[1:]:
        np.testing.assert_array_equal(getattr(o, field), first)
    assert len({o.stamp for o in frozen}) == len(frozen)       # fresh stamps
    after = stamps(out, cls, 7.0, 12.0)
    assert not np.array_equal(getattr(after[-1], field), first)


@pytest.mark.parametrize('sensor', ['gpr', 'md', 'imu', 'odom', 'gnss'])
def test_nan_message_once(sensor):
    _, out = run([{'at': 4.0, 'kind': 'nan_message', 'sensor': sensor}])
    cls = TYPES[sensor]

    def is_nan(o):
        values = {'gpr': lambda: o.amplitudes, 'md': lambda: o.signals,
                  'imu': lambda: o.orientation, 'odom': lambda: o.x,
                  'gnss': lambda: o.latitude}[sensor]()
        return bool(np.isnan(np.asarray(values, dtype=float)).any())
    flags = [(o.stamp, is_nan(o)) for o in stamps(out, cls)]
    bad = [t for t, nan in flags if nan]
    assert len(bad) == 1 and bad[0] >= 4.0


def test_operator_link_loss():
    _, out = run([{'at': 4.0, 'kind': 'operator_link_loss', 'duration': 3.0}])
    assert stamps(out, Heartbeat, 4.0, 7.0) == []
    assert len(stamps(out, Heartbeat, 0.0, 4.0)) == 7       # 0.5 .. 3.5 s
    assert len(stamps(out, Heartbeat, 7.0, 12.0)) == 10


def test_rotor_stall():
    _, out = run([{'at': 4.0, 'kind': 'rotor_stall', 'tool': 'flail', 'duration': 3.0}])
    speed = {round(o.stamp, 2): o.flail_speed for o in stamps(out, ToolState)}
    assert speed[3.9] > 75.0
    assert speed[6.9] == 0.0
    assert speed[11.9] > 75.0


def test_drive_runaway_ignores_the_command_and_tool_state_faults_reach_the_joint_states():
    sim = Simulator(world(), SimParams(seed=3, gnss_dropouts_per_hour=0.0), parse_scenario(
        {'faults': [{'at': 2.0, 'kind': 'drive_runaway', 'speed_mps': 0.8, 'duration': 4.0},
                    {'at': 3.0, 'kind': 'sensor_dropout', 'sensor': 'tool', 'duration': 1.0}]},
        'test.yaml'))
    speeds, tool_stamps = {}, []
    while sim.t < 9.0 - 1e-9:
        sim.set_command(Twist2D(0.0, 0.0))          # the operator commands a stop throughout
        sim.set_tool_command(ToolCommand(0.0, 0.0, 0.0))
        sim.advance_to(sim.t + 0.1)
        speeds[round(sim.t, 1)] = sim.truth.v
        tool_stamps += [round(o.stamp, 1) for o in sim.drain() if isinstance(o, ToolState)]
    assert speeds[1.9] == 0.0 and speeds[5.9] == pytest.approx(0.8, abs=0.05)
    assert speeds[8.9] == pytest.approx(0.0, abs=1e-6)        # the valve freed: it stops
    assert not [t for t in tool_stamps if 3.05 < t < 3.95] and max(tool_stamps) > 4.0


def test_detonation():
    sim, out = run([{'at': 4.0, 'kind': 'detonation', 'item_kind': 'AT'}])
    kinds = [o.kind for o in out if isinstance(o, SimEvent)]
    assert kinds == ['fault', 'at_detonation', 'damage']
    assert sim.damaged
    _, out = run([{'at': 4.0, 'kind': 'detonation', 'item_kind': 'AP', 'x': 1.0, 'y': 2.0}])
    ev = [o for o in out if isinstance(o, SimEvent) and o.kind == 'ap_detonation']
    assert [(e.x, e.y) for e in ev] == [(1.0, 2.0)]


def test_a_scheduled_detonation_damages_by_its_distance_from_the_hull():
    # 7.5 kg at scaled distance 1.5 m/kg^(1/3): within 2.9 m of the hull. 40 m away: none.
    sim, out = run([{'at': 4.0, 'kind': 'detonation', 'item_kind': 'AT', 'x': 40.0,
                     'y': 30.0}])
    assert [o.kind for o in out if isinstance(o, SimEvent)] == ['fault', 'at_detonation']
    assert not sim.damaged and not sim.vehicle.disabled


def test_message_level_faults_reach_the_node():
    _, out = run([{'at': 4.0, 'kind': 'node_crash'},
                  {'at': 5.0, 'kind': 'garbage_message', 'topic': '/gpr/traces'}])
    mf = [(o.stamp, o.kind, o.topic) for o in out if isinstance(o, MessageFault)]
    assert mf == [(4.0, 'node_crash', ''), (5.0, 'garbage_message', topics.GPR_TRACES)]


def test_track_slip_slows_the_ground_speed_while_the_track_odometry_does_not_see_it():
    sim = Simulator(world(), SimParams(seed=3, gnss_dropouts_per_hour=0.0), parse_scenario(
        {'faults': [{'at': 4.0, 'kind': 'track_slip', 'slip': 0.8, 'duration': 4.0}]},
        'test.yaml'))
    speeds, odom = {}, {}
    while sim.t < 11.0 - 1e-9:
        sim.set_command(Twist2D(0.4, 0.0))
        sim.set_tool_command(ToolCommand(0.0, 0.0, 0.0))
        sim.advance_to(sim.t + 0.1)
        speeds[round(sim.t, 1)] = sim.truth.v
        for o in sim.drain():
            if isinstance(o, OdomSample):
                odom[round(o.stamp, 1)] = o.v
    assert speeds[3.9] == pytest.approx(0.4, rel=0.1)
    assert speeds[7.9] < 0.25 * 0.4                      # the ground moves it a fifth
    assert speeds[10.9] == pytest.approx(0.4, rel=0.1)   # out of the mud hole
    # the sprockets still turn at the commanded speed: odometry reads ~0.4 m/s throughout
    sprockets = np.mean([v for t, v in odom.items() if 6.0 <= t < 8.0])
    assert sprockets == pytest.approx(0.4, rel=0.1)


def test_track_slip_and_actor_until_parse_with_clear_errors():
    sc = parse_scenario({'faults': [{'at': 1.0, 'kind': 'track_slip'}], 'actors': [
        {'name': 'dog', 'kind': 'animal', 'path': [[0, 0], [5, 0]], 'loop': True,
         'start': 10.0, 'until': 40.0}]}, 's.yaml')
    assert sc.faults[0].slip == 0.8 and sc.faults[0].duration == 10.0
    assert 'slip=0.8' in sc.faults[0].describe()
    assert sc.actors[0].until == 40.0
    with pytest.raises(ValueError, match=r'slip: 0.95 above 0.9'):
        parse_scenario({'faults': [{'at': 1.0, 'kind': 'track_slip', 'slip': 0.95}]}, 's')
    with pytest.raises(ValueError, match=r'until'):
        parse_scenario({'actors': [{'name': 'a', 'path': [[0, 0]], 'start': 5.0,
                                    'until': 1.0}]}, 's')


def test_a_looping_actor_leaves_the_scene_at_until():
    from demining_sim.actors import Actors
    sc = parse_scenario({'actors': [
        {'name': 'dog', 'kind': 'animal', 'path': [[0, 0], [10, 0], [0, 5]], 'loop': True,
         'speed_mps': 2.0, 'start': 10.0, 'until': 100.0},
        {'name': 'stray', 'kind': 'animal', 'path': [[0, 0], [10, 0]], 'loop': True}]}, 's')
    actors = Actors(sc.actors, 5.0)
    times = (5.0, 50.0, 99.0, 101.0, 5000.0)
    names = {t: {a.name for a in actors.update(t, 50.0, 50.0)[0]} for t in times}
    assert names == {5.0: {'stray'}, 50.0: {'dog', 'stray'}, 99.0: {'dog', 'stray'},
                     101.0: {'stray'}, 5000.0: {'stray'}}
