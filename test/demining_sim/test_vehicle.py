"""Tracked-vehicle kinematics: straight line, turn in place, limits, slopes, collisions."""

import dataclasses
import math

import numpy as np
import pytest

from demining_bringup.contract.parameters import ParamError
from demining_sim.vehicle import Vehicle, VehicleParams
from demining_bringup.contract.world import Obstacle, Terrain

DT = 0.01
# No random or systematic slip: the ideal-kinematics cases.
IDEAL = VehicleParams(slip_base=0.0, slip_turn_coeff=0.0, slip_slope_coeff=0.0, slip_noise=0.0,
                      skid_yaw_loss=0.0)


def run(vehicle, v, w, seconds):
    events = []
    for _ in range(int(round(seconds / DT))):
        ev = vehicle.step(v, w, DT)
        if ev is not None:
            events.append(ev)
    return events


def make(params=IDEAL, terrain=None, obstacles=(), start=(0.0, 0.0, 0.0)):
    return Vehicle(params, terrain or Terrain(), list(obstacles), start,
                   np.random.default_rng(0))


def ramp_terrain(grade):
    """A plane rising along +x with the given grade (dz/dx)."""
    xs = np.arange(0.0, 201.0, 1.0)
    heights = np.tile(grade * (xs - 100.0), (41, 1))
    return Terrain(heights=heights, origin_x=-100.0, origin_y=-20.0, resolution=1.0)


def test_straight_line_distance_includes_acceleration_ramp():
    veh = make()
    run(veh, 0.5, 0.0, 20.0)
    # 1 s ramp at 0.5 m/s^2 loses 0.25 m against 20 s at 0.5 m/s.
    assert veh.truth.x == pytest.approx(9.75, abs=0.01)
    assert abs(veh.truth.y) < 1e-9
    assert veh.truth.v == pytest.approx(0.5)


def test_heading_is_respected():
    veh = make(start=(1.0, 2.0, math.pi / 2))
    run(veh, 0.5, 0.0, 10.0)
    assert veh.truth.x == pytest.approx(1.0, abs=1e-6)
    assert veh.truth.y == pytest.approx(2.0 + 4.75, abs=0.01)


def test_turn_in_place_keeps_position_and_track_speeds_are_opposite():
    veh = make()
    run(veh, 0.0, 0.3, 5.0)
    # Yaw accel 1 rad/s^2: a 0.3 s ramp loses 0.045 rad.
    assert veh.truth.yaw == pytest.approx(1.5 - 0.045, abs=3e-3)
    assert math.hypot(veh.truth.x, veh.truth.y) < 1e-9
    assert veh.truth.track_left == pytest.approx(-0.3 * 0.8)
    assert veh.truth.track_right == pytest.approx(0.3 * 0.8)


def test_speed_yaw_and_acceleration_limits():
    veh = make()
    run(veh, 0.5 * 10, 0.0, 0.5)
    assert veh.truth.v == pytest.approx(0.25, abs=1e-9)      # 0.5 m/s^2 for 0.5 s
    run(veh, 10.0, 0.0, 5.0)
    assert veh.truth.v == pytest.approx(1.0)                 # max_speed_mps
    veh = make()
    run(veh, 0.0, 10.0, 5.0)
    assert veh.truth.omega == pytest.approx(0.5)             # max_yaw_rate_rps
    veh = make()
    run(veh, -10.0, 0.0, 5.0)
    assert veh.truth.v == pytest.approx(-0.5)                # max_reverse_speed_mps


def test_track_speed_limit_scales_combined_command():
    veh = make()
    run(veh, 1.0, 0.5, 10.0)
    tr = veh.truth
    assert max(abs(tr.track_left), abs(tr.track_right)) == pytest.approx(1.0)
    assert tr.omega / tr.v == pytest.approx(0.5, rel=1e-6)   # curvature kept


def test_slip_grows_with_turning():
    p = VehicleParams(slip_noise=0.0)
    straight = make(p)
    run(straight, 0.5, 0.0, 5.0)
    turning = make(p)
    run(turning, 0.5, 0.4, 5.0)
    assert turning.truth.slip > straight.truth.slip + 0.05
    assert turning.truth.omega < 0.4 * (1 - p.skid_yaw_loss) + 1e-9


def test_uphill_speed_loss_and_pitch():
    flat = make()
    run(flat, 0.5, 0.0, 10.0)
    hill = make(terrain=ramp_terrain(0.2))
    run(hill, 0.5, 0.0, 10.0)
    # Traction: v = v_cmd (1 - uphill_speed_loss sin(slope)).
    expected_v = 0.5 * (1.0 - IDEAL.uphill_speed_loss * math.sin(math.atan(0.2)))
    assert hill.truth.v == pytest.approx(expected_v, rel=1e-3)
    assert hill.truth.x < 0.8 * flat.truth.x
    # Nose up on the climb: REP-103 pitch is negative.
    assert hill.truth.pitch == pytest.approx(-math.atan(0.2), abs=1e-3)
    assert hill.truth.z == pytest.approx(0.2 * hill.truth.x, abs=0.01)
    # Downhill there is no traction loss.
    down = make(terrain=ramp_terrain(0.2), start=(0.0, 0.0, math.pi))
    run(down, 0.5, 0.0, 10.0)
    assert -down.truth.x == pytest.approx(flat.truth.x, rel=0.01)


def test_cannot_climb_above_max_slope():
    steep = make(terrain=ramp_terrain(math.tan(math.radians(35.0))))
    run(steep, 0.5, 0.0, 10.0)
    assert abs(steep.truth.x) < 1e-6
    # It can still turn round and drive down.
    run(steep, 0.0, 0.5, 7.0)
    run(steep, 0.5, 0.0, 5.0)
    assert steep.truth.x < -1.0


def test_roll_on_side_slope_and_downhill_creep():
    # Ground rises to the north (+y): heading east, the left side is up (roll > 0).
    ys = np.arange(0.0, 41.0)
    heights = np.tile((0.2 * (ys - 20.0))[:, None], (1, 201))
    terrain = Terrain(heights=heights, origin_x=-100.0, origin_y=-20.0, resolution=1.0)
    veh = make(params=dataclasses.replace(IDEAL, side_slip_coeff=0.1), terrain=terrain)
    run(veh, 0.5, 0.0, 10.0)
    assert veh.truth.roll == pytest.approx(math.atan(0.2), abs=1e-3)
    assert veh.truth.y < -0.05            # crept downhill (south)


def test_collision_stops_and_reports_once():
    obstacle = Obstacle('tree_1', 10.0, 0.5, 0.4)
    veh = make(obstacles=[obstacle])
    events = run(veh, 1.0, 0.0, 20.0)
    assert events == ['tree_1']
    # The front (x + 3 m) stops at the trunk (x = 9.6).
    assert veh.truth.x == pytest.approx(10.0 - 0.4 - 3.0, abs=0.02)
    assert veh.truth.v == 0.0 and veh.truth.blocked
    # Reversing away works and re-arms the event.
    run(veh, -0.5, 0.0, 4.0)
    assert veh.truth.x < 5.5 and not veh.truth.blocked
    assert run(veh, 1.0, 0.0, 10.0) == ['tree_1']


def test_obstacle_beside_the_path_is_not_hit():
    veh = make(obstacles=[Obstacle('rock', 10.0, 1.6, 0.4)])   # 1.1 m + 0.4 < 1.6 m
    assert run(veh, 1.0, 0.0, 20.0) == []
    assert veh.truth.x > 15.0


def test_params_cross_check():
    with pytest.raises(ParamError):
        VehicleParams(width_m=1.5, track_gauge_m=1.6)
