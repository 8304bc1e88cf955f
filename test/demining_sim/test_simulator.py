"""Simulator core: output rates, determinism, command handling, actors, bounded memory."""

import collections
import dataclasses

import numpy as np
import pytest

from demining_bringup.contract.datatypes import (GprScan, MdScan, SimEvent, ToolCommand,
                                                 ToolState, Twist2D)
from demining_bringup.contract.parameters import ParamError, from_dict, schema_of
from demining_sim.faults import parse_scenario
from demining_sim.generator import make_item
from demining_sim.sensors.gnss import GnssFix
from demining_sim.sensors.imu import ImuSample
from demining_sim.sensors.odometry import OdomSample
from demining_sim.simulator import (ActorsSample, GroundTruth, Heartbeat, SimParams,
                                    Simulator)
from demining_bringup.contract.world import GeoOrigin, Soil, World


def world(items=(), rocks=0.3):
    return World('s', GeoOrigin(44.87, 18.81, 95.0), [(0, -10), (60, -10), (60, 10), (0, 10)],
                 soil=Soil(rock_density_per_m2=rocks), items=list(items),
                 vehicle_start=(0.0, 0.0, 0.0))


ITEMS = [make_item('PMN', 'pmn_1', 6.5, 0.3, 0.08), make_item('can', 'can_1', 7.0, -0.5, 0.05),
         make_item('TM-62P', 'tm_1', 9.0, 0.0, 0.2)]


def drive(sim, seconds, v=0.4, w=0.0, tool=ToolCommand(83.8, 0.0, 0.2)):
    out = []
    while sim.t < seconds - 1e-9:
        sim.set_command(Twist2D(v, w))
        sim.set_tool_command(tool)
        sim.advance_to(sim.t + 0.1)
        out += sim.drain()
    return out


def test_output_rates_follow_the_contract():
    out = drive(Simulator(world(), SimParams(gnss_dropouts_per_hour=0.0)), 10.0)
    count = collections.Counter(type(o) for o in out)
    assert count[OdomSample] == 200          # 20 Hz
    assert count[ImuSample] == 200           # 20 Hz
    assert count[GnssFix] == 50              # 5 Hz
    assert count[GprScan] == 100             # 10 Hz batches
    assert count[MdScan] == 100
    assert count[ToolState] == 100           # 10 Hz
    assert count[GroundTruth] == 100         # 10 Hz
    assert count[Heartbeat] == 20            # 2 Hz
    gpr = [o for o in out if isinstance(o, GprScan)]
    md = [o for o in out if isinstance(o, MdScan)]
    # 25 traces/s and 50 readings/s per channel, every sample time exactly once.
    assert sum(len(s.channels) for s in gpr) == 25 * 8 * 10
    assert sum(len(s.channels) for s in md) == 50 * 8 * 10
    times = np.concatenate([s.stamp + s.time_offsets.astype(float) for s in md])
    assert len(np.unique(np.round(times[::8], 4))) == 500
    assert all((s.time_offsets <= 0).all() for s in gpr + md)
    np.testing.assert_allclose(md[0].positions[:, 0], 4.0)       # sensor_offset_x_m


def test_same_seed_same_outputs_and_other_seed_differs():
    def signature(seed):
        sim = Simulator(world(ITEMS), SimParams(seed=seed))
        out = drive(sim, 20.0)
        md = np.concatenate([o.signals for o in out if isinstance(o, MdScan)])
        gpr = np.concatenate([o.amplitudes.ravel() for o in out if isinstance(o, GprScan)])
        gnss = [(o.latitude, o.longitude) for o in out if isinstance(o, GnssFix)]
        ev = [(o.stamp, o.kind, o.item_id) for o in out if isinstance(o, SimEvent)]
        odo = [(o.x, o.y, o.yaw) for o in out if isinstance(o, OdomSample)]
        fates = [(f.name, f.state, f.x, f.y, f.depth, f.contacts) for f in sim.item_fates()]
        return md, gpr, gnss, ev, odo, fates
    a, b, c = signature(7), signature(7), signature(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x, dtype=object), np.asarray(y, dtype=object))
    assert not np.array_equal(a[0], c[0])
    assert any(f[5] for f in a[5])                # the machine met the mines


def test_metal_detector_sees_the_mine_pass_under_the_boom():
    sim = Simulator(world([make_item('PMN', 'pmn_1', 6.0, 0.125, 0.05)], rocks=0.0),
                    SimParams(seed=1))
    out = drive(sim, 10.0, tool=ToolCommand())
    md = [o for o in out if isinstance(o, MdScan)]
    sig = np.concatenate([o.signals for o in md])
    ch = np.concatenate([o.channels for o in md])
    # Coil 3 (y = +0.125) passes straight over it.
    peak = sig[ch == 3].max()
    median = np.median(sig[ch == 3])
    assert peak - median > 30.0
    assert sig[ch == 0].max() - np.median(sig[ch == 0]) < 10.0


