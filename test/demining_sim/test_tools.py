"""Flail/tiller dynamics (stall, processing depth) and what happens to items under the machine."""

import dataclasses

import numpy as np
import pytest

from demining_bringup.contract.datatypes import ToolCommand, Twist2D
from demining_sim.generator import make_item
from demining_sim.simulator import SimParams, Simulator
from demining_sim.tools import ToolParams, ToolSystem
from demining_bringup.contract.world import GeoOrigin, Soil, Terrain, World

FLAIL = 83.8         # rad/s, 800 rpm (docs/sources.md)
DT = 0.01


def spin(tools, cmd, ground_speed, seconds):
    for _ in range(int(round(seconds / DT))):
        tools.step(cmd, ground_speed, DT)


def test_flail_spins_up_and_holds_speed_at_working_depth():
    tools = ToolSystem(ToolParams())
    spin(tools, ToolCommand(FLAIL, 0.0, 0.2), 0.4, 10.0)
    assert tools.depth == pytest.approx(0.2)
    assert tools.flail.speed > 0.9 * FLAIL
    assert tools.processed_depth == pytest.approx(0.2)
    # The effort reported is the load: drag plus soil at depth and speed.
    p = ToolParams()
    soil = p.flail_soil_torque_nm_per_m * 0.2 * (1 + p.soil_speed_factor_per_mps * 0.4)
    assert tools.state(1.0).flail_torque == pytest.approx(
        soil + p.flail_viscous_nms * tools.flail.speed, rel=1e-6)


def test_stall_when_soil_load_exceeds_drive_and_recovery_when_lifted():
    tools = ToolSystem(ToolParams())
    spin(tools, ToolCommand(FLAIL, 0.0, 0.0), 0.0, 5.0)
    spin(tools, ToolCommand(FLAIL, 0.0, 0.45), 1.0, 10.0)   # 10000*0.45*2.5 > 6000 N m
    assert tools.flail.speed == 0.0
    assert tools.processed_depth == 0.0                      # a stalled rotor does not process
    spin(tools, ToolCommand(FLAIL, 0.0, 0.1), 0.2, 10.0)
    assert tools.flail.speed > 0.9 * FLAIL


def test_harder_soil_loads_the_rotor_more():
    loam, laterite = ToolSystem(ToolParams(), 1.0), ToolSystem(ToolParams(), 1.8)
    for tools in (loam, laterite):
        spin(tools, ToolCommand(FLAIL, 0.0, 0.15), 0.4, 10.0)
    assert laterite.state(1.0).flail_torque > 1.5 * loam.state(1.0).flail_torque - \
        ToolParams().flail_viscous_nms * FLAIL


def test_depth_follows_command_at_lift_rate_and_is_limited():
    tools = ToolSystem(ToolParams(tool_lift_rate_mps=0.1))
    spin(tools, ToolCommand(0.0, 0.0, 0.3), 0.0, 1.0)
    assert tools.depth == pytest.approx(0.1)
    spin(tools, ToolCommand(0.0, 0.0, 5.0), 0.0, 10.0)
    assert tools.depth == pytest.approx(ToolParams().max_tool_depth_m)


def test_slow_rotor_does_not_process():
    tools = ToolSystem(ToolParams())
    spin(tools, ToolCommand(20.0, 0.0, 0.2), 0.4, 10.0)   # below 41.9 rad/s (400 rpm)
    assert 10.0 < tools.flail.speed < ToolParams().flail_min_process_speed_rps
    assert tools.processed_depth == 0.0


def world_with(*items):
    return World('tools', GeoOrigin(45.0, 16.0), [(-5, -10), (60, -10), (60, 10), (-5, 10)],
                 soil=Soil(rock_density_per_m2=0.0), items=list(items),
                 vehicle_start=(0.0, 0.0, 0.0))


