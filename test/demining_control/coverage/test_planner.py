"""Tests of the boustrophedon coverage planner."""

import dataclasses
import math
import os

from hypothesis import assume, given, settings, strategies as st
import numpy as np
import pytest
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.ops import unary_union

from demining_bringup.contract.area import HazardArea
from demining_bringup.contract.parameters import ParamError, from_dict
from demining_control.coverage.allowed import ContactParams, check_path, geofence, metres_outside
from demining_control.coverage.lead_in import blind_pivots, head_presses
from demining_control.coverage.no_go import disc_polygon, footprint
from demining_control.coverage import planner as planner_module
from demining_control.coverage.planner import (_CORNER_RUNS_M, _EXCLUSION_PENALTY,
                                               GEOMETRY_FALLBACK, NO_HEADLAND, CoverageParams,
                                               Lane, PlanningError, _facing, _lowers_at,
                                               _Planner, _retraces_in_reverse, auto_lane_angle,
                                               classify_work, lane_footprints, lane_strips,
                                               lead_geometry, plan_coverage, without_slivers)
from demining_control.coverage.requests import read_request
from demining_sim import shapes

RECT = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
#: Lanes past the boundary, turns outside: the planner with safe surroundings.
OUTSIDE = CoverageParams(headland_passes='0')
L_SHAPE = [(0.0, 0.0), (40.0, 0.0), (40.0, 15.0), (15.0, 15.0), (15.0, 35.0), (0.0, 35.0)]
ZONE = [(25.0, 3.0), (30.0, 3.0), (30.0, 8.0), (25.0, 8.0)]


def _covered_fraction(field, plan, zones=()):
    region = Polygon(field)
    for z in zones:
        region = region.difference(Polygon(z))
    return lane_footprints(plan, 2.0).intersection(region).area / region.area


def test_rectangle_is_covered_with_the_expected_lanes():
    plan = plan_coverage(RECT, [], (-5.0, -5.0), OUTSIDE)
    assert _covered_fraction(RECT, plan) >= 0.995
    # auto picks lanes along the 30 m side: ceil((20 - 2) / 1.8) + 1 = 11 .. 12 lanes
    assert abs(math.sin(plan.lane_angle_rad)) < 1e-9
    assert len(plan.lanes) == 12
    assert plan.lane_spacing_m == pytest.approx(1.8)
    # the first lane is half a spacing inside the edge nearest the start
    assert plan.lanes[0].start[1] == pytest.approx(0.9)
    # lanes are extended by tool offset + margin past both boundaries
    xs = sorted([plan.lanes[0].start[0], plan.lanes[0].end[0]])
    assert xs == pytest.approx([-3.6, 33.6])
    # the path starts at the vehicle and goes to the nearest lane end
    assert tuple(plan.waypoints[0]) == (-5.0, -5.0)
    assert plan.lanes[0].start == pytest.approx((-3.6, 0.9))
    # dense waypoints and a plausible time estimate
    assert np.max(np.hypot(*np.diff(plan.waypoints, axis=0).T)) <= 0.5 + 1e-9
    steps = np.hypot(*np.diff(plan.waypoints, axis=0).T)
    assert plan.length_m == pytest.approx(np.sum(steps), rel=1e-6)
    assert plan.expected_time_s > plan.work_length_m / 0.4
    assert plan.transit_over_unprocessed_m == pytest.approx(0.0)


def test_work_flags_mark_lanes_and_not_turns():
    plan = plan_coverage(RECT, [], (-5.0, -5.0), OUTSIDE)
    inside = (plan.waypoints[:, 0] > 0.5) & (plan.waypoints[:, 0] < 29.5)
    assert plan.work[inside].all()
    assert not plan.work[0]          # approach from the start is a transit
    assert not plan.work.all()


def test_l_shape_is_covered():
    plan = plan_coverage(L_SHAPE, [], (-5.0, -5.0))
    assert _covered_fraction(L_SHAPE, plan) >= 0.995


def test_rotated_field_and_given_angle():
    rot = [(x * math.cos(0.5) - y * math.sin(0.5), x * math.sin(0.5) + y * math.cos(0.5))
           for x, y in RECT]
    plan = plan_coverage(rot, [], None)
    assert plan.lane_angle_rad == pytest.approx(0.5)
    assert _covered_fraction(rot, plan) >= 0.995
    plan90 = plan_coverage(RECT, [], None, CoverageParams(lane_angle_deg='90',
                                                          headland_passes='0'))
    assert len(plan90.lanes) == 17      # lanes along the short side: more of them
    assert _covered_fraction(RECT, plan90) >= 0.995


def test_auto_angle_prefers_fewest_lanes():
    assert abs(math.sin(auto_lane_angle(Polygon([(0, 0), (5, 0), (5, 40), (0, 40)])))) == \
        pytest.approx(1.0)


def test_exclusion_zone_is_respected():
    plan = plan_coverage(L_SHAPE, [ZONE], (-5.0, -5.0))
    zone = Polygon(ZONE)
    # neither the tool footprint nor the vehicle's path enters the zone
    assert lane_footprints(plan, 2.0).intersection(zone).area == pytest.approx(0.0, abs=1e-6)
    assert not LineString(plan.waypoints).intersects(zone)
    # coverage drops only by the zone's clearance ring and the wedges beside it
    # coverage drops only by the zone's clearance ring, the stop short of it for the machine's
    # front, and the wedges beside it
    assert _covered_fraction(L_SHAPE, plan, [ZONE]) >= 0.955


@pytest.mark.parametrize('field, text', [
    ([(0, 0), (1, 1)], 'at least 3 points'),
    ([(0, 0), (10, 10), (10, 0), (0, 10)], 'invalid polygon'),
    ([(0, 0), (1, 0), (2, 0)], 'invalid polygon'),
    ([(0, 0), (float('nan'), 0), (0, 5)], 'finite'),
])
def test_invalid_polygon_is_a_clear_error(field, text):
    with pytest.raises(PlanningError, match=text):
        plan_coverage(field)


def test_zone_covering_the_field_is_an_error():
    with pytest.raises(PlanningError, match='nothing to cover'):
        plan_coverage(RECT, [[(-1, -1), (31, -1), (31, 21), (-1, 21)]])


def test_bad_lane_angle_parameter():
    with pytest.raises(ParamError):
        from_dict(CoverageParams, {'lane_angle_deg': 'north'})
    with pytest.raises(ParamError):
        from_dict(CoverageParams, {'overlap': 0.9})


def test_classify_work():
    xy = np.array([[5.0, 5.0], [10.0, 5.0], [-20.0, 5.0], [-30.0, 5.0]])
    assert classify_work(xy, RECT, 4.0).tolist() == [True, False, False, False]
    assert Point(0, 0).distance(Point(3, 4)) == 5.0


#: Yaw step of a replayed pivot, rad; distance step along a replayed leg, m.
_PIVOT_STEP_RAD = 0.05
_LEG_STEP_M = 0.25


def _deeper_anywhere(plan, zones, p, work_only=False):
    """Poses where the supervisor's footprint would be deeper in a zone than the pose before.

    The plan is replayed as the follower drives it: a straight leg at the waypoint's facing,
    and a pivot in place wherever the facing changes (ring corners, lane ends, run-ins).
    """
    import shapely
    from demining_control.coverage.no_go import footprint
    zu = unary_union(zones)
    wp, facing, work = plan.waypoints, plan.facing, plan.work
    poses = []                      # (x, y, yaw, leg index)
    prev = facing[0]
    for i in range(len(wp) - 1):
        a, b = wp[i], wp[i + 1]
        if math.dist(a, b) < 1e-9:
            continue
        d = math.atan2(math.sin(facing[i] - prev), math.cos(facing[i] - prev))
        n = int(abs(d) / _PIVOT_STEP_RAD) + 1
        poses += [(a[0], a[1], prev + d * k / n, i) for k in range(1, n + 1)]
        prev = facing[i]
        for t in np.linspace(0.0, 1.0, max(2, int(math.dist(a, b) / _LEG_STEP_M) + 1))[1:]:
            x, y = a + t * (b - a)
            poses.append((x, y, facing[i], i))
    areas = shapely.area(shapely.intersection(
        [footprint(x, y, yaw, p.footprint_rear_m, p.footprint_front_m,
                   p.footprint_half_width_m) for x, y, yaw, _ in poses], zu))
    return [(round(x, 1), round(y, 1)) for (x, y, _, i), before, now in
            zip(poses[1:], areas[:-1], areas[1:])
            if now > before + 1e-3 and (work[i] or not work_only)]


def _at_field(seed):
    """A random rectangle with 1-4 AT no-go discs, safe surroundings, half its lanes
    processed, re-planned from beside it (the component's re-plan round a new zone)."""
    from demining_control.coverage.no_go import disc_polygon
    rng = np.random.default_rng(seed)
    w, h = rng.uniform(15, 40), rng.uniform(8, 25)
    discs = [disc_polygon(rng.uniform(0, w), rng.uniform(0, h), 1.16)
             for _ in range(rng.integers(1, 5))]
    safe = box(-12, -12, w + 12, h + 12).difference(box(0, 0, w, h))
    strips = [box(0, y, w, y + 1.8) for y in np.arange(0, h, 1.8) if rng.uniform() < 0.5]
    p = CoverageParams()
    plan = plan_coverage([(0, 0), (w, 0), (w, h), (0, h)], [], (w + 5, h / 2), p,
                         processed=unary_union(strips) if strips else None, safe_ground=safe,
                         no_go_zones=[list(d.exterior.coords)[:-1] for d in discs])
    return plan, discs, p