def test_gpr_sees_the_mine():
    sim = Simulator(world([make_item('TM-62M', 'tm', 6.0, 0.125, 0.1)], rocks=0.0),
                    SimParams(seed=1))
    out = drive(sim, 10.0, tool=ToolCommand())
    gpr = [o for o in out if isinstance(o, GprScan)]
    amp = np.concatenate([o.amplitudes for o in gpr])
    ch = np.concatenate([o.channels for o in gpr])
    traces = amp[ch == 3]
    residual = traces - np.median(traces, axis=0)
    assert np.abs(residual).max() > 0.1


def test_stale_and_nan_commands():
    sim = Simulator(world(), SimParams())
    sim.set_command(Twist2D(1.0, 0.0))
    sim.advance_to(5.0)
    # One command only: after 0.5 s it is replaced by zero, so the vehicle stops.
    assert sim.truth.v == 0.0
    assert 0.0 < sim.truth.x < 0.5
    x = sim.truth.x
    sim.set_command(Twist2D(float('nan'), 0.0))
    sim.set_tool_command(ToolCommand(float('inf'), 0.0, 0.1))
    sim.advance_to(6.0)
    assert sim.truth.x == x
    assert sim.tools.flail.speed == 0.0


def test_actor_intrusion_once_per_approach():
    scenario = parse_scenario({'actors': [
        {'name': 'shepherd', 'kind': 'person', 'start': 1.0, 'speed_mps': 2.0,
         'path': [[-100.0, 5.0], [100.0, 5.0], [-100.0, 5.0]]}]}, 'a.yaml')
    sim = Simulator(world(), SimParams(intrusion_distance_m=20.0), scenario)
    out = drive(sim, 205.0, v=0.0)
    ev = [o for o in out if isinstance(o, SimEvent) and o.kind == 'intrusion']
    assert [e.item_id for e in ev] == ['shepherd', 'shepherd']      # there and back
    assert ev[0].stamp == pytest.approx(1.0 + (100.0 - 19.4) / 2.0, abs=0.2)
    samples = [o for o in out if isinstance(o, ActorsSample)]
    assert samples[0].actors == []                                  # before its start
    assert samples[-1].actors == []                                 # gone at the end
    assert any(len(s.actors) == 1 for s in samples)


def test_output_queue_is_bounded():
    sim = Simulator(world(), SimParams(output_queue_size=500))
    sim.advance_to(60.0)
    assert len(sim.outputs) == 500
    assert sim.dropped_outputs > 0


def test_params_schema_is_flat_and_validated():
    specs = schema_of(SimParams)
    for name in ('seed', 'physics_rate_hz', 'real_time_factor', 'tool_width_m',
                 'tool_offset_x_m', 'sensor_offset_x_m', 'sensor_width_m', 'track_gauge_m',
                 'track_width_m', 'md_rate_hz', 'gpr_trace_rate_hz', 'gnss_rate_hz'):
        assert name in specs
    with pytest.raises(ParamError):
        from_dict(SimParams, {'real_time_factor': 500.0})
    with pytest.raises(ParamError):
        from_dict(SimParams, {'physics_rate_hz': 10.0, 'imu_rate_hz': 20.0})
    p = from_dict(SimParams, {'seed': 3})
    assert dataclasses.replace(p, seed=4).seed == 4


def test_pose_ring_interpolates_between_pushes_after_wrapping_and_clamps_to_its_span():
    from demining_sim.simulator import _PoseRing
    ring = _PoseRing(8)
    dt = 0.01
    assert ring.interp([0.0]) == [(0.0,) * 6]            # nothing pushed: the zero slot
    ring.push((0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0))
    assert ring.interp([0.5, -1.0]) == [(1.0, 2.0, 3.0, 4.0, 5.0, 6.0)] * 2
    for k in range(1, 20):                              # wraps the 8 slots twice
        t = k * dt
        ring.push((t, t, 2.0 * t, -t, 0.5, 0.0, 1.0))
    # The buffered span is the last 8 pushes, t = 0.12 .. 0.19.
    for t in (0.19, 0.185, 0.1234, 0.12):
        got = ring.interp([t])[0]
        assert got[0] == pytest.approx(t) and got[1] == pytest.approx(2.0 * t)
        assert got[2] == pytest.approx(-t) and got[3:] == pytest.approx((0.5, 0.0, 1.0))
    # Before the span: the oldest pose; after it: the newest.
    assert ring.interp([0.05])[0][0] == pytest.approx(0.12)
    assert ring.interp([0.3])[0][0] == pytest.approx(0.19)