def drive(sim, depth, flail=FLAIL, seconds=40.0, v=0.4):
    events = []
    for _ in range(int(seconds * 10)):
        sim.set_command(Twist2D(v, 0.0))
        sim.set_tool_command(ToolCommand(flail, 0.0, depth))
        sim.advance_to(sim.t + 0.1)
        events += [o for o in sim.drain() if type(o).__name__ == 'SimEvent']
    return [(e.kind, e.item_id, e.detail) for e in events]


def params(**kw):
    return SimParams(seed=1, **kw)


def test_ap_mine_under_a_slow_flail_is_neutralised_and_its_fate_recorded():
    # 0.1 m/s: 2270 strikes/m^2, the flail reaches its 0.2 m set depth (ground_processing).
    sim = Simulator(world_with(make_item('PMN', 'pmn_1', 10.0, 0.2, 0.1)), params())
    events = drive(sim, 0.2, v=0.1, seconds=120.0)
    assert [e[1:] for e in events] == [('pmn_1', 'flail')]
    assert events[0][0] in ('ap_detonation', 'neutralised')
    fate = sim.item_fates()[0]
    assert not fate.live and fate.cause == 'flail' and fate.neutralised_at is not None
    assert fate.in_processed_ground and fate.processed_depth_m >= 0.1
    # Fragments stay in the soil: the metal detector still sees metal there.
    assert sim.table.active[0] and sim.table.metal_mass[0] > 0.0
    x, y = np.array([10.0, 30.0]), np.array([0.2, 0.2])
    s = sim.md.signals(x, y, np.full(2, 0.05), np.zeros(2, dtype=np.int64), sim.t)
    assert s[0] > s[1] + 1.0


def test_the_tool_follows_the_ground_within_its_residual():
    # A 10 cm rise under the tool while the tracks stand on the level: the hammers bite
    # deeper there by tool_ground_following_residual x 10 cm.
    heights = np.zeros((41, 61))
    heights[:, 10:15] = 0.1                 # x in [5, 10) m is 10 cm higher
    terrain = Terrain(heights=heights, origin_x=-5.0, origin_y=-20.0, resolution=1.0)
    w = world_with()
    w.terrain = terrain
    sim = Simulator(w, params())
    assert sim._tool_ground_offset(7.0, 0.0) == pytest.approx(
        sim.p.tool_ground_following_residual * 0.1, abs=1e-3)
    assert sim._tool_ground_offset(20.0, 0.0) == pytest.approx(0.0, abs=1e-9)


def test_flail_at_the_surface_does_not_reach_a_deep_mine():
    sim = Simulator(world_with(make_item('PMN', 'pmn_1', 10.0, 0.0, 0.3)), params())
    assert drive(sim, 0.0) == []
    assert sim.item_fates()[0].live


def test_slow_flail_does_not_neutralise():
    sim = Simulator(world_with(make_item('PMN', 'pmn_1', 10.0, 0.0, 0.1)), params())
    assert drive(sim, 0.2, flail=20.0) == []
    assert sim.item_fates()[0].contacts == 0


def test_at_mine_under_a_track_detonates_and_disables_the_vehicle():
    sim = Simulator(world_with(make_item('TM-62M', 'tm_1', 10.0, 0.8, 0.15)), params())
    events = drive(sim, 0.0, flail=0.0)
    assert [e[:2] for e in events] == [('at_detonation', 'tm_1'), ('damage', 'tm_1')]
    assert events[0][2] == 'left track'
    assert sim.damaged and sim.tools.disabled and sim.vehicle.disabled
    x = sim.truth.x
    drive(sim, 0.0, flail=0.0, seconds=5.0)
    assert sim.truth.x == x          # a disabled vehicle does not move


def test_at_mine_under_the_tool_detonates():
    sim = Simulator(world_with(make_item('TM-62M', 'tm_1', 10.0, 0.0, 0.15)), params())
    events = drive(sim, 0.2, v=0.1, seconds=120.0)
    assert [e[0] for e in events] == ['at_detonation', 'damage']
    assert events[0][2] == 'flail'
    # The blast destroyed the flail: it runs down.
    drive(sim, 0.2, seconds=10.0)
    assert sim.tools.flail.speed < 1.0