@pytest.mark.parametrize('seed', [4, 6, 10])
def test_no_work_leg_drives_the_footprint_into_a_zone(seed):
    """Between two zones too close for the hull to start clear of one and the flail to stop
    short of the other, a lane used to be built running backwards, 4 m into a zone, and a pass
    along one zone's edge could end with the flail in the next: the supervisor then refuses
    every command. Random fields with AT no-go discs, half their lanes processed."""
    plan, discs, p = _at_field(seed)
    assert _deeper_anywhere(plan, discs, p, work_only=True) == []


@pytest.mark.parametrize('seed', range(64))
def test_no_pose_drives_the_footprint_into_a_zone(seed):
    """Nor a pivot or a transit: a ring round one disc that passes its neighbour, a turn onto
    a lane that starts beside a disc, a sub-plan's lane run past a gap's end into the zone
    beyond it, a pivot where a transit meets a detour ring all used to swing or drive the
    footprint's front into a zone (seeds 4, 6, 21, 27, 31, 39 among these), and a disc at
    the field's edge reaching into declared safe ground was taken as safe there (seed 60)."""
    plan, discs, p = _at_field(seed)
    assert _deeper_anywhere(plan, discs, p) == []


def test_a_gap_beside_a_zone_gets_lanes_past_the_zone_pass():
    """On irregular_area the headland passes are cut near the road (an exclusion zone) and
    the gap there reaches the field's edge 3 m away: a pass along the road covered 2.6 m of
    it and the gap re-cover stopped there (60 m^2, 5.8 % of the workable ground, left). What
    a zone pass leaves of a gap now gets lanes of its own; what is left is reported."""
    import os
    from demining_bringup.contract.area import load_area
    from demining_bringup.contract.sdf import load_world
    from demining_control.coverage.planner import _Planner
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    path = os.path.join(root, 'demining_sim', 'worlds', 'irregular_area.sdf')
    area, start = load_area(path), load_world(path).vehicle_start
    p = CoverageParams()
    safe = area.safe_ground()
    plan = plan_coverage(area.field, area.exclusion_zones, start[:2], p, safe_ground=safe)
    workable = _Planner(area.field, area.exclusion_zones, p, None, safe).workable
    left = workable.difference(lane_footprints(plan, p.tool_width_m))
    reported = unary_union([g for g, _ in plan.unplanned]) if plan.unplanned else Polygon()
    assert left.area <= 0.02 * workable.area
    # and what is left is in the report, with its reason
    assert left.difference(reported.buffer(0.1)).area <= 1.0
    assert all(reason for _, reason in plan.unplanned)


def test_a_transit_across_a_row_of_holes_goes_round_each():
    """A straight transit across a crater field met several clusters of zones, and going
    round one alone left the leg through the next (the 5 ha cratered field's plan drove
    77 m through craters: 4 keep-out entries in bench/coverage.py)."""
    from shapely.geometry import Polygon as Poly
    from demining_control.coverage.no_go import disc_polygon
    from demining_control.coverage.planner import _Planner
    discs = [list(disc_polygon(x, 10.0, 1.5).exterior.coords)[:-1] for x in (30, 50, 70)]
    planner = _Planner([(0, 0), (100, 0), (100, 20), (0, 20)], discs, CoverageParams())
    planner._rings = []
    pts, _, _ = planner.transit((10.0, 10.0), (90.0, 10.0), Poly())
    assert planner._keep_out_m(pts) == 0.0
    assert LineString(pts).length < 1.3 * 80.0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(5.0, 45.0), st.floats(2.0, 18.0), st.floats(0.5, 3.0)),
                min_size=1, max_size=12),
       st.lists(st.tuples(st.floats(-5.0, 55.0), st.floats(-5.0, 25.0)), min_size=2,
                max_size=6))
def test_keep_out_metres_are_the_footprints_area_in_the_zones_union(discs, pts):
    """The keep-out metres of a drive (its footprint's area in the keep-out ground across the
    machine's width) are summed over the zones' disjoint pieces each swept part meets: the
    same as the overlay with the whole union, with and without the clearance, for any zones
    (overlapping ones merge) and any drive."""
    from demining_control.coverage.planner import _Planner
    zones = [list(disc_polygon(x, y, r).exterior.coords)[:-1] for x, y, r in discs]
    p = CoverageParams()
    planner = _Planner([(0, 0), (50, 0), (50, 20), (0, 20)], zones, p)
    parts = planner._swept_parts(pts)
    for clearance, zone in ((False, planner.zone_block), (True, planner.zone_judge)):
        whole = (float(np.sum(shapely.area(shapely.intersection(parts, zone))))
                 / (2.0 * p.footprint_half_width_m) if len(parts) else 0.0)
        turns = planner._keep_out_m(pts, clearance=clearance) - whole
        # what is left is the pivots' count, whole multiples of the turn penalty
        assert turns >= -1e-9
        assert turns / planner_module._TURN_HIT_M == pytest.approx(
            round(turns / planner_module._TURN_HIT_M), abs=1e-6)


def test_ground_cut_off_by_a_zone_is_never_nothing_left():
    """mixed_field: false AT zones round the start cut the field off; the planner said
    'nothing left' and the mission completed at 0.8 %."""
    from demining_control.coverage.planner import CUT_OFF, NOTHING_LEFT
    field = [(0, 0), (40, 0), (40, 20), (0, 20)]
    wall = [(15, -15), (17, -15), (17, 35), (15, 35)]        # a keep-out road across it
    west = box(-20, -20, 15, 40)
    with pytest.raises(PlanningError) as err:
        plan_coverage(field, [wall], (5.0, 10.0), CoverageParams(), processed=west)
    assert str(err.value) == CUT_OFF
    with pytest.raises(PlanningError) as err:
        plan_coverage(field, [wall], (5.0, 10.0), CoverageParams(),
                      processed=box(-20, -20, 60, 40))
    assert str(err.value) == NOTHING_LEFT


def _edge_disc_field():
    """A 12 x 8 m field with safe surroundings and an AT no-go disc 5 cm from its south edge
    (the whole-mission tests' small generated field then, a shallow mine read as AT)."""
    from demining_control.coverage.no_go import disc_polygon
    field = [(0, 0), (12, 0), (12, 8), (0, 8)]
    disc = disc_polygon(9.4, 1.2, 1.15)
    safe = box(-10, -10, 22, 18).difference(box(0, 0, 12, 8))
    return field, disc, safe


def _left_beside(plan, field, disc, p, processed=None):
    """Ground the plan leaves unprocessed that is not within the tool's clearance of the zone."""
    from shapely.geometry import Polygon as Poly
    done = unary_union([lane_footprints(plan, p.tool_width_m)]
                       + ([processed] if processed is not None else []))
    return Poly(field).difference(disc.buffer(p.exclusion_clearance_m)).difference(done)


def test_the_ground_round_a_zone_at_the_field_edge_is_covered_by_tangent_passes():
    """The lanes stop short of a disc by the machine's front; the band they leave round it
    was one C-shaped gap no lane fitted (9.8 m^2 of a 96 m^2 field left, 'no lane fits the
    area'), and passes along the disc's own 1 m edges covered little of it. Passes along the
    sides of the zone's box, the tool tangent to its clearance, cover the sides; the tool's
    strip of a pass is where the tool goes, ``tool_offset_x_m`` ahead of the base."""
    field, disc, safe = _edge_disc_field()
    p = CoverageParams()
    plan = plan_coverage(field, [], (-8.0, 1.0), p, safe_ground=safe,
                         no_go_zones=[list(disc.exterior.coords)[:-1]])
    assert _left_beside(plan, field, disc, p).area < 2.0
    assert _deeper_anywhere(plan, [disc], p) == []


def test_a_gap_is_re_covered_when_every_lane_is_processed():
    """A zone found on the last lane: every lane was processed, the planner said 'nothing
    left' before its gap re-cover, and the mission completed with the strip beside the zone
    unprocessed (8 m^2 of the small field)."""
    from demining_control.coverage.planner import MIN_GAP_M2, NOTHING_LEFT
    field, disc, safe = _edge_disc_field()
    p = CoverageParams()
    # processed: everything but the zone's clearance and a 1 m strip east of it
    processed = box(0, 0, 12, 8).difference(disc.buffer(p.exclusion_clearance_m + 1.0)
                                            .intersection(box(10.5, 0, 12, 8)))
    processed = processed.difference(disc.buffer(p.exclusion_clearance_m))
    plan = plan_coverage(field, [], (6.0, 4.0), p, processed=processed, safe_ground=safe,
                         no_go_zones=[list(disc.exterior.coords)[:-1]])
    assert plan.work.any()
    before = Polygon(field).difference(disc.buffer(p.exclusion_clearance_m)).difference(
        processed)
    left = _left_beside(plan, field, disc, p, processed)
    # the box corners beside the disc are wedges no pass reaches: reported (but slivers)
    assert left.area < 0.4 * before.area
    assert plan.unplanned and left.difference(
        unary_union([g for g, _ in plan.unplanned]).buffer(0.1)).area < MIN_GAP_M2
    # with that strip processed too, nothing is left
    with pytest.raises(PlanningError, match=NOTHING_LEFT):
        plan_coverage(field, [], (6.0, 4.0), p, processed=processed.union(box(10.5, 0, 12, 8)),
                      safe_ground=safe, no_go_zones=[list(disc.exterior.coords)[:-1]])


