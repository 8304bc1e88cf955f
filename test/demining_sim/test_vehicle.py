"""Tracked-vehicle kinematics: straight line, turn in place, limits, slopes, collisions
(cylinders and boxes), true acceleration."""

import dataclasses
import math

import numpy as np
import pytest

from shapely.geometry import Polygon

from demining_bringup.contract.parameters import ParamError
from demining_bringup.contract.sdf import load_world
from demining_sim.vehicle import Vehicle, VehicleParams, rect_gap
from demining_sim.worlds_index import find_world
from demining_bringup.contract.world import Obstacle, Terrain

DT = 0.01
# No random or systematic slip: the ideal-kinematics cases.
IDEAL = VehicleParams(slip_base=0.0, slip_turn_coeff=0.0, slip_slope_coeff=0.0, slip_noise=0.0,
                      skid_yaw_loss=0.0, shear_deformation_modulus_m=0.0)


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
    grippy = dataclasses.replace(IDEAL, traction_coefficient=0.9)
    steep = make(params=grippy, terrain=ramp_terrain(math.tan(math.radians(35.0))))
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


# --- box obstacles -------------------------------------------------------------------------
# The hull is 6.0 m x 2.2 m (half sizes 3.0 and 1.1).


def irregular_area_obstacles():
    """The obstacles of the shipped irregular_area world (ruin walls are SDF boxes)."""
    return load_world(find_world('irregular_area')).obstacles


def test_irregular_area_walls_are_boxes():
    walls = {o.name: o for o in irregular_area_obstacles() if o.name.startswith('ruin_wall')}
    w1, w2 = walls['ruin_wall_1'], walls['ruin_wall_2']
    assert (w1.shape, w1.x, w1.y, w1.yaw) == ('box', 12.5, 20.5, 0.0)
    assert (w1.length, w1.width) == (8.0, 0.5)
    assert (w2.shape, w2.length, w2.width) == ('box', 7.0, 0.5)
    assert w2.yaw == pytest.approx(math.pi / 2)


@pytest.mark.parametrize('gap, hit', [(1.15, False), (0.02, False), (-0.02, True)])
def test_driving_past_the_irregular_area_ruin_wall(gap, hit):
    # ruin_wall_1: 8 m x 0.5 m at (12.5, 20.5), yaw 0, so its south face is y = 20.25. Driving
    # east with the hull's north side ``gap`` below that face.
    y = 20.25 - 1.1 - gap
    veh = make(obstacles=irregular_area_obstacles(), start=(0.0, y, 0.0))
    events = run(veh, 1.0, 0.0, 30.0)
    if hit:
        # The front (x + 3 m) stops at the wall's west end (x = 8.5).
        assert events == ['ruin_wall_1']
        assert veh.truth.x == pytest.approx(8.5 - 3.0, abs=0.015) and veh.truth.blocked
    else:
        assert events == [] and veh.truth.x > 25.0 and not veh.truth.blocked


def test_the_wall_bounding_circle_would_have_stopped_the_vehicle():
    # The false collision of issue 10: the same pass at 1.15 m against the wall's bounding
    # circle (radius 4.008 m reaches 2.5 - 1.1 = 1.4 m from the hull's side).
    wall = next(o for o in irregular_area_obstacles() if o.name == 'ruin_wall_1')
    circle = Obstacle('circle', wall.x, wall.y, wall.radius)
    veh = make(obstacles=[circle], start=(0.0, 20.25 - 1.1 - 1.15, 0.0))
    assert run(veh, 1.0, 0.0, 30.0) == ['circle']


def test_driving_into_the_irregular_area_walls_collides():
    # Head on into ruin_wall_1's south face (y = 20.25): the front stops there.
    veh = make(obstacles=irregular_area_obstacles(), start=(12.5, 10.0, math.pi / 2))
    assert run(veh, 1.0, 0.0, 20.0) == ['ruin_wall_1']
    assert veh.truth.y == pytest.approx(20.25 - 3.0, abs=0.015)
    assert veh.truth.v == 0.0 and veh.truth.blocked
    # Reversing away re-arms the contact, as for a cylinder.
    run(veh, -0.5, 0.0, 4.0)
    assert veh.truth.y < 16.0 and not veh.truth.blocked
    assert run(veh, 1.0, 0.0, 10.0) == ['ruin_wall_1']
    # ruin_wall_2 is the SDF box rotated by 90 deg (7 m along y at x = 8.5): its west face
    # is x = 8.25.
    veh = make(obstacles=irregular_area_obstacles(), start=(0.0, 24.0, 0.0))
    assert run(veh, 1.0, 0.0, 20.0) == ['ruin_wall_2']
    assert veh.truth.x == pytest.approx(8.25 - 3.0, abs=0.015)


