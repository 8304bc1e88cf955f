"""Allowed ground: the track-footprint path check, the geofence, and plans that respect them."""

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import unary_union

from demining_control.coverage.allowed import (ContactParams, check_path, geofence,
                                               metres_outside)
from demining_control.coverage.planner import (_CORNER_RUNS_M, CoverageParams, classify_work,
                                               lane_footprints, plan_coverage)
from demining_sim import shapes

RECT = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
CONTACT = ContactParams(resolution_m=0.1)


def _check(plan, field, zones=(), safe=None):
    xy = np.column_stack([plan.waypoints, plan.facing])
    work = classify_work(plan.waypoints, field, 4.0)
    return check_path(xy, work, field, zones, safe, CONTACT, clearance_m=0.5)


def test_a_straight_work_lane_keeps_its_tracks_on_what_the_tool_processed():
    # driving in along a lane from safe ground: the tool leads, the tracks follow on its strip
    safe = box(-10.0, 8.0, 0.0, 12.0)
    c = check_path([(-5.0, 10.0), (25.0, 10.0)], None, RECT, (), safe, CONTACT)
    assert c.violations == [] and c.outside_allowed_m == 0.0
    # the same drive with the tool raised: every metre in the field is on unknown ground
    c = check_path([(-5.0, 10.0), (25.0, 10.0)], [False, False], RECT, (), safe, CONTACT)
    assert len(c.violations) == 1 and c.outside_allowed_m > 20.0


def test_a_pivot_on_a_single_lane_sweeps_the_tracks_over_unprocessed_ground():
    safe = box(-10.0, 8.0, 0.0, 12.0)
    c = check_path([(-5.0, 10.0), (15.0, 10.0), (15.0, 15.0)], None, RECT, (), safe, CONTACT)
    assert c.turns == 1 and len(c.violations) >= 1
    assert c.violations[0] == pytest.approx((15.0, 10.0))


def test_suspects_a_track_presses_on_ground_not_allowed_are_counted_once_each():
    # The supervisor records each suspect (an AP or unknown track) a track presses before the
    # tool has processed it; the plan's yardstick counts the same (bench/coverage.py
    # --replay: a re-plan knows the suspects).
    safe = box(-10.0, 8.0, 0.0, 12.0)
    path = [(-5.0, 10.0), (15.0, 10.0), (15.0, 15.0)]       # in along a lane, then a pivot
    beside = (15.0, 11.8, 0.3)      # within the pivot's sweep, off the tool's strip
    ahead = (10.0, 10.0, 0.3)       # on the lane: the tool processes it before the tracks
    outside = (-3.0, 10.0, 0.3)     # on the declared safe ground
    far = (25.0, 3.0, 0.3)          # nowhere near the tracks
    c = check_path(path, None, RECT, (), safe, CONTACT, suspects=[ahead, outside, far, beside])
    assert c.suspects_pressed == [(15.0, 11.8)]
    assert c.as_dict()['suspects_pressed'] == 1
    # driven twice over: still one
    c = check_path(path + [(15.0, 10.0), (15.0, 15.0)], None, RECT, (), safe, CONTACT,
                   suspects=[beside])
    assert c.suspects_pressed == [(15.0, 11.8)]
    # the same drive tool raised presses the one on the lane too
    c = check_path(path, [False, False, False], RECT, (), safe, CONTACT,
                   suspects=[ahead, outside, far, beside])
    assert sorted(c.suspects_pressed) == [(10.0, 10.0), (15.0, 11.8)]


def test_tracks_on_ground_the_boom_never_swept_are_blind_and_scanned_ground_is_not():
    safe = box(-10.0, 8.0, 0.0, 12.0)
    contact = ContactParams(resolution_m=0.1, sensor_width_m=3.2, sensor_offset_x_m=4.0,
                            track_length_m=4.0, track_gauge_m=1.6, track_width_m=0.35)
    # driving forward the boom (4 m ahead, 3.2 m wide) sweeps the ground before the tracks
    # (1.95 m wide) reach it, tool down or raised: violations, none of them blind
    c = check_path([(-5.0, 10.0), (25.0, 10.0)], [False, False], RECT, (), safe, contact)
    assert len(c.violations) == 1 and c.blind_track_m2 == 0.0 and c.blind_track_at == []
    # a quarter pivot at the lane's end: its rear track corners (2.2 m out) swing past the
    # boom's 1.6 m half width over ground nothing has swept
    c = check_path([(-5.0, 10.0), (15.0, 10.0), (15.0, 15.0)], None, RECT, (), safe, contact)
    assert c.blind_track_m2 > 0.5 and c.blind_track_at[0] == pytest.approx((15.0, 10.0))
    # the same pivot after the boom swept both sides: passes (tool raised) at y 8 and 12
    # turning on safe ground beyond the field's ends, then in along y 10
    turning = box(-10.0, 0.0, 0.0, 20.0).union(box(30.0, 0.0, 40.0, 20.0))
    xy = [(-5.0, 8.0), (35.0, 8.0), (35.0, 12.0), (-5.0, 12.0), (-5.0, 10.0), (15.0, 10.0),
          (15.0, 15.0)]
    swept = check_path(xy, [False] * 4 + [True] * 3, RECT, (), turning, contact)
    assert swept.turns == 5 and swept.blind_track_m2 == 0.0
    assert len(swept.violations) >= 1          # still unprocessed: not allowed ground
    # reversing, the boom trails the tracks: ground behind the machine is blind
    xy = np.array([[15.0, 10.0, 0.0], [5.0, 10.0, 0.0]])
    c = check_path(xy, [False, False], RECT, (), box(14.0, 8.0, 16.0, 12.0), contact)
    assert c.blind_track_m2 > 10.0