def test_a_transit_is_a_work_leg_only_where_it_crosses_unprocessed_ground():
    """The tool is raised on transits, but where a transit crosses ground not processed yet
    (the base, or the tool line 2.6 m ahead) the tool must process it first (the supervisor's
    interlock): such legs are work legs. Over processed ground and outside the field the tool
    stays up, so a buried tiller is not dragged round the curves of a transit."""
    from demining_control.coverage.planner import _Planner
    p = CoverageParams()
    planner = _Planner([(0, 0), (20, 0), (20, 10), (0, 10)], [], p,
                       processed=box(-1, -1, 10, 11))
    xs = np.arange(-6.0, 16.01, 0.5)
    xy = np.column_stack([xs, np.full(len(xs), 5.0)])
    work = planner._crosses_unprocessed(xy, np.zeros(len(xy), dtype=bool))
    tool_x = xs[:-1] + p.tool_offset_x_m            # the tool ahead on each leg (eastwards)
    assert not work[:-1][tool_x + 0.5 < 10.0].any()         # tool over processed / outside
    assert work[:-1][xs[:-1] > 10.0].all()                  # the base on unprocessed ground
    assert work[:-1][(tool_x > 10.5) & (xs[:-1] < 10.0)].all()   # the tool reaches it first
    # a reverse leg never is (backing out over processed ground, the tool raised)
    assert not planner._crosses_unprocessed(xy, np.ones(len(xy), dtype=bool)).any()
    # a transit beside a processed lane whose tool end reaches unprocessed ground is work
    # (base and tool centre over the processed strip, the tool's end, inset 0.15 m, at 10.35)
    side = np.column_stack([xs, np.full(len(xs), 9.5)])
    planner = _Planner([(0, 0), (20, 0), (20, 12), (0, 12)], [], p,
                       processed=box(-1, -1, 21, 10.0))
    assert planner._crosses_unprocessed(side, np.zeros(len(side), dtype=bool))[10:-1].all()


@pytest.mark.parametrize('margin', [4.0, 6.0])
@pytest.mark.parametrize('start,zone_at', [((22.5, 2.0), (23.0, 6.0)),
                                           ((22.0, 1.0), (21.5, 5.0))])
def test_a_transit_round_a_no_go_zone_keeps_inside_the_geofence(margin, start, zone_at):
    # The machine turns outside a field without declared surroundings and its boom finds an
    # AT mine there: the shorter way round the zone ran past the supervisor's fence and the
    # re-plan was refused, which ended the mission (rugged_terrain at 8 % done).
    field = [(0.0, 0.0), (20.0, 0.0), (20.0, 12.0), (0.0, 12.0)]
    fence = geofence(field, None, margin)
    zone = list(Point(*zone_at).buffer(1.2, 16).exterior.coords)[:-1]
    plan = plan_coverage(field, [], start, CoverageParams(), no_go_zones=[zone], fence=fence)
    assert metres_outside(plan.waypoints, fence) <= 0.05     # the planner node's tolerance
    assert not LineString(np.asarray(plan.waypoints)[:, :2]).intersects(Polygon(zone))


def test_a_headland_pass_cut_short_is_finished_not_driven_again_whole():
    # everything processed but 10 m of the outer pass along the north edge (a stop there)
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    hole = box(8.0, 18.0, 18.0, 20.0)
    p = CoverageParams()
    plan = plan_coverage(field, [], (2.0, 10.0), p, processed=Polygon(field).difference(hole))
    assert _covered_fraction(field, plan) > 0.0
    assert lane_footprints(plan, p.tool_width_m).intersection(hole).area >= 0.95 * hole.area
    # the 10 m stretch, run in and out by the tool's offset: not the pass's 96 m again
    assert plan.work_length_m < hole.bounds[2] - hole.bounds[0] + 4.0 * p.tool_offset_x_m


def test_a_replan_round_a_mine_on_the_headland_keeps_the_machine_inside_the_field():
    # A TM-62 found on the outer headland pass of a 16 x 8 m field with nothing declared
    # safe round it: the processed ground is the pass's patches that were done (its corners
    # and a stretch were not: the tool lifts in pivots). The re-plan's gap lanes and its
    # transit round the no-go zone once ran 3.6-4.3 m out of the field, onto unknown ground.
    field = [(0.0, 0.0), (16.0, 0.0), (16.0, 8.0), (0.0, 8.0)]
    done = unary_union([box(0.0, 3.6, 2.0, 8.0), box(3.6, 6.0, 16.0, 8.0),
                        box(14.0, 0.0, 16.0, 4.5), box(0.3, 0.0, 3.6, 2.0),
                        box(11.0, 0.0, 12.5, 2.0)])
    disc = Point(10.0, 1.0).buffer(1.2)
    plan = plan_coverage(field, [], (15.6, 1.2), CoverageParams(), processed=done,
                         no_go_zones=[list(disc.exterior.coords)[:-1]])
    # it leaves the field only to turn a corner of a headland pass (a bulb turn: the pivots
    # outside, not on the field's unprocessed ground), never round the zone
    _only_corner_turns_outside(LineString(plan.waypoints), Polygon(field), field,
                               plan.lead_ins.outside)
    assert LineString(plan.waypoints).distance(disc) > 0.0


def _only_corner_turns_outside(path, allowed, corners, back_ups=()):
    """Assert that every piece of ``path`` outside ``allowed`` is a corner's bulb turn or one
    of the plan's back-ups out of the field (``plan.lead_ins.outside``: straight back from a
    lowering, no longer than a lead band)."""
    outside = path.difference(allowed.buffer(0.1))
    reach = lead_geometry(CoverageParams()).max_back_m + 1e-6
    for piece in getattr(outside, 'geoms', [outside]):
        if piece.is_empty or any(max(Point(where).distance(Point(c)) for c in piece.coords)
                                 <= reach for where, _ in back_ups):
            continue
        assert min(Point(c).distance(piece) for c in corners) < max(_CORNER_RUNS_M)
        assert max(allowed.distance(Point(c)) for c in piece.coords) <= max(_CORNER_RUNS_M)


def test_a_replan_round_a_mine_on_the_last_headland_side_goes_back_round_the_ring():
    # gen_at_uxo_lanes seed 2: a TM-62P found on the first headland pass's last side, the
    # machine backed out east of it. Every way round the zone inside the field crosses
    # unprocessed ground, so the re-plan swung 12.7 m out of the field onto ground nobody
    # declared safe, came back in and pivoted on the pass's unprocessed stretch, where a
    # second, undetected TM-62P went off under a track. The way back round the ring is
    # processed but for its corners (the tool lifts in pivots).
    field = [(0.0, 0.0), (24.0, 0.0), (24.0, 18.0), (0.0, 18.0)]
    lane = box(-10.0, -0.5, 0.0, 2.5)
    done = unary_union([box(0.0, 3.8, 2.0, 18.0), box(3.6, 16.0, 24.0, 18.0),
                        box(22.0, 0.0, 24.0, 14.4), box(10.9, 0.0, 20.4, 2.0)])
    disc = Point(10.25, 1.76).buffer(1.16, 16)
    fence = geofence(field, lane, 8.0)
    plan = plan_coverage(field, [], (15.4, 0.5), CoverageParams(), processed=done,
                         safe_ground=lane, no_go_zones=[list(disc.exterior.coords)[:-1]],
                         fence=fence)
    path = LineString(plan.waypoints)
    _only_corner_turns_outside(path, unary_union([Polygon(field), lane]), field,
                               plan.lead_ins.outside)
    assert path.distance(disc) > 0.0


def test_a_pass_along_a_no_go_zone_at_the_field_edge_runs_in_inside_the_field():
    # quick_mixed: an AT mine 1.7 m from the north edge, the gap west of its zone. The pass
    # along the zone's side, driven south with the tool leading, once started 3.1 m past the
    # edge (the tool's offset, then the pivot's clearance): all of it outside the field.
    field = [(0.0, 0.0), (14.0, 0.0), (14.0, 10.0), (0.0, 10.0)]
    disc = Point(8.0, 8.3).buffer(1.7)
    strip = box(4.3, 8.0, 7.0, 10.0)
    planner = _Planner(field, [], CoverageParams(), processed=Polygon(field).difference(strip),
                       no_go_zones=[list(disc.exterior.coords)[:-1]])
    gap = strip.difference(planner.zone_clear)
    along = planner._zone_pass(gap, (2.0, 9.5))
    assert along is not None
    assert Polygon(field).buffer(0.1).contains(LineString(along))