def test_ap_under_track_and_deep_items_are_safe():
    deep = make_item('TM-62M', 'deep', 10.0, -0.8, 0.5)      # below track_trigger_max_depth_m
    ap = make_item('PMN', 'ap_1', 20.0, 0.8, 0.05)
    sim = Simulator(world_with(deep, ap), params())
    events = drive(sim, 0.0, flail=0.0, seconds=70.0)
    assert events == [('ap_detonation', 'ap_1', 'left track')]
    assert not sim.damaged                  # 240 g under an armoured track: repairable


def test_uxo_under_a_track_acts_by_its_impact_fuze():
    sim = Simulator(world_with(make_item('mortar-82mm', 'uxo_1', 10.0, 0.8, 0.1)), params())
    events = drive(sim, 0.0, flail=0.0)
    # A static track load does not fire a nose fuze except with a small probability.
    assert [e[:2] for e in events] == [('item_damaged', 'uxo_1')]
    assert sim.item_fates()[0].live


def test_clutter_is_not_reported():
    sim = Simulator(world_with(make_item('can', 'can_1', 10.0, 0.0, 0.05)), params())
    assert drive(sim, 0.2) == []


def test_tool_params_replace_roundtrip():
    p = dataclasses.replace(ToolParams(), flail_max_torque_nm=100.0)
    tools = ToolSystem(p)
    spin(tools, ToolCommand(FLAIL, 0.0, 0.1), 0.4, 5.0)
    assert tools.flail.speed == 0.0        # 100 N m cannot turn 10000*0.1*1.6 N m of soil


def test_the_ride_height_sensor_measures_the_depth_below_the_local_ground():
    # The arm at 0.15 m below the track plane; a ridge under the tool raises the local ground
    # by 3 cm: the tool is 18 cm in the soil, the sensor reads that with its noise, and the
    # soil load follows the true depth.
    p = ToolParams(ride_height_noise_m=0.005)
    tools = ToolSystem(p, 1.0, np.random.default_rng(3))
    spin(tools, ToolCommand(FLAIL, 0.0, 0.15), 0.0, 4.0)
    level_load = tools.flail.load_torque
    tools.ground_offset_m = 0.03
    spin(tools, ToolCommand(FLAIL, 0.0, 0.15), 0.0, 1.0)
    assert tools.true_depth == pytest.approx(0.18)
    reads = np.array([tools.state(0.0).depth for _ in range(400)])
    assert reads.mean() == pytest.approx(0.18, abs=0.001)
    assert reads.std() == pytest.approx(0.005, rel=0.15)
    assert tools.flail.load_torque > level_load * 1.15
    # a raised tool reads 0 (no soil under the sensor's skid), without noise
    spin(tools, ToolCommand(FLAIL, 0.0, 0.0), 0.0, 3.0)
    assert tools.state(0.0).depth == 0.0


def test_processed_truth_records_the_depth_below_the_local_ground():
    # A 10 cm hump ahead of the tracks: with the arm at 0.15 m the flail cuts deeper there by
    # the skids' residual share of it, and the simulator's own record says so.
    heights = np.zeros((41, 61))
    heights[:, 13:15] = 0.1                  # x in [8, 10) m
    w = world_with()
    w.terrain = Terrain(heights=heights, origin_x=-5.0, origin_y=-20.0, resolution=1.0)
    sim = Simulator(w, params())
    drive(sim, 0.15, v=0.1, seconds=60.0)    # base_link to ~6 m, the tool over the hump
    x = sim.truth.x + sim.p.tool_offset_x_m
    assert 8.0 < x < 9.5
    offset = sim.tools.ground_offset_m
    assert offset > 0.01
    assert offset == pytest.approx(sim._tool_ground_offset(x, sim.truth.y), abs=1e-3)
    assert sim.tools.true_depth == pytest.approx(0.15 + offset, abs=1e-3)
    assert sim.processed.depth_at(x - 0.1, 0.0) == pytest.approx(0.15 + offset, abs=0.01)
    assert sim.processed.depth_at(3.0, 0.0) == pytest.approx(0.15, abs=0.005)