def slab(y, name='slab'):
    """A 6 m x 0.4 m box at (12, y), its long side at 45 deg."""
    return Obstacle(name, 12.0, y, math.hypot(6.0, 0.4) / 2.0, shape='box', length=6.0,
                    width=0.4, yaw=math.pi / 4)


def test_rotated_box_stops_the_hull_where_its_face_is():
    # Driving east along y = 0: the slab's face v = 0.2 m (v = (dy - dx) / sqrt(2)) is the line
    # dx = dy - 0.2 sqrt(2); within the hull's width (|dy| <= 1.1) it is nearest at dy = -1.1,
    # where the hull's front right corner meets it: front x = 12 - 1.1 - 0.2 sqrt(2).
    veh = make(obstacles=[slab(0.0)])
    assert run(veh, 1.0, 0.0, 20.0) == ['slab']
    assert veh.truth.x == pytest.approx(12.0 - 1.1 - 0.2 * math.sqrt(2.0) - 3.0, abs=0.015)
    # The bounding circle (radius 3.013 m) would have stopped it 1.6 m earlier.
    assert veh.truth.x > 12.0 - 3.013 - 3.0 + 1.5


def test_rotated_box_beside_the_path():
    # The slab's lowest corner is 3.2 / sqrt(2) = 2.263 m below its centre: centred 3.6 m
    # from the path it clears the hull's side (1.1 m) by 0.237 m although its bounding
    # circle (3.013 m) does not; centred 3.2 m it does not clear it.
    veh = make(obstacles=[slab(3.6)])
    assert run(veh, 1.0, 0.0, 25.0) == [] and veh.truth.x > 20.0
    veh = make(obstacles=[slab(3.2)])
    assert run(veh, 1.0, 0.0, 25.0) == ['slab']


def test_rect_gap_agrees_with_shapely():
    rng = np.random.default_rng(3)

    def poly(cx, cy, yaw, hl, hw):
        c, s = math.cos(yaw), math.sin(yaw)
        return Polygon([(cx + c * a - s * b, cy + s * a + c * b)
                        for a, b in ((hl, hw), (-hl, hw), (-hl, -hw), (hl, -hw))])

    for _ in range(2000):
        y1, y2 = rng.uniform(-math.pi, math.pi, 2)
        hl1, hw1, hl2, hw2 = rng.uniform(0.1, 4.0, 4)
        dx, dy = rng.uniform(-8.0, 8.0, 2)
        gap = rect_gap(math.cos(y1), math.sin(y1), hl1, hw1, dx, dy, math.cos(y2),
                       math.sin(y2), hl2, hw2)
        a, b = poly(0.0, 0.0, y1, hl1, hw1), poly(dx, dy, y2, hl2, hw2)
        distance = a.distance(b)
        if abs(gap) > 1e-9:
            assert (gap < 0.0) == a.intersects(b)
        # A lower bound of the distance (SAT), exact when the nearest feature is an edge.
        assert gap <= distance + 1e-9
        if gap < 0.0:
            assert distance == 0.0


def test_box_obstacle_axis_aligned_gap_is_exact():
    # Face to face the separating-axis gap is the distance: an 8 m x 0.5 m wall centred
    # (1, 2.5) from the hull is 2.5 - 0.25 - 1.1 = 1.15 m from its side.
    veh = make(obstacles=[])
    box = (1.0, 0.0, 4.0, 0.25)
    assert veh._clearance(0.0, 0.0, 0.0, 1.0, 2.5, 4.0, box) == pytest.approx(1.15)
    assert veh._clearance(0.0, 0.0, 0.0, 12.5, 2.5, 4.0, box) == pytest.approx(5.5)
    # A cylinder of radius 4 m there overlaps the hull by 4 - 1.4 = 2.6 m (unchanged).
    assert veh._clearance(0.0, 0.0, 0.0, 1.0, 2.5, 4.0) == pytest.approx(1.4 - 4.0)


# --- true acceleration ---------------------------------------------------------------------