def test_a_gap_lane_at_the_field_edge_keeps_the_hull_inside_the_field():
    # A gap's sub-plan when the mission turns on its headland (nothing outside declared safe):
    # a lane whose base stopped 0.1 m inside the edge still ran its rear 2.9 m past it.
    p = dataclasses.replace(CoverageParams(), headland_passes='0', lane_angle_deg=0.0)
    field = box(0.0, 0.0, 10.0, 6.0)
    planner = _Planner(list(box(0.2, 2.0, 6.3, 4.0).exterior.coords), [], p)
    planner.known_ground = field.buffer(0.05)      # the parent's field (as _sub_plan sets it)
    lanes = [ln for options in planner.build_lanes() for ln in options]
    assert lanes
    # the tool reaches the edge; only the hammers, ahead of its centre line, may pass it
    hammers = field.buffer(p.footprint_front_m - p.tool_offset_x_m + 0.05)
    for ln in lanes:
        d = math.atan2(ln.end[1] - ln.start[1], ln.end[0] - ln.start[0])
        rear = Point(ln.start[0] - math.cos(d) * p.footprint_rear_m,
                     ln.start[1] - math.sin(d) * p.footprint_rear_m)
        front = Point(ln.end[0] + math.cos(d) * p.footprint_front_m,
                      ln.end[1] + math.sin(d) * p.footprint_front_m)
        assert field.buffer(0.05).contains(rear) and hammers.contains(front), ln


def test_a_transit_pivot_counts_the_unprocessed_ground_its_tracks_sweep():
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    done = box(0.0, 0.0, 15.0, 20.0)
    planner = _Planner(field, [], CoverageParams(), processed=done)
    unprocessed = planner.region.difference(done)
    r = planner.p.pivot_radius_m

    def cost(corner):
        x, y = corner
        return planner._pivots_not_allowed_m([(x - 5.0, y), (x, y), (x, y + 5.0)],
                                             unprocessed, None, None)

    assert cost((7.0, 10.0)) == 0.0                        # a corner on processed ground
    inside = cost((25.0, 10.0))                              # the whole disc unprocessed
    strip = 2.0 * planner.p.contact_half_width_m
    assert inside == pytest.approx(math.pi * r * r / strip, rel=0.05)
    assert 0.0 < cost((15.0, 10.0)) < inside                 # half of it
    # a path that retraces itself is reversed, not pivoted; a gentle bend is no pivot
    assert planner._pivots_not_allowed_m([(20.0, 10.0), (25.0, 10.0), (20.0, 10.0)],
                                         unprocessed, None, None) == 0.0
    assert planner._pivots_not_allowed_m([(20.0, 10.0), (25.0, 10.0), (30.0, 11.0)],
                                         unprocessed, None, None) == 0.0


def test_a_pivot_onto_a_work_leg_counts_the_ground_the_tracks_stand_on_before_the_tool():
    # gen_random seed 8: a TM-62M 2.3 m ahead of a headland corner's pivot and 0.97 m to its
    # side, outside the tracks' disc (2.2 m) and behind the tool's line (2.6 m), went off
    # under the left track's front as the pass drove on: ground the tracks stand on before
    # the tool has processed it, which the pivot's cost did not count.
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    planner = _Planner(field, [], CoverageParams())
    v, p = (15.0, 10.0), planner.p
    mine = box(v[0] + 2.2, v[1] + 0.8, v[0] + 2.4, v[1] + 0.95)
    assert Point(v).distance(mine) > p.pivot_radius_m
    assert planner._disc_areas(v, mine)[0] == 0.0
    assert planner._disc_areas(v, mine, heading=0.0)[0] == pytest.approx(mine.area)
    # driving off the other way, the tracks never stand there
    assert planner._disc_areas(v, mine, heading=math.pi)[0] == 0.0


@pytest.mark.parametrize('gap', [box(8.0, 9.2, 9.6, 10.0),     # along an edge, 0.8 m wide
                                 box(6.0, 6.6, 7.2, 7.3),      # a hole in processed ground
                                 box(3.18, 5.7, 4.32, 10.0),   # 1.1 m wide, to the edge
                                 box(11.64, 5.5, 14.0, 10.0)],  # a corner, 2.4 m wide
                         ids=['edge_sliver', 'small_hole', 'strip_to_edge', 'corner'])
def test_a_small_gap_is_re_covered_not_reported(gap):
    # quick_mixed seed 1: gaps like these were left "no lane fits the area": the band sat a
    # half spacing past the sliver's far side (outside the field), and the lane's run-in past
    # the hole, with the tool over its edge by the margin, ran the hull out of a small field.
    field = [(0.0, 0.0), (14.0, 0.0), (14.0, 10.0), (0.0, 10.0)]
    processed = box(-1.0, -1.0, 15.0, 11.0).difference(gap)
    p = CoverageParams()
    plan = plan_coverage(field, [], (7.0, 4.0), p, processed=processed)
    from demining_control.coverage.planner import MIN_GAP_M2
    assert not plan.unplanned
    # (a tool started short of a lane's end, to keep the hull in the field, leaves a sliver)
    assert gap.difference(lane_footprints(plan, p.tool_width_m)).area < MIN_GAP_M2
    inside = Polygon(field).buffer(0.05)
    for ln in plan.lanes:
        d = math.atan2(ln.end[1] - ln.start[1], ln.end[0] - ln.start[0])
        rear = Point(ln.start[0] - math.cos(d) * p.footprint_rear_m,
                     ln.start[1] - math.sin(d) * p.footprint_rear_m)
        assert inside.contains(rear) and inside.contains(Point(ln.end)), ln


def test_a_gap_the_tool_cannot_reach_beside_a_zone_is_reported_with_that_reason():
    # quick_mixed seed 1: the strip between an AT zone's clearance and the field's edge was
    # reported as "no lane fits the area (is it narrower than the tool?)"
    field = [(0.0, 0.0), (14.0, 0.0), (14.0, 10.0), (0.0, 10.0)]
    zone = Point(8.0, 8.15).buffer(1.16, 16)
    p = CoverageParams()
    strip = box(6.3, 8.7, 9.6, 10.0).difference(zone.buffer(p.exclusion_clearance_m))
    processed = box(-1.0, -1.0, 15.0, 11.0).difference(strip).difference(
        zone.buffer(p.exclusion_clearance_m)).difference(box(2.0, 3.0, 4.0, 5.0))
    plan = plan_coverage(field, [], (3.0, 3.0), p, processed=processed,
                         no_go_zones=[list(zone.exterior.coords)[:-1]])
    reasons = [reason for g, reason in plan.unplanned if g.intersects(strip)]
    assert reasons and all(r.startswith('beside a keep-out zone') for r in reasons), reasons


def test_a_replan_from_a_machine_with_a_zone_behind_does_not_pivot_its_hull_into_it():
    # mixed_field seed 1 (issue 7): the machine stood facing east-south-east with a no-go zone
    # 4.3 m behind its left side and the ground left to the north. Planned without its
    # heading, every re-plan began with a 90 degree pivot that swung the hull's rear corner
    # into the zone: the supervisor refused it six times and the mission aborted at 83.7 %.
    # With the heading the first pivot is judged like any other: it drives on first.
    field = [(0.0, 0.0), (40.0, 0.0), (40.0, 30.0), (0.0, 30.0)]
    done = box(0.0, 0.0, 40.0, 17.0)
    zone = Point(16.2, 18.8).buffer(1.16, 16)
    start, yaw = (19.7, 16.2), -0.51
    plan = plan_coverage(field, [], start, CoverageParams(), processed=done,
                         no_go_zones=[list(zone.exterior.coords)[:-1]], start_yaw=yaw)
    p = CoverageParams()
    w, facing = plan.waypoints, plan.facing
    body = box(-p.footprint_rear_m, -p.footprint_half_width_m, p.footprint_front_m,
               p.footprint_half_width_m)
    before = yaw
    for i in range(len(w)):
        if math.dist(w[i], start) > 15.0:
            break
        # every pivot near the start: the hull swept from the heading before to the next
        turn = math.remainder(facing[i] - before, 2 * math.pi)
        for f in np.linspace(0.0, 1.0, 30):
            hull = affinity.translate(affinity.rotate(body, before + f * turn, origin=(0, 0),
                                                      use_radians=True), *w[i])
            assert not hull.intersects(zone), (w[i], before, facing[i])
        before = facing[i]
    assert LineString(w).distance(zone) > 0.0


def _recorded(name):
    """A plan request a mission kept (test/data/plan_requests/``name``)."""
    return read_request(os.path.join(os.path.dirname(__file__), '..', '..', 'data',
                                     'plan_requests', name))


def test_a_replan_where_no_lane_fits_any_more_covers_the_gaps_or_reports_them():
    # gen_random seed 2 (a 7 m wide field on a slope), recorded by the coverage planner: a
    # place marked too steep slashed across the field beside a no-go zone, and no lane of
    # the field fitted what was left. The re-plan raised "beside a keep-out zone" and the
    # mission aborted at 55.6 % with 35 m^2 of reachable ground left. A re-plan with work
    # done goes on to the gap re-cover: passes along the zones, the rest reported.
    req = _recorded('gen_random_s2_after_steep.json')
    plan = req.plan()
    assert len(plan.waypoints) > 1 and any(plan.work)
    done = lane_strips(plan.lanes, plan.headland, req.params.tool_width_m)
    left = Polygon(req.field).difference(req.processed)
    for z in [*req.exclusion_zones, *req.no_go_zones]:
        left = left.difference(Polygon(z))
    assert done.intersection(left).area > 5.0
    assert all(reason for _, reason in plan.unplanned)
    assert sum(g.area for g, _ in plan.unplanned) < left.area