def test_a_pass_along_a_gentle_curve_keeps_its_tracks_on_its_own_strip():
    # a pass along a 300 m arc drawn as a polyline (1.2 degree bends every 6.3 m, as a curved
    # field's boundary is drawn): the follower drives each bend as a curve, the tool sweeping
    # round it, and on an arc this wide the tracks stay within the tool's strip (they cut
    # inside it by 2.6^2 / 2R, 1.1 cm). A bend is no pivot and no turn.
    radius, step = 300.0, 6.35
    angles = np.arange(0.0, 60.0 / radius, step / radius)
    arc = [(radius * math.sin(a), radius * (1.0 - math.cos(a))) for a in angles]
    field = LineString(arc).buffer(6.0, cap_style='flat')
    safe = Point(arc[0]).buffer(8.0).difference(field)
    xy = [(arc[0][0] - 6.0, arc[0][1])] + arc
    for res in (0.2, 0.05):
        c = check_path(xy, None, list(field.exterior.coords), (), safe,
                       ContactParams(resolution_m=res))
        assert c.field_violations == [] and c.turns == 0, res


def test_backing_out_retraces_processed_ground_without_a_pivot():
    safe = box(-10.0, 8.0, 0.0, 12.0)
    xy = np.array([[-5.0, 10.0, 0.0], [15.0, 10.0, 0.0], [-5.0, 10.0, 0.0]])
    c = check_path(xy, [True, False, False], RECT, (), safe, CONTACT)
    assert c.violations == [] and c.turns == 1


def test_keep_out_zones_count_even_when_processed_and_a_safe_road_may_be_crossed():
    road = [(10.0, -5.0), (14.0, -5.0), (14.0, 25.0), (10.0, 25.0)]
    safe = box(-10.0, 8.0, 0.0, 12.0)
    c = check_path([(-5.0, 10.0), (25.0, 10.0)], None, RECT, [road], safe, CONTACT)
    assert c.keep_out_m > 3.0 and len(c.keep_out_at) == 1
    c = check_path([(-5.0, 10.0), (25.0, 10.0)], None, RECT, [road],
                   safe.union(Polygon(road)), CONTACT)
    assert c.keep_out_m == 0.0


def test_geofence_is_field_and_safe_ground_grown_by_the_margin():
    lane = box(-40.0, 8.0, 0.0, 12.0)
    fence = geofence(RECT, lane, 10.0)
    assert fence.covers(Point(-45.0, 10.0)) and not fence.covers(Point(-20.0, 30.0))
    assert metres_outside([(-20.0, 10.0), (5.0, 10.0)], fence) == 0.0
    assert metres_outside([(5.0, 10.0), (5.0, 40.0)], fence) == pytest.approx(10.0)


def test_without_safe_surroundings_the_headland_is_processed_first_and_lanes_turn_on_it():
    plan = plan_coverage(RECT, [], (-8.0, 10.0))
    passes = CoverageParams().auto_headland_passes()
    band = 2.0 + (passes - 1) * 1.8
    # the passes are driven as one spiral, each handing over to the next at a corner; their
    # tool strips cover the whole headland band
    assert passes == 3 and len(plan.headland) == 1
    strips = LineString(plan.headland[0]).buffer(1.0, cap_style='flat')
    headland_band = Polygon(RECT).difference(Polygon(RECT).buffer(-band, join_style='mitre'))
    assert headland_band.difference(strips).area < 0.01 * headland_band.area
    # the spiral stays in the field but where it turns a corner: it leaves the field only
    # near a corner, by at most the longest run past it
    outside = LineString(plan.headland[0]).difference(Polygon(RECT))
    for piece in getattr(outside, 'geoms', [outside]):
        assert min(Point(c).distance(piece) for c in RECT) < max(_CORNER_RUNS_M)
    assert Polygon(RECT).buffer(max(_CORNER_RUNS_M) + 1e-6, join_style='mitre').contains(
        LineString(plan.headland[0]))
    # lanes end on the turning line, on the processed headland: every lane-end pivot keeps the
    # tracks' disc on the headland band or the lane itself
    headland = lane_footprints(plan, 2.0).difference(Polygon(RECT).buffer(-band))
    radius = CoverageParams().pivot_radius_m
    for lane in plan.lanes:
        for end in (lane.start, lane.end):
            disc = Point(end).buffer(radius)
            assert disc.difference(headland).area < 0.15 * disc.area
    assert _check(plan, RECT).coverage_pct >= 99.0