def test_acceleration_is_the_true_speed_change():
    veh = make(params=dataclasses.replace(IDEAL, slip_base=0.1))
    veh.step(1.0, 0.0, DT)
    # The sprockets speed up at 0.5 m/s^2; the ground moves 10 % less.
    assert veh.truth.accel == pytest.approx(0.5 * 0.9)
    # 35 deg: beyond the drive's climb limit (30 deg), within the grip of a 0.9 traction soil.
    steep = make(params=dataclasses.replace(IDEAL, traction_coefficient=0.9),
                 terrain=ramp_terrain(math.tan(math.radians(35.0))))
    for _ in range(50):
        steep.step(1.0, 0.0, DT)
        assert steep.truth.accel == 0.0 and steep.truth.v == 0.0
    assert steep.truth.track_left > 0.2             # the tracks spin
    blocked = make(obstacles=[Obstacle('tree_1', 4.0, 0.0, 0.4)])
    run(blocked, 1.0, 0.0, 5.0)
    assert blocked.truth.blocked
    for _ in range(50):
        blocked.step(1.0, 0.0, DT)
        assert blocked.truth.accel == 0.0


def test_slides_back_on_a_slope_beyond_grip():
    # Loam (traction 0.6, friction angle 31 deg): on 35 deg the tracks cannot hold the machine.
    slope = math.radians(35.0)
    steep = make(terrain=ramp_terrain(math.tan(slope)))
    assert steep.mu == pytest.approx(0.6)
    run(steep, 0.5, 0.0, 2.0)
    expected_a = 9.80665 * (math.sin(slope) - 0.6 * math.cos(slope))
    assert steep.truth.v == pytest.approx(-expected_a * 2.0, rel=0.02)
    assert steep.truth.x < 0.0
    # Within grip (25 deg) it holds still when not driven.
    held = make(terrain=ramp_terrain(math.tan(math.radians(25.0))))
    run(held, 0.0, 0.0, 2.0)
    assert held.truth.x == 0.0


def test_per_track_slip_in_a_turn_and_soil_traction():
    p = dataclasses.replace(IDEAL, shear_deformation_modulus_m=0.025)
    turning = make(p)
    run(turning, 0.3, 0.3, 3.0)
    # Turning left: the right (outer) track drives against the turning resistance, the left
    # brakes: both slip; in wet clay (less grip) more than in loam.
    assert turning.slip_right > 0.0 and turning.slip_left > 0.0
    clay = Vehicle(p, Terrain(), [], (0.0, 0.0, 0.0), np.random.default_rng(0), 'wet_clay')
    run(clay, 0.3, 0.3, 3.0)
    assert clay.mu < turning.mu
    assert clay.slip_right > turning.slip_right
    # The tool's drag in the soil raises the slip of straight driving.
    free, dragging = make(p), make(p)
    dragging.tool_force = 20000.0
    run(free, 0.4, 0.0, 3.0)
    run(dragging, 0.4, 0.0, 3.0)
    assert dragging.slip_left > free.slip_left
    assert dragging.truth.x < free.truth.x


def test_a_turn_beyond_the_grip_is_not_made_and_the_machine_drives_on():
    # A gentle steering correction (0.08 rad/s at 0.4 m/s) with the flail's drag. In loam the
    # outer track pays for the turning resistance and the machine turns; in wet clay it cannot
    # (Wong 2008, ch. 7: steerability), so it keeps its heading nearly and its speed: it used
    # to spin both tracks at 90 % slip and crawl at 0.04 m/s (a lane of wet clay took 324 s
    # instead of 38 s in bench/perception.py's field).
    p = dataclasses.replace(IDEAL, shear_deformation_modulus_m=0.025)
    loam = Vehicle(p, Terrain(), [], (0.0, 0.0, 0.0), np.random.default_rng(0), 'loam')
    clay = Vehicle(p, Terrain(), [], (0.0, 0.0, 0.0), np.random.default_rng(0), 'wet_clay')
    for veh in (loam, clay):
        veh.tool_force = 0.05 * p.mass_kg * 9.80665
        run(veh, 0.4, 0.08, 10.0)
    assert loam.truth.omega == pytest.approx(0.08, rel=0.1)
    assert clay.truth.v > 0.35
    assert 0.0 < clay.truth.omega < 0.5 * loam.truth.omega
    assert max(clay.slip_left, clay.slip_right) < 0.1
    # Turning in place in clay is slow but still made.
    pivot = Vehicle(p, Terrain(), [], (0.0, 0.0, 0.0), np.random.default_rng(0), 'wet_clay')
    run(pivot, 0.0, 0.3, 10.0)
    assert pivot.truth.yaw > 0.2
    assert math.hypot(pivot.truth.x, pivot.truth.y) < 1e-6