def _pivots_blind_m2(plan, field, processed, p):
    """Unprocessed field ground under the tracks' disc at each pivot of ``plan`` as driven
    (the tool's strip of each work leg, ``tool_offset_x_m`` ahead, processed as it goes), m^2.
    """
    pts, facing, work = (np.asarray(plan.waypoints), np.asarray(plan.facing),
                         np.asarray(plan.work))
    done, out = processed, []
    for i in range(1, len(pts)):
        turn = abs(math.atan2(math.sin(facing[i] - facing[i - 1]),
                              math.cos(facing[i] - facing[i - 1])))
        if p.corner_angle_rad < turn < p.reverse_turn_rad:
            disc = Point(*pts[i - 1]).buffer(p.pivot_radius_m)
            out.append(disc.intersection(Polygon(field)).difference(done).area)
        if work[i]:
            ahead = p.tool_offset_x_m * np.array([math.cos(facing[i]), math.sin(facing[i])])
            if np.hypot(*(pts[i] - pts[i - 1])) > 1e-6:
                done = done.union(LineString([pts[i - 1] + ahead, pts[i] + ahead]).buffer(
                    0.5 * p.tool_width_m, cap_style='flat'))
    return out


def test_a_replan_enters_a_headland_stretch_from_its_processed_end():
    # quick_mixed seed 1, recorded by the coverage planner: an AT mine found on the first
    # headland pass, the machine backed out south of the field. The re-plan entered what was
    # left of the pass at its nearer end, on the field's unprocessed ground, and pivoted
    # there: its tracks swept 5.3 m^2 the boom had never scanned, and a TM-62M there went
    # off under the left track. The stretch's far end lies on processed ground.
    req = _recorded('quick_mixed_s1_after_zone.json')
    plan = req.plan()
    blind = _pivots_blind_m2(plan, req.field, req.processed, req.params)
    # 37.7 m^2 in all before; inner passes' corners still sweep some (issue 7 item 1)
    assert sum(blind) < 15.0, blind


def test_a_replan_drives_a_stretch_started_blind_with_a_zone_behind_it_the_other_way():
    # bench/missions.py gen_at_uxo_lanes seed 65 at ab303ef, recorded by the coverage
    # planner: a re-plan round four no-go zones started a headland stretch westwards at
    # (17.4, 13.4) with a TM-62P's zone behind the machine. No back-up fitted there; the
    # flail, lowered over 3.2 m^2 the boom had not scanned, set off a TM-62M 16 cm deep and
    # the mission was aborted at 42 %. The plan made again with the stretches that lowered
    # the tool blind driven the other way is taken: it reaches less unseen ground.
    req = _recorded('gen_at_uxo_lanes_s65_zone_behind.json')
    plan = req.plan()
    lowerings = sum(a for _, a in plan.lead_ins.blind)
    pivots = sum(a for _, a in plan.lead_ins.blind_pivots)
    # 10.4 m^2 of lead bands and 15.3 m^2 of pivot discs before
    assert lowerings + pivots < 20.0, (lowerings, pivots)
    assert any(n.startswith('planned again with') for n in plan.notes), plan.notes


def test_a_retrace_whose_pivot_at_its_end_would_enter_a_zone_backed_out_stays_forward():
    # east 10 m, back west 5 m along the same line (a retrace), then north
    xy = np.array([(0.0, 0.0), (10.0, 0.0), (5.0, 0.0), (5.0, 5.0)])
    work, rev = np.zeros(4, dtype=bool), np.zeros(4, dtype=bool)
    assert _retraces_in_reverse(xy, work, rev, 0.35, 2.8)[1]

    def hits(v, yaw0, yaw1):
        # backed out, the machine faces east at (5, 0) and pivots left onto north (into a
        # zone, say); driven forward it turns about at (10, 0), faces west at (5, 0) and
        # pivots right
        return v == (5.0, 0.0) and math.isclose(math.cos(yaw0), 1.0, abs_tol=1e-9)
    assert not _retraces_in_reverse(xy, work, rev, 0.35, 2.8, hits)[1]
    # where the pivots driven forward hit a zone too, it is backed out as before
    assert _retraces_in_reverse(xy, work, rev, 0.35, 2.8, lambda v, a, b: True)[1]


def test_a_lowering_is_at_a_start_on_the_line_behind_it_facing_as_it_does():
    # a run-in or a corner turn lowers the tool up to a run behind a side's start, on its
    # line: where the planner looks for the blind lowerings it avoids (_unblind)
    place = (10.0, 5.0, 0.0)
    assert _lowers_at(place, (10.0, 5.0), 0.0)
    assert _lowers_at(place, (12.0, 5.0), 0.0)
    assert _lowers_at(place, (10.0 + max(_CORNER_RUNS_M), 5.1), 0.0)
    assert not _lowers_at(place, (8.0, 5.0), 0.0)
    assert not _lowers_at(place, (10.0 + max(_CORNER_RUNS_M) + 1.0, 5.0), 0.0)
    assert not _lowers_at(place, (12.0, 6.0), 0.0)
    assert not _lowers_at(place, (12.0, 5.0), math.pi)
    assert not _lowers_at(place, (10.0, 5.0), math.radians(30.0))


def test_processed_ground_a_denormal_off_a_lane_line_plans():
    # Found by the random test below: processed ground whose edge lay 2e-311 m off the
    # lane line y = 0 made GEOS raise "TopologyException: non-noded intersection" in the
    # lane overlay. Input geometry is snapped to a micrometre grid first.
    tiny = 2.22507e-311
    pts = [(16.998, 4.334), (10.431, 14.217), (8.937, 24.286), (-1.024, 18.288),
           (-16.542, 11.162), (-8.559, -27.093), (11.088, -28.824)]
    field = Polygon(pts)
    done = unary_union([box(-5.5444, -3.9825, 9.1574, tiny),
                        box(-5.5444, tiny, 0.1132, 4.116),
                        box(0.1132, tiny, 16.9596, 4.116)]).intersection(field)
    plan = plan_coverage(pts, [], (0.0, 1.0), CoverageParams(), processed=done,
                         fence=geofence(field, None, 10.0), start_yaw=0.0)
    assert np.all(np.isfinite(plan.waypoints)) and len(plan.waypoints) > 1


def test_a_replan_whose_zone_edge_nearly_meets_the_fields_plans():
    # gen_at_uxo_lanes seed 11, recorded by the coverage planner: pinned six times round a
    # suspect, the zones grown each time. Joining the field's unprocessed ground to the
    # belt outside it raised GEOS's "TopologyException: non-noded intersection", the
    # planner node refused the plan and the mission was aborted at 6.3 %.
    req = _recorded('gen_at_uxo_lanes_s11_non_noded.json')
    plan = req.plan()
    assert len(plan.waypoints) > 1 and any(plan.work)
    assert GEOMETRY_FALLBACK not in plan.notes       # the overlay itself is made robust


def test_a_plan_that_geos_fails_is_made_again_on_a_millimetre_grid(monkeypatch):
    # Any other overlay of the planner's own geometry may fail as that one did: the plan is
    # made once more from inputs snapped to 1 mm, not refused (a refused re-plan ends the
    # mission), and says so.
    seen = []
    real = planner_module._plan_coverage

    def failing_once(*args):
        seen.append(args)
        if len(seen) == 1:
            raise shapely.errors.GEOSException('TopologyException: found non-noded '
                                               'intersection')
        return real(*args)

    monkeypatch.setattr(planner_module, '_plan_coverage', failing_once)
    field = [(0.0, 0.0), (30.0000000001, 0.0), (30.0, 20.0), (0.0, 20.0)]
    processed = box(0.0, 0.0, 30.0, 4.0000004)
    plan = plan_coverage(field, [[(10.0, 10.0), (12.0, 10.0), (12.0, 12.0)]], (-2.0, -2.0),
                         processed=processed)
    assert plan.notes[-1] == GEOMETRY_FALLBACK and len(seen) == 2
    again = seen[1]
    assert again[0][1] == (30.0, 0.0)
    assert again[4].bounds == pytest.approx((0.0, 0.0, 30.0, 4.0), abs=1e-12)
    assert len(plan.waypoints) > 1 and any(plan.work)

    # a failure on the millimetre grid too is the caller's: the node refuses with the reason
    def failing(*args):
        raise shapely.errors.GEOSException('non-noded')

    monkeypatch.setattr(planner_module, '_plan_coverage', failing)
    with pytest.raises(shapely.errors.GEOSException):
        plan_coverage(field, start_xy=(-2.0, -2.0))


# 65-80 s on one core of the 2-core machine (each example a whole plan): scheduled first,
# with room for a loaded CI worker.
@pytest.mark.slow(seconds=80)
@pytest.mark.timeout(300)
@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=3, max_value=8), st.floats(min_value=10.0, max_value=35.0),
       st.floats(min_value=-math.pi, max_value=math.pi), st.randoms(use_true_random=False))