@pytest.mark.parametrize('field,start', [
    (RECT, (-8.0, 10.0)),
    ([(0.0, 0.0), (40.0, 0.0), (48.0, 20.0), (20.0, 34.0), (-6.0, 18.0)], (-8.0, 5.0)),
    ([(0.0, 0.0), (40.0, 10.0), (30.0, 40.0), (-5.0, 30.0)], (-8.0, 5.0))])
def test_headland_corners_turn_where_the_tracks_sweep_no_unprocessed_ground_of_the_field(
        field, start):
    # A pivot at a pass's corner swept the tracks' 2.2 m disc over the inner passes' ground,
    # not processed yet: 12-15 violations on a field without safe surroundings, each one a
    # track on confirmed hazardous ground. Bulb turns put the pivots on processed bands or
    # outside the field; at most the hand-over from the headland to the first lane is left.
    plan = plan_coverage(field, [], start)
    check = _check(plan, field)
    assert len(check.field_violations) <= 1
    assert check.coverage_pct >= 99.0


def test_the_headland_turns_into_the_first_lane_at_a_corner_not_by_a_pivot_on_it():
    # The innermost pass ended running along its first side; the transit to the first lane
    # then pivoted there, the tracks' disc reaching 1.2 m into the lanes' unprocessed ground
    # (one violation per field). Where a lane's line crosses the pass's last run, the pass
    # turns into that lane at a corner, the pivots of its bulb turn on processed ground.
    plan = plan_coverage(RECT, [], (-8.0, 10.0))
    check = _check(plan, RECT)
    assert check.field_violations == []
    assert check.coverage_pct >= 99.5


def test_safe_surroundings_let_the_machine_turn_outside_the_field():
    safe = Polygon(RECT).buffer(12.0, join_style='mitre').difference(Polygon(RECT))
    plan = plan_coverage(RECT, [], (-8.0, 10.0), safe_ground=safe)
    assert plan.headland == []
    assert min(min(ln.start[0], ln.end[0]) for ln in plan.lanes) < 0.0
    check = _check(plan, RECT, safe=safe)
    assert check.violations == [] and check.coverage_pct >= 99.5


def test_footprint_violations_are_only_at_the_headlands_corners_and_outside_the_field():
    # Measured, not hidden: the first pass has nothing processed to turn on, so its corner
    # turns sweep ground outside the field that is not declared safe. On the field itself at
    # most one violation is left (the hand-over to the first lane), and none is in the
    # interior the lanes cover.
    plan = plan_coverage(RECT, [], (-8.0, 10.0))
    check = _check(plan, RECT, safe=box(-12.0, 8.0, 0.0, 12.0))
    band = 2.0 + 2 * 1.8
    inner = Polygon(RECT).buffer(-band)
    assert check.violations
    assert len(check.field_violations) <= 1
    for v in check.violations:
        assert not inner.contains(Point(v))
    # the first is the run-in from the parked machine to the first pass's start, outside
    # the field (the declared lane is narrower than a pivot), the others are corner turns
    for v in check.violations[1:]:
        if not Polygon(RECT).buffer(-1e-6).contains(Point(v)):
            assert min(math.dist(v, c) for c in RECT) < max(_CORNER_RUNS_M) + 3.0


def test_a_field_cut_by_a_keep_out_road_is_reported_not_crossed():
    s = shapes.split_by_road(60.0, 40.0)
    safe = Polygon(s.approach_lane)
    plan = plan_coverage(s.field, s.exclusion_zones, s.start[:2], safe_ground=safe)
    cut = [g for g, why in plan.unplanned if 'cut off' in why]
    assert cut and sum(g.area for g in cut) > 500.0
    assert _check(plan, s.field, s.exclusion_zones, safe).keep_out_at == []
    # declared safe to cross, the far side is planned
    road = s.exclusion_zones[0]
    plan = plan_coverage(s.field, s.exclusion_zones, s.start[:2],
                         safe_ground=safe.union(Polygon(road)))
    assert not [g for g, why in plan.unplanned if 'cut off' in why]