def test_any_field_plans_or_says_why_never_crashes(corners, radius, yaw, rnd):
    # Unseen ground: a random polygon, random no-go discs, part of it processed, the machine
    # anywhere facing anyhow (a re-plan). The planner returns a path inside the geofence or a
    # PlanningError naming why; nothing else (the spiral, bulb turns and run-ins included).
    angles = sorted(rnd.uniform(0.0, 2.0 * math.pi) for _ in range(corners))
    pts = [(radius * rnd.uniform(0.5, 1.0) * math.cos(a),
            radius * rnd.uniform(0.5, 1.0) * math.sin(a)) for a in angles]
    field = Polygon(pts)
    assume(field.is_valid and field.area > 60.0)
    minx, miny, maxx, maxy = field.bounds
    zones = [list(Point(rnd.uniform(minx, maxx), rnd.uniform(miny, maxy)).buffer(
        rnd.uniform(0.8, 2.5), 8).exterior.coords)[:-1] for _ in range(rnd.randint(0, 2))]
    done = unary_union([box(x, y, x + rnd.uniform(2.0, 20.0), y + rnd.uniform(2.0, 5.0))
                        for x, y in [(rnd.uniform(minx, maxx), rnd.uniform(miny, maxy))
                                     for _ in range(rnd.randint(0, 4))]]).intersection(field)
    start = (minx - 8.0, 0.5 * (miny + maxy)) if rnd.random() < 0.5 else (
        rnd.uniform(minx, maxx), rnd.uniform(miny, maxy))
    fence = geofence(field, None, 10.0)
    try:
        plan = plan_coverage(pts, [], start, CoverageParams(), processed=done,
                             no_go_zones=zones, fence=fence, start_yaw=yaw)
    except PlanningError as exc:
        assert str(exc)
        return
    assert np.all(np.isfinite(plan.waypoints)) and len(plan.waypoints) >= 1


def test_a_field_too_small_for_a_headland_round_its_zone_turns_its_lanes_outside():
    # bench/missions.py gen_random seed 20: 104 m^2 round a 12 m^2 ruin. Every headland pass
    # comes within the tool's reach of the ruin's clearance and is cut away, no lane ends on
    # a headland, and the mission never started ("beside a keep-out zone").
    field = [(13.382, 9.566), (2.248, 10.969), (0.0, 1.662), (5.643, 1.096), (10.521, 0.0)]
    ruin = [(8.925, 7.203), (5.315, 7.699), (4.856, 4.36), (8.466, 3.863)]
    plan = plan_coverage(field, [ruin], (-36.1, 15.4), CoverageParams(), start_yaw=-0.2)
    assert plan.notes == [NO_HEADLAND]
    assert plan.lanes and plan.work_length_m > 50.0
    assert LineString(plan.waypoints).distance(Polygon(ruin)) > 0.0
    # asked for explicitly, the passes stay asked for: the planner says why it cannot
    with pytest.raises(PlanningError):
        plan_coverage(field, [ruin], (-36.1, 15.4), CoverageParams(headland_passes='1'))


def _retrace(back_to_x: float, back_work: bool = False):
    """A work run east 0 -> 10 m, a transit back west along it to ``back_to_x``, then north."""
    xy = np.array([[x, 0.0] for x in np.arange(0.0, 10.5, 0.5)]
                  + [[x, 0.0] for x in np.arange(9.5, back_to_x - 0.25, -0.5)]
                  + [[back_to_x, y] for y in (0.5, 1.0, 1.5)])
    n_run, n_back = 21, len(np.arange(9.5, back_to_x - 0.25, -0.5))
    work = np.zeros(len(xy), dtype=bool)
    work[:n_run - 1] = True
    work[n_run - 1:n_run - 1 + n_back] = back_work
    return xy, work, n_run, n_back


def test_a_transit_back_along_the_run_before_is_driven_in_reverse_not_pivoted():
    p = CoverageParams()
    xy, work, n_run, n_back = _retrace(4.0)
    rev = _retraces_in_reverse(xy, work, np.zeros(len(xy), dtype=bool), p.corner_angle_rad,
                               p.reverse_turn_rad)
    assert not rev[:n_run - 1].any()
    assert rev[n_run - 1:n_run - 1 + n_back].all()      # backing out along its own track
    assert not rev[n_run - 1 + n_back:].any()           # then forward again, turning north
    # longer than the run it retraces: the tracks would back onto ground never driven
    xy, work, *_ = _retrace(-3.0)
    assert not _retraces_in_reverse(xy, work, np.zeros(len(xy), dtype=bool),
                                    p.corner_angle_rad, p.reverse_turn_rad).any()
    # a work run back along the line is worked forward (the tool leads), never in reverse
    xy, work, *_ = _retrace(4.0, back_work=True)
    assert not _retraces_in_reverse(xy, work, np.zeros(len(xy), dtype=bool),
                                    p.corner_angle_rad, p.reverse_turn_rad).any()


def test_no_planned_pivot_turns_the_machine_back_along_its_own_track():
    # A headland pass cut short by the road was left by a ~180 degree pivot and a run back
    # along it: the tracks swept the unseen disc round the pass's end (bench/coverage.py
    # --quick split_by_road). Such a run back is driven in reverse: no pivot turns the
    # machine onto a run that ends on the run it came along.
    s = shapes.split_by_road(60.0, 40.0)
    area = HazardArea(name='split', field=s.field, exclusion_zones=s.exclusion_zones,
                      origin=None, approach_lanes=[s.approach_lane])
    p = CoverageParams(tool_width_m=2.0, sensor_width_m=3.2, sensor_offset_x_m=4.0,
                       tool_offset_x_m=2.6, track_length_m=4.0)
    plan = plan_coverage(area.field, area.exclusion_zones, s.start[:2], p,
                         safe_ground=area.safe_ground())
    xy = plan.waypoints
    legs = np.flatnonzero(np.hypot(*np.diff(xy, axis=0).T) > 1e-9)
    facing = plan.facing[legs]
    heading = np.arctan2(*(xy[legs + 1] - xy[legs]).T[::-1])
    bend = np.flatnonzero(np.abs(np.angle(np.exp(1j * np.diff(heading)))) > p.corner_angle_rad)
    runs = np.concatenate([[0], bend + 1, [len(legs)]])
    pivots_back = 0
    for a, b, c in zip(runs[:-2], runs[1:-1], runs[2:]):
        if abs(math.remainder(facing[b] - facing[b - 1], math.tau)) <= p.reverse_turn_rad:
            continue
        run_before = LineString([xy[legs[a]], xy[legs[b]]])
        pivots_back += run_before.distance(Point(xy[legs[c - 1] + 1])) < 0.25
    assert pivots_back == 0


def _pivots_blind(path, end, field, processed, p):
    """Blind pivots of driving ``path`` (tool raised) and on along a lane to ``end``."""
    xy = np.asarray(list(path) + [end, (end[0] + 0.5, end[1])], dtype=float)
    work = np.zeros(len(xy), dtype=bool)
    work[-3:-1] = True
    facing = _facing(xy, np.zeros(len(xy), dtype=bool))
    return blind_pivots(xy, work, facing, lead_geometry(p), field=field, known=processed)


def test_a_lane_starting_in_unprocessed_ground_is_run_into_from_processed_ground():
    # bench/coverage.py --quick cratered_field: short lanes between craters start inside
    # ground nothing had looked at; the transit pivoted onto each at its start, its tracks
    # sweeping that ground (an AT mine there goes off under a track). Where the tracks' disc
    # fits on processed ground behind the start, the machine turns onto the lane's line
    # there and drives straight in, the boom ahead looking at what it then drives over.
    p = CoverageParams()
    field = box(0.0, 0.0, 40.0, 30.0)
    pocket = box(18.0, 12.0, 30.0, 18.0)
    start, end = (20.0, 15.0), (26.0, 15.0)
    lane = Lane(0, start, end, (start[0] + p.tool_offset_x_m, start[1]), end)
    here, yaw = (20.0, 4.0), math.pi / 2

    def approach(processed):
        planner = _Planner(list(field.exterior.coords), [], p, processed=processed)
        planner._prepare_transits()
        unprocessed = planner.region.difference(processed)
        pts, cost, over = planner.transit(here, start, unprocessed, None, yaw, 0.0)
        return planner, unprocessed, pts, planner._lane_approach(here, None, yaw, lane, pts,
                                                                 cost, over, unprocessed)

    processed = field.difference(pocket)
    planner, unprocessed, transit, (pts, _, _) = approach(processed)
    assert _pivots_blind(transit, end, field, processed, p)      # the plain transit's
    assert not _pivots_blind(pts, end, field, processed, p)
    turn = pts[-2]                           # where it turned onto the run: behind the start
    assert turn[1] == pytest.approx(start[1]) and turn[0] < start[0]
    assert planner._disc_areas(turn, unprocessed)[0] == 0.0
    # no processed ground behind the start to turn on: the transit is kept (and reported)
    processed = field.difference(box(8.0, 12.0, 30.0, 18.0))
    _, _, transit, (pts, _, _) = approach(processed)
    assert pts == transit and _pivots_blind(transit, end, field, processed, p)


def test_a_suspect_on_unprocessed_ground_in_a_pivot_disc_costs_the_penalty():
    """Re-plans know the detected suspects: a turn whose disc meets one on ground the tool
    has not processed costs suspect_pivot_penalty_m2 more (the tracks would press it);
    on processed ground, or out of the disc, nothing."""
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    p = CoverageParams()
    plain = _Planner(field, [], p)
    known = _Planner(field, [], p, suspects=[(10.0, 10.0, 0.3)])
    unprocessed = Polygon(field)
    for v, extra in (((11.0, 10.0), p.suspect_pivot_penalty_m2), ((20.0, 10.0), 0.0)):
        assert known._disc_areas(v, unprocessed)[0] == pytest.approx(
            plain._disc_areas(v, unprocessed)[0] + extra)
    done = unprocessed.difference(box(8.0, 8.0, 12.0, 12.0))       # processed round it
    assert known._disc_areas((11.0, 10.0), done)[0] == pytest.approx(
        plain._disc_areas((11.0, 10.0), done)[0])


def test_a_suspect_outside_the_field_in_a_pivot_disc_costs_the_penalty_too():
    """The boom sweeps the turning ground outside the field too: a suspect found there, on
    ground the area does not declare safe, costs a pivot over it the same penalty (once,
    whether its disc lies outside, inside or both), and nothing on declared safe ground."""
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    p = CoverageParams()
    plain = _Planner(field, [], p)
    known = _Planner(field, [], p, suspects=[(-1.5, 10.0, 0.3), (0.2, 4.0, 0.5)])
    assert known.known_ground is not None          # turning on its headland: outside unknown
    processed = Polygon()                          # the field all processed
    for v, extra in (((0.5, 10.0), p.suspect_pivot_penalty_m2),
                     ((0.5, 4.0), p.suspect_pivot_penalty_m2),
                     ((15.0, 10.0), 0.0)):
        got, want = known._disc_areas(v, processed), plain._disc_areas(v, processed)
        assert got[0] == pytest.approx(want[0] + extra) and got[1] == pytest.approx(want[1])
    safe = box(-10.0, 0.0, 0.0, 20.0)
    declared = _Planner(field, [], p, safe_ground=safe, suspects=[(-1.5, 10.0, 0.3)])
    assert declared._disc_areas((0.5, 10.0), processed)[0] == pytest.approx(
        _Planner(field, [], p, safe_ground=safe)._disc_areas((0.5, 10.0), processed)[0])


def test_a_field_whose_entrance_a_no_go_zone_closes_is_entered_round_it_outside():
    """gen_at_uxo_lanes seed 9: a TM-62P 1.7 m inside the field where the 3 m approach lane
    meets it. Its no-go zone closed the only way in over the field and declared safe ground,
    and the mission was aborted at 0.4 % with the whole field left. The way in now goes round
    the zone outside the field (ground not declared safe, as the headland's corner turns
    use), inside the geofence, and the field is processed but for the zone's surroundings."""
    field = [(0.0, 0.0), (24.0, 0.0), (24.0, 18.0), (0.0, 18.0)]
    safe = box(-10.0, -0.5, 0.0, 2.5)
    zone = [list(disc_polygon(1.75, 2.0, 1.16).exterior.coords)[:-1]]
    fence = geofence(field, safe, 10.0)
    p = CoverageParams(sensor_width_m=3.2)
    plan = plan_coverage(field, [], (-3.7, 1.1), p, start_yaw=0.0, safe_ground=safe,
                         no_go_zones=zone, fence=fence)
    xy = np.column_stack([plan.waypoints, plan.facing])
    check = check_path(xy, plan.work, field, zone, safe, ContactParams(resolution_m=0.2),
                       clearance_m=p.exclusion_clearance_m)
    assert check.keep_out_at == [] and check.coverage_pct > 95.0
    assert metres_outside(plan.waypoints, fence) == 0.0


def test_the_lanes_still_process_the_suspects():
    """A suspect is the tool's to process: the plan's work strips still cover it."""
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    p = CoverageParams()
    plan = plan_coverage(field, [], (-5.0, 1.0), p, start_yaw=0.0,
                         suspects=[(12.0, 9.0, 0.3), (25.0, 15.0, 0.3)])
    strips = unary_union([LineString([lane.tool_start, lane.tool_end]).buffer(
        0.5 * p.tool_width_m, cap_style='flat') for lane in plan.lanes])
    assert strips.contains(Point(12.0, 9.0)) and strips.contains(Point(25.0, 15.0))


def test_a_run_in_into_keep_out_never_wins_on_its_pivot_disc(monkeypatch):
    # The run-ins onto a pass are ranked by the unprocessed ground their last pivot sweeps
    # before their cost; a run-in whose transit carries the keep-out penalty (its pivot
    # swings the hull into a zone, it leaves the geofence) ranked on its disc alone and won
    # where its pivot stood on processed ground. It must lose to any run-in without one.
    p = CoverageParams()
    field = box(0.0, 0.0, 40.0, 30.0)
    processed = field.difference(box(18.0, 12.0, 30.0, 18.0))
    planner = _Planner(list(field.exterior.coords), [], p, processed=processed)
    planner._prepare_transits()
    unprocessed = planner.region.difference(processed)
    here, b = (20.0, 4.0), (20.0, 15.0)
    plain = planner.transit

    def transit(a, q, unprocessed, *args, **kwargs):
        pts, cost, over = plain(a, q, unprocessed, *args, **kwargs)
        # every run-in behind b (its pivot on processed ground) hits a zone; b itself not
        return pts, cost + (_EXCLUSION_PENALTY if math.dist(q, b) > 0.5 else 0.0), over

    monkeypatch.setattr(planner, 'transit', transit)
    key, pts, _ = planner._run_in_scored(here, math.pi / 2, b, 0.0, unprocessed)
    # the transit straight onto b, its pivot on the unprocessed pocket, not a run-in
    assert pts == plain(here, b, unprocessed, yaw_a=math.pi / 2, yaw_b=0.0)[0]
    assert key[-1] < _EXCLUSION_PENALTY


def test_a_run_in_whose_footprint_touches_a_zone_carries_the_keep_out_term():
    # bench/coverage.py --replay of gen_at_uxo_lanes seed 1's plan_002 (run-ins ranked
    # blind-first, tried): a transit whose hull passed 12 cm into a no-go zone cost 0.04 m of
    # keep-out (4e4 of cost, under the penalty of a metre), so its key's first term said
    # clear and it won. On the plans as made, mixed_field seed 1's plan_003 entered a zone.
    from demining_control.coverage.no_go import disc_polygon
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    zone = list(disc_polygon(15.0, 8.0, 1.2).exterior.coords)[:-1]
    planner = _Planner(field, [], CoverageParams(), no_go_zones=[zone])
    planner._prepare_transits()
    unprocessed = planner.region
    half = planner.p.footprint_half_width_m
    pts = [(5.0, 8.0 - 1.2 - half + 0.1), (25.0, 8.0 - 1.2 - half + 0.1)]      # 10 cm in
    cost, _ = planner._transit_cost(pts, unprocessed, 0.0, 0.0)
    assert 0.0 < planner._keep_out_m(pts, 0.0, 0.0) < 1.0 and cost < _EXCLUSION_PENALTY
    assert planner._leaves_allowed(pts, cost, 0.0, 0.0)
    # clear of the zone and of its clearance (beside a no-go zone a leg keeps it)
    off = planner.p.exclusion_clearance_m + 0.1
    clear = [(5.0, 8.0 - 1.2 - half - off), (25.0, 8.0 - 1.2 - half - off)]
    assert not planner._leaves_allowed(clear, planner._transit_cost(clear, unprocessed, 0.0,
                                                                    0.0)[0], 0.0, 0.0)


def test_a_transit_beside_a_no_go_zone_within_its_clearance_carries_the_keep_out_term():
    # gen_slope seed 66: a transit judged clear of a TM-62's zone passed it 0.26 m apart; the
    # follower's correction towards the path swung the hull's rear into it, the supervisor
    # refused, and six pins later the mission aborted at 44 %
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    zone = list(disc_polygon(15.0, 8.0, 1.2).exterior.coords)[:-1]
    planner = _Planner(field, [], CoverageParams(), no_go_zones=[zone])
    planner._prepare_transits()
    half = planner.p.footprint_half_width_m
    skim = [(5.0, 8.0 - 1.2 - half - 0.26), (25.0, 8.0 - 1.2 - half - 0.26)]
    unprocessed = planner.region
    assert planner._transit_cost(skim, unprocessed, 0.0, 0.0)[0] > _EXCLUSION_PENALTY * 0.1
    # lanes, passes and approaches keep the zone's own outline
    assert planner._keep_out_m(skim, 0.0, 0.0) == 0.0 and not planner._swept_hits(skim)
    # an exclusion zone (a declared ruin, a road) is judged on its outline, as before
    excl = _Planner(field, [zone], CoverageParams())
    excl._prepare_transits()
    assert excl._transit_cost(skim, excl.region, 0.0, 0.0)[0] < _EXCLUSION_PENALTY


def test_a_replan_keeps_its_legs_the_clearance_off_a_no_go_zone():
    # gen_slope seed 66 at 17a7788, recorded by the coverage planner: an AT label 3 m inside
    # the field's east edge (a false one, safety first). The re-plan's first leg ran past its
    # zone with the hull 0.09 m off it; the supervisor refused the follower's corrections
    # there, the machine was pinned six times and the mission aborted at 44 %.
    req = _recorded('gen_slope_s66_beside_zone.json')
    plan = req.plan()
    p = req.params
    zones = unary_union([Polygon(z) for z in req.no_go_zones])
    w = np.asarray(plan.waypoints)
    travel = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(w, axis=0).T))])
    apart = [zones.distance(footprint(x, y, a, p.footprint_rear_m, p.footprint_front_m,
                                      p.footprint_half_width_m))
             for (x, y), a, t in zip(w, plan.facing, travel) if t <= 400.0]
    assert min(apart) >= p.exclusion_clearance_m, min(apart)