def test_gaps_beside_a_slanted_zone_are_re_covered():
    zone = [(-5.0, 8.0), (35.0, 10.0), (35.0, 13.0), (-5.0, 11.0)]
    plan = plan_coverage(RECT, [zone], (-8.0, 2.0), safe_ground=Polygon(zone))
    workable = Polygon(RECT).difference(Polygon(zone).buffer(0.5))
    covered = lane_footprints(plan, 2.0).intersection(workable).area / workable.area
    # without the re-cover the strips along both edges are lost (about 85 %); with it 97.7 %
    # today: the teeth the slanted lanes leave beyond one pass along the edge stay (the issue
    # asks 99.5 %, bench/coverage.py tracks it)
    assert covered >= 0.975


def test_gap_transits_are_judged_on_all_the_fields_unprocessed_ground():
    """A gap's lanes are planned on the gap alone, but the way there crosses the rest of the
    field: judged on the gap's unprocessed ground only, its transits ran over other gaps and
    the clearance round the craters as if it were processed (bench/coverage.py --quick
    cratered_field: 29 stretches of tracks on the field's unprocessed ground, 24 then; the
    same coverage). The partial back-ups before blind lowerings (coverage/lead_in.py) split
    one of those stretches in two with a back-up on processed ground between: 25 stretches,
    the metres of tracks on the field's unprocessed ground 165.0 -> 165.9 (guarded here
    since), the blind lead bands 115.5 -> 76.0 m^2 (measured 2.0 m wide since, not 1.7).
    Back-ups longer than the band behind turns (coverage/lead_in.py ``max_back_m``): 24 ->
    27 stretches, 165.7 -> 162.7 m, the blind lowerings 29 -> 23: a back-up breaks a stretch
    in two where the work legs after it no longer press unprocessed ground (the pivot at
    (22.7, 33.3) then starts a stretch of its own; its work legs were one before). Back-ups
    onto ground the boom scanned where none on processed ground sees the band
    (``lead_in_back_up_scanned``): 162.7 -> 167.8 m (one 5 m back-up over the field's scanned,
    unprocessed ground), the blind lowerings 23 -> 22."""
    s = shapes.cratered_field(80.0, 60.0, 6)
    safe = unary_union([Polygon(ring) for ring in [s.approach_lane, *s.safe_areas] if ring])
    plan = plan_coverage(s.field, s.exclusion_zones, s.start[:2], safe_ground=safe,
                         start_yaw=s.start[2])
    xy = np.column_stack([plan.waypoints, plan.facing])
    check = check_path(xy, plan.work, s.field, s.exclusion_zones, safe,
                       ContactParams(resolution_m=0.2))
    assert len(check.field_violations) <= 27
    assert check.field_outside_allowed_m <= 168.0
    assert len(plan.lead_ins.blind) <= 22
    assert check.keep_out_at == []


@pytest.mark.parametrize('name', ['curved_strip', 'u_round_pond'])
def test_generated_shapes_are_covered_without_entering_keep_out(name):
    s = {'curved_strip': lambda: shapes.curved_strip(120.0, 12.0, 400.0),
         'u_round_pond': lambda: shapes.u_round_pond(50.0, 16.0)}[name]()
    safe = Polygon(s.approach_lane)
    plan = plan_coverage(s.field, s.exclusion_zones, s.start[:2], safe_ground=safe)
    check = _check(plan, s.field, s.exclusion_zones, safe)
    assert check.coverage_pct >= 99.0 and check.keep_out_at == []
    assert math.isfinite(plan.length_m)


def test_an_overlay_geos_cannot_make_is_made_again_snap_rounded():
    """GEOS's floating-point overlay can fail on nearly coincident edges (test_planner's random
    fields: "side location conflict" in a union of swaths, "unable to determine overlay result
    geometry dimension" in a difference); :func:`robust` then snap-rounds to ROBUST_GRID_M.
    The usual case is the plain overlay."""
    from demining_control.coverage.allowed import ROBUST_GRID_M, robust
    a, b = box(0.0, 0.0, 2.0, 2.0), box(1.0, 1.0, 3.0, 3.0)
    assert robust(shapely.difference, a, b).equals(a.difference(b))
    calls = []

    def fragile(*geoms, grid_size=None):
        calls.append(grid_size)
        if grid_size is None:
            raise shapely.errors.GEOSException('TopologyException: side location conflict')
        return shapely.union_all(*geoms, grid_size=grid_size)
    got = robust(fragile, [a, b])
    assert calls == [None, ROBUST_GRID_M]
    assert abs(got.area - 7.0) < 1e-9