def _holes_field_planner():
    """A headland planner on a field with a row of holes, inside a geofence, two thirds of
    it unprocessed: transits there meet every term of their cost (keep-out ground, the
    fence, unprocessed and unknown ground, pivots)."""
    from demining_control.coverage.no_go import disc_polygon
    field = [(0.0, 0.0), (100.0, 0.0), (100.0, 20.0), (0.0, 20.0)]
    discs = [list(disc_polygon(x, 10.0, 1.5).exterior.coords)[:-1] for x in (30, 50, 70)]
    planner = _Planner(field, discs, CoverageParams(), fence=geofence(field, None, 4.0))
    planner._prepare_transits()
    return planner, planner.region.difference(box(0.0, 0.0, 35.0, 20.0))


#: Transits on :func:`_holes_field_planner`'s field: through the holes, across unprocessed
#: ground with a pivot, out past the fence, and along the processed end.
_HOLE_TRANSITS = [[(10.0, 10.0), (90.0, 10.0)],
                  [(20.0, 5.0), (60.0, 5.0), (60.0, 15.0)],
                  [(10.0, 2.0), (10.0, -8.0), (40.0, -8.0)],
                  [(5.0, 5.0), (25.0, 5.0)]]


@pytest.mark.parametrize('pts', _HOLE_TRANSITS, ids=['holes', 'pivot', 'fence', 'processed'])
@pytest.mark.parametrize('yaws', [(None, None), (0.0, 0.5 * math.pi)], ids=['free', 'facing'])
def test_a_transit_cost_under_a_bound_is_the_cost_or_none(pts, yaws):
    """With a bound, a candidate's cost is judged term by term and given up once it cannot
    be below the bound: the cost as without one when it is below, else None."""
    planner, unprocessed = _holes_field_planner()
    cost, over = planner._transit_cost(pts, unprocessed, *yaws)
    assert planner._transit_cost(pts, unprocessed, *yaws, math.nextafter(cost, math.inf)) \
        == (cost, over)
    length = LineString(pts).length
    for bound in (cost, 0.5 * length, length, math.nextafter(length, math.inf)):
        judged = planner._transit_cost(pts, unprocessed, *yaws, bound)
        assert judged == ((cost, over) if cost < bound else None)


def test_a_run_in_under_a_bound_is_the_best_or_none():
    """A run-in scored against a bound (the best of the passes before it) is the best as
    without one when its key is below the bound, else None."""
    planner, unprocessed = _holes_field_planner()
    here, b, yaw_b = (20.0, 3.0), (60.0, 16.0), 0.0
    best = planner._run_in_scored(here, 0.5 * math.pi, b, yaw_b, unprocessed, search=False)
    hard, ground, cost = best[0]
    assert ground > 0.0 and not hard
    for bound in ((False, ground, math.nextafter(cost, math.inf)), (False, ground + 1.0, 0.0),
                  (False, math.inf, math.inf), (True, 0.0, 0.0)):
        assert planner._run_in_scored(here, 0.5 * math.pi, b, yaw_b, unprocessed,
                                      search=False, bound=bound) == best
    for bound in ((False, ground, cost), (False, math.nextafter(ground, 0.0), math.inf),
                  (False, 0.0, 0.0)):
        assert planner._run_in_scored(here, 0.5 * math.pi, b, yaw_b, unprocessed,
                                      search=False, bound=bound) is None


def test_the_zone_clusters_a_transit_meets_are_those_whose_grown_ground_it_meets():
    """_detours_met asks the clusters' bounding boxes first: the same clusters, in order,
    as asking every one; ``done`` ones left out."""
    import shapely
    planner, _ = _holes_field_planner()
    rng = np.random.default_rng(3)
    for _ in range(200):
        pts = [tuple(p) for p in rng.uniform((-5.0, -5.0), (105.0, 25.0), (3, 2))]
        parts = planner._swept_parts(pts)
        every = [k for k, (grown, _) in enumerate(planner._detours)
                 if np.any(shapely.intersects(grown, parts))]
        assert planner._detours_met(parts) == every
        assert planner._detours_met(parts, done=every[:1]) == every[1:]
    assert planner._detours_met(planner._swept_parts([(10.0, 2.0), (90.0, 2.0)])) == []
    assert len(planner._detours_met(planner._swept_parts([(10.0, 10.0), (90.0, 10.0)]))) == 3


def test_a_ring_path_each_way_runs_from_one_projection_to_the_other():
    from demining_control.coverage.planner import _ring_paths
    ring = box(0.0, 0.0, 10.0, 4.0).exterior
    a, b = Point(3.0, -1.0), Point(12.0, 2.0)
    forward, backward = _ring_paths(ring, a, b)
    for way in (forward, backward):
        assert way[0] == pytest.approx((3.0, 0.0)) and way[-1] == pytest.approx((10.0, 2.0))
    assert forward[1:-1] == [(10.0, 0.0)]
    assert backward[1:-1] == [(0.0, 0.0), (0.0, 4.0), (10.0, 4.0)]
    assert LineString(forward).length + LineString(backward).length == pytest.approx(
        ring.length)


def test_a_pivot_is_judged_once_and_answered_the_same_after():
    """_turn_hits keeps each exact pivot's answer: what _judge_turn gave it first."""
    planner, _ = _holes_field_planner()
    pivots = [((27.0, 10.0), 0.0, 0.5 * math.pi), ((10.0, 10.0), 0.0, math.pi),
              ((30.0, 13.2), math.pi, 0.5 * math.pi), ((30.0, 13.2), math.pi, 0.0)]
    answers = [planner._turn_hits(*pivot) for pivot in pivots]
    assert answers[0] and not answers[1]
    assert answers == [planner._judge_turn(*pivot) for pivot in pivots]
    judged = len(planner._turns)
    assert [planner._turn_hits(*pivot) for pivot in pivots] == answers
    assert len(planner._turns) == judged and len(planner._turn_answers) == len(pivots)


def test_round_off_holes_and_parts_of_the_unprocessed_ground_are_dropped_real_ones_kept():
    """gen_random seed 67: the unprocessed ground held 1,321 holes of 1e-15 m^2 left by lane
    strips taken from it, and each transit's overlay with it cost 15 times as much."""
    sliver = [(5.0, 5.0), (6.0, 5.0), (6.0, 5.0 + 1e-15)]
    real = [(10.0, 10.0), (11.0, 10.0), (11.0, 11.0), (10.0, 11.0)]
    ground = MultiPolygon([Polygon(RECT, [sliver, real]),
                           Polygon([(40.0, 0.0), (41.0, 0.0), (41.0, 1e-12)])])
    clean = without_slivers(ground)
    assert clean.geom_type == 'Polygon' and len(clean.interiors) == 1
    assert clean.area == pytest.approx(600.0 - 1.0)
    assert Polygon(clean.interiors[0]).equals(Polygon(real))
    # nothing to drop: the same geometry, not a copy (caches key on it)
    assert without_slivers(clean) is clean


def test_a_first_pivot_over_a_detected_suspect_is_moved_off_it():
    """gen_random seed 67 (stop 74), recorded by the coverage planner: a way out of a no-go
    zone's reach ended 1.6 m from a PMN the fusion tracked as AP; the re-plan's first pivot
    there swept the right track over it (an AP detonation). The plan moves first, tool
    raised, to where no pivot reaches a suspect, and its motions up to the first work leg
    keep the tracks off every suspect on ground not processed."""
    req = _recorded('gen_random_s67_suspect_at_start.json')
    plan = req.plan()
    hazard = unary_union([disc_polygon(x, y, r) for x, y, r in req.suspects])
    hazard = hazard.difference(req.processed).difference(req.safe_ground)
    rows = np.column_stack([plan.waypoints, plan.facing])
    first_work = max(int(np.argmax(plan.work)), 1)
    assert not head_presses(rows[:first_work + 1], req.start_yaw, lead_geometry(req.params),
                            hazard)
    assert any('a track over a detected suspect' in note for note in plan.notes)
    # and the move is a straight one as the machine faces, along its trail
    assert rows[1, 2] == pytest.approx(req.start_yaw)


def test_a_transit_keeps_the_clearance_from_an_exclusion_zone_as_from_a_no_go_zone():
    """gen_notch_clay_exclusion seed 66 (stop 74), recorded by the coverage planner: the
    re-plan's first transit ran straight across the field past the exclusion zone's corner
    with the hull 4 cm off it; the supervisor, extrapolating the follower's corrections,
    stopped it there, and six pins later the mission was aborted at 33 %."""
    req = _recorded('gen_notch_clay_exclusion_s66_corner.json')
    plan = req.plan()
    p = req.params
    zone = unary_union([Polygon(z) for z in req.exclusion_zones])
    hulls = [footprint(x, y, f, p.footprint_rear_m, p.footprint_front_m,
                       p.footprint_half_width_m)
             for (x, y), f in zip(plan.waypoints, plan.facing)]
    # lanes and passes beside it keep the tool's clearance (the hull 0.1 m wider each side)
    assert min(zone.distance(h) for h in hulls) >= \
        p.exclusion_clearance_m - (p.footprint_half_width_m - 0.5 * p.tool_width_m) - 0.05
