"""No-go zones from AT/UXO detections, the back-out point, and re-planning around them."""

import math

import numpy as np
import pytest
from shapely.geometry import LineString, Point, box
from shapely.ops import unary_union

from demining_bringup.contract.datatypes import Detection, DetectionKind
from demining_control.coverage.no_go import NoGoZones, back_out_point, disc_polygon, footprint
from demining_control.coverage.planner import CoverageParams, plan_coverage
from demining_control.coverage.processed import processed_geometry

FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]


def _det(kind, x, y, radius=0.16):
    return Detection(x=x, y=y, depth=0.2, confidence=0.9, kind=kind, radius=radius)


def test_only_at_and_uxo_make_zones_and_zones_never_shrink():
    zones = NoGoZones(margin_m=1.0)
    added = zones.update([_det(DetectionKind.AP, 5, 5), _det(DetectionKind.CLUTTER, 6, 6),
                          _det(DetectionKind.AT, 10, 10), _det(DetectionKind.UXO, 20, 5, 0.3)])
    assert [(x, y) for x, y, _ in added] == [(10.0, 10.0), (20.0, 5.0)]
    assert math.isclose(zones.discs[0][2], 1.16)
    # the same item again: no new zone; a larger estimate widens it, a smaller never shrinks
    assert zones.update([_det(DetectionKind.AT, 10.1, 10.0, 0.5)]) == []
    assert math.isclose(zones.discs[0][2], 1.5)
    zones.update([_det(DetectionKind.AT, 10.0, 10.0, 0.05)])
    assert math.isclose(zones.discs[0][2], 1.5)
    # re-labelled later: the zone stays
    zones.update([_det(DetectionKind.CLUTTER, 10.0, 10.0)])
    assert len(zones.discs) == 2
    assert zones.update([_det(DetectionKind.AT, float('nan'), 1.0)]) == []


def test_the_disc_polygon_contains_the_disc():
    poly = disc_polygon(3.0, 4.0, 1.2)
    for k in range(360):
        a = math.radians(k)
        assert poly.buffer(1e-9).contains(Point(3.0 + 1.2 * math.cos(a), 4.0 + 1.2 * math.sin(a)))


def test_footprint_is_placed_and_turned():
    fp = footprint(10.0, 5.0, math.pi / 2, rear_m=3.0, front_m=3.3, half_width_m=1.1)
    minx, miny, maxx, maxy = fp.bounds
    assert np.allclose([minx, miny, maxx, maxy], [8.9, 2.0, 11.1, 8.3])


def test_back_out_point_clears_the_pivot_reach():
    zone = disc_polygon(5.0, 0.0, 1.2)
    assert back_out_point(-10.0, 0.0, 0.0, [zone], reach_m=3.5, step_m=0.5, max_m=10.0) is None
    bx, by = back_out_point(1.0, 0.0, 0.0, [zone], reach_m=3.5, step_m=0.5, max_m=10.0)
    assert by == 0.0 and bx < 1.0
    assert zone.distance(Point(bx, by)) >= 3.5
    assert zone.distance(Point(bx + 0.5, by)) < 3.5      # not further than needed
    # capped: the last point tried
    assert back_out_point(1.0, 0.0, 0.0, [zone], 3.5, 0.5, 0.5) == (0.5, 0.0)


def test_a_replan_skips_processed_lanes_and_keeps_out_of_zones():
    params = CoverageParams()
    first = plan_coverage(FIELD, (), (-8.0, 1.0), params)
    processed = box(0.0, 0.0, 30.0, 9.0)
    zone = disc_polygon(15.0, 14.0, 1.2)
    ring = list(zone.exterior.coords)[:-1]
    again = plan_coverage(FIELD, [ring], (10.0, 8.0), params, processed=processed)
    assert again.work_length_m < first.work_length_m
    # no lane's tool strip crosses the zone, and none lies wholly in processed ground
    for lane in again.lanes:
        strip = LineString([lane.tool_start, lane.tool_end]).buffer(
            0.5 * params.tool_width_m, cap_style='flat')
        assert strip.intersection(zone).area < 1e-6
        assert strip.intersection(processed).area < 0.95 * strip.area


def test_processed_geometry_from_an_occupancy_grid():
    values = np.zeros((20, 30), dtype=np.int8)
    values[2:5, 3:10] = 100
    values[10, :] = 100
    geom = processed_geometry(values, -1.0, -2.0, 0.5)
    assert math.isclose(geom.area, (3 * 7 + 30) * 0.25)
    assert geom.contains(Point(-1.0 + 4 * 0.5, -2.0 + 3 * 0.5))
    assert processed_geometry(np.zeros((3, 3), dtype=np.int8), 0, 0, 1).is_empty


def test_back_out_stops_short_of_a_zone_behind():
    """mixed_field: backing out of a zone ahead straight into one behind pinned the machine."""
    ahead, behind = disc_polygon(5.0, 0.0, 1.2), disc_polygon(-4.5, 0.0, 1.2)
    hull = (3.0, 3.3, 1.1)
    free = back_out_point(1.0, 0.0, 0.0, [ahead], 6.0, 0.5, 10.0)
    assert footprint(*free, 0.0, *hull).intersection(behind).area > 1.0   # backs into it
    bx, by = back_out_point(1.0, 0.0, 0.0, [ahead], 6.0, 0.5, 10.0, hull=hull,
                            behind=[ahead, behind])
    assert (bx, by) == (0.0, 0.0)
    assert footprint(bx, by, 0.0, *hull).intersection(behind).area < 1e-3
    # already against the zone behind: no back-out at all
    assert back_out_point(-4.7, 0.0, 0.0, [disc_polygon(-0.5, 0.0, 1.2)], 3.5, 0.5, 10.0,
                          hull=hull, behind=[disc_polygon(-9.0, 0.0, 1.2)]) is None
    # and never out of the geofence
    assert back_out_point(1.0, 0.0, 0.0, [ahead], 6.0, 0.5, 10.0,
                          inside=box(-1.2, -5.0, 10.0, 5.0)) == (-1.0, 0.0)


def test_out_of_a_zone_behind_straight_ahead():
    behind = disc_polygon(-4.0, 0.0, 1.2)
    bx, by = back_out_point(0.0, 0.0, 0.0, [behind], 6.0, 0.5, 10.0, hull=(3.0, 3.3, 1.1),
                            forward=True)
    assert by == 0.0 and bx > 0.0 and behind.distance(Point(bx, by)) >= 6.0


def test_straight_ahead_never_sweeps_new_ground_of_a_zone_beside_the_hull():
    """The forward way out of a zone behind ran the hull onto the edge of a zone ahead beside
    it. The hull's overlap with both fell (it left the one behind), so the step looked clear,
    but the supervisor refuses a forward motion that sweeps any new zone ground."""
    hull = (3.0, 3.3, 1.1)
    behind, beside = disc_polygon(-3.6, 0.0, 1.2), disc_polygon(4.4, 1.8, 1.0)
    assert footprint(0.0, 0.0, 0.0, *hull).intersection(beside).area == 0.0
    assert footprint(0.5, 0.0, 0.0, *hull).intersection(beside).area > 1e-3
    assert back_out_point(0.0, 0.0, 0.0, [behind, beside], 6.0, 0.5, 10.0, hull=hull,
                          forward=True) is None
    # with the zone beside further off, ahead is the way out up to where the sweep reaches it
    far = disc_polygon(7.4, 1.8, 1.0)
    bx, by = back_out_point(0.0, 0.0, 0.0, [behind, far], 6.0, 0.5, 10.0, hull=hull,
                            forward=True)
    assert by == 0.0 and 0.0 < bx <= 3.0
    assert footprint(bx, by, 0.0, *hull).intersection(far).area < 1e-3


def test_the_back_out_never_sweeps_ground_that_is_not_processed_safe_or_driven():
    """gen_random seed 12: just after a pivot, an AT mine found ahead made the planner reverse
    9 m straight behind, onto ground the machine had never driven, where a TM-62M lay."""
    hull = (3.0, 3.3, 1.1)
    # driven east along y = 0 to (0, 0): the tracks pressed that ground
    driven = unary_union([footprint(x, 0.0, 0.0, *hull) for x in np.arange(-12.0, 0.01, 0.25)])
    ahead = disc_polygon(5.0, 0.0, 1.2)
    bx, by = back_out_point(0.0, 0.0, 0.0, [ahead], 6.0, 0.5, 10.0, hull=hull, ground=driven)
    assert by == 0.0 and ahead.distance(Point(bx, by)) >= 6.0    # back along the trail
    # turned north there (the pivot swept a disc), a zone found ahead: south of the trail is
    # ground the machine never drove, and the back-out stops at its edge
    turned = unary_union([driven] + [footprint(0.0, 0.0, a, *hull)
                                     for a in np.linspace(0.0, math.pi / 2, 16)])
    north = disc_polygon(0.0, 5.0, 1.2)
    free = back_out_point(0.0, 0.0, math.pi / 2, [north], 6.0, 0.5, 10.0, hull=hull)
    assert free[1] < -2.0                                         # without the ground bound
    bounded = back_out_point(0.0, 0.0, math.pi / 2, [north], 6.0, 0.5, 10.0, hull=hull,
                             ground=turned)
    assert bounded is None
    # processed (or declared safe) ground behind counts like driven ground
    worked = turned.union(box(-1.5, -12.0, 1.5, 0.0))
    bx, by = back_out_point(0.0, 0.0, math.pi / 2, [north], 6.0, 0.5, 10.0, hull=hull,
                            ground=worked)
    assert bx == pytest.approx(0.0, abs=1e-9) and north.distance(Point(bx, by)) >= 6.0
    swept = unary_union([footprint(0.0, y, math.pi / 2, *hull) for y in np.arange(by, 0.01, 0.5)])
    assert swept.difference(worked).area < 1e-3


def test_an_escape_backs_off_turns_away_and_drives_off_over_driven_ground(
        supervisor_refusals):
    """gen_random seed 11: the machine backed out of a zone found on its lane, pivoted to face
    the next one, and the boom found a second AT mine ahead. The pivot back swept that zone,
    behind lay ground nobody had processed and, 2 m back, the first zone still within its
    pivot reach: the machine stood pinned until the mission aborted at 8 %. The way out an
    operator takes: a metre back, a pivot away from the zone, off along the driven lane."""
    from demining_control.coverage.no_go import escape, retrace
    hull = (3.0, 3.3, 1.1)
    reach = math.hypot(3.3, 1.1) + 0.5
    # drove east along y = 0 to (1.3, 0), pivoted, backed out to (0, 0), pivoted to -2.25
    trail = [(x, 0.0, 0.0) for x in np.arange(-10.0, 1.31, 0.25)]
    trail += [(1.3, 0.0, a) for a in np.linspace(0.0, -0.3, 4)]
    trail += [(x, 0.0, -0.3) for x in np.arange(1.3, -0.01, -0.25)]
    trail += [(0.0, 0.0, a) for a in np.arange(-0.3, -2.26, -0.1)]
    yaw = trail[-1][2]
    ground = unary_union([footprint(*t, *hull) for t in trail]).buffer(0.25, join_style='mitre')
    zones_at = [(5.17, -0.12, 1.22), (-1.76, -3.6, 1.16)]
    zones = [disc_polygon(*z) for z in zones_at]
    both = unary_union(zones)
    assert footprint(0.0, 0.0, yaw, *hull).intersection(zones[1]).area > 0.1
    # neither the way it came nor 2 m straight back gets clear
    assert retrace(trail, 0.0, 0.0, yaw, zones, reach, 10.0, hull) == []
    back = back_out_point(0.0, 0.0, yaw, zones, reach, 0.5, 2.0, hull=hull)
    assert both.distance(Point(*back)) < reach
    budget = 2.0 * 2.0 * hull[2]                  # a 2 m straight reverse's worth
    found = escape(0.0, 0.0, yaw, zones, reach, hull, ground=ground, blind_m2=budget)
    assert found is not None and 0.0 < found.blind_m2 <= budget + 1e-3
    end = found.way[-1]
    assert both.distance(Point(end[0], end[1])) >= reach
    assert found.turn_rad < 0.0                   # turned away from the zone, not across it
    assert supervisor_refusals(found.way, yaw, zones_at) == []
    # a turn the path follower would drive as an arc is no pivot: none below min_turn_rad
    pivots = escape(0.0, 0.0, yaw, zones, reach, hull, ground=ground, blind_m2=budget,
                    min_turn_rad=0.65)
    assert pivots is not None and (pivots.turn_rad == 0.0 or abs(pivots.turn_rad) >= 0.65)
    assert supervisor_refusals(pivots.way, yaw, zones_at) == []
    # no blind ground allowed: no way out, the machine stays (the pin budget ends it)
    assert escape(0.0, 0.0, yaw, zones, reach, hull, ground=ground, blind_m2=0.0) is None
    # without the ground bound the same rules give a way at once, and the supervisor agrees
    free = escape(0.0, 0.0, yaw, zones, reach, hull)
    assert free is not None and supervisor_refusals(free.way, yaw, zones_at) == []


def test_an_escape_is_none_when_the_machine_is_clear_already():
    from demining_control.coverage.no_go import escape
    zone = disc_polygon(10.0, 0.0, 1.2)
    assert escape(0.0, 0.0, 0.0, [zone], 4.0, (3.0, 3.3, 1.1)) is None


def test_a_pivot_the_supervisor_refuses_is_the_paths_first_refusal():
    """One rule for the path the planner hands over and the motion the supervisor passes:
    a pivot whose hull's rear corner (3.2 m from base_link) swings into a zone 3.1 m away,
    beyond the rear edge (3 m), is refused by both; backing straight away passes both."""
    from demining_bringup.contract.datatypes import Twist2D, VehicleState
    from demining_control.coverage.no_go import first_refusal
    from demining_control.safety.supervisor import SafetyInputs, SafetySupervisor
    sup = SafetySupervisor([(-50.0, -50.0), (50.0, -50.0), (50.0, 50.0), (-50.0, 50.0)])
    p = sup.params
    hull = (p.footprint_rear_m, p.footprint_front_m, p.footprint_half_width_m)
    r = 1.16
    bearing = math.radians(120.0)           # behind on the left
    zx, zy = (3.1 + r) * math.cos(bearing), (3.1 + r) * math.sin(bearing)
    sup.on_detections([Detection(x=zx, y=zy, depth=0.2, confidence=0.9,
                                 kind=DetectionKind.AT, radius=r - p.no_go_margin_m)])
    zone = disc_polygon(zx, zy, r)
    assert footprint(0.0, 0.0, 0.0, *hull).distance(zone) > 0.1

    def refused(v: float, omega: float) -> bool:
        return sup._enters_no_go(SafetyInputs(cmd=Twist2D(v, omega),
                                              pose=VehicleState(0.0, 0.0, 0.0, 0.0)))
    # clockwise (the short way to -60 deg): the rear swings north, into the zone
    pivot = [(0.0, 0.0, 0.0), (0.0, 0.0, math.radians(-60.0)), (4.0, -6.9, math.radians(-60))]
    hit = first_refusal((0.0, 0.0, 0.0), pivot, [zone], hull, 4.0)
    assert hit is not None and hit[0] == 0 and hit[1][:2] == (0.0, 0.0)
    assert refused(0.0, -0.4)
    # straight back, past the zone beside: neither refuses
    back = [(0.0, 0.0, 0.0), (-2.0, 0.0, 0.0)]
    assert first_refusal((0.0, 0.0, 0.0), back, [zone], hull, 4.0) is None
    assert not refused(-0.3, 0.0)


def _l_lane_fence():
    """Where base_link may go (a geofence): round where it stands, a lane 1.5 m north-east,
    then one 2.6 m east."""
    bend = (1.5 / math.sqrt(2.0), 1.5 / math.sqrt(2.0))
    return unary_union([Point(0.0, 0.0).buffer(0.6),
                        LineString([(0.0, 0.0), bend, (bend[0] + 2.6, bend[1])]).buffer(0.2)])


def test_where_no_turn_on_the_spot_and_no_straight_way_gets_clear_two_pivots_do(
        supervisor_refusals):
    """gen_at_uxo_lanes seed 1: between zones north and south, any turn on the spot that
    would get clear swings a flail corner into one, straight back runs the hull into a third
    and straight on leads nowhere clear; the machine stood pinned until the mission aborted at
    62 %. The way out: a partial turn the supervisor lets pass, a short move, the turn away
    and off, each motion judged by the supervisor's own rule."""
    from demining_control.coverage.no_go import escape, first_refusal
    hull = (3.0, 3.3, 1.1)
    turn_reach = math.hypot(3.3, 1.1)
    zones_at = [(0.0, 4.4, 1.16), (0.0, -4.4, 1.16), (-4.5, 0.0, 1.16)]
    zones = [disc_polygon(*z) for z in zones_at]
    union = unary_union(zones)
    fence = _l_lane_fence()
    assert union.distance(Point(0.0, 0.0)) < turn_reach
    # every turn on the spot of more than 60 degrees, either way, is refused
    for deg in (75.0, 90.0, 120.0, 150.0, 175.0):
        for sign in (1.0, -1.0):
            turn = [(0.0, 0.0, sign * math.radians(deg))]
            assert first_refusal((0.0, 0.0, 0.0), turn, zones, hull, 1.0) is not None
    # straight back the hull runs into the zone behind at once; straight on gets nowhere
    assert back_out_point(0.0, 0.0, 0.0, zones, turn_reach, 0.5, 10.0, hull=hull,
                          inside=fence) is None
    ahead = back_out_point(0.0, 0.0, 0.0, zones, turn_reach, 0.5, 10.0, hull=hull,
                           inside=fence, forward=True)
    assert ahead is None or union.distance(Point(*ahead)) < turn_reach
    found = escape(0.0, 0.0, 0.0, zones, turn_reach, hull, inside=fence, min_turn_rad=0.65)
    assert found is not None and len(found.turns_rad) == 2
    # no single pivot leads out
    assert escape(0.0, 0.0, 0.0, zones, turn_reach, hull, inside=fence, min_turn_rad=0.65,
                  max_pivots=1) is None
    assert all(abs(t) >= 0.65 for t in found.turns_rad)
    assert all(fence.contains(Point(wx, wy)) for wx, wy, _ in found.way)
    end = found.way[-1]
    assert union.distance(Point(end[0], end[1])) >= turn_reach
    assert supervisor_refusals(found.way, 0.0, zones_at) == []
    # a full turn where it ends sweeps no zone ground
    for deg in range(-170, 180, 10):
        turn = [(end[0], end[1], end[2] + math.radians(deg))]
        assert first_refusal(end, turn, zones, hull, 1.0) is None


def test_an_escape_takes_the_turning_reach_when_no_way_gets_the_margin_beyond_it():
    """The margin beyond the turning reach is preferred, not required: no way along the lanes
    gets 0.5 m beyond it, one gets the reach itself (asked for the margin, gen_at_uxo_lanes
    seed 1 found none and stood pinned)."""
    from demining_control.coverage.no_go import escape
    hull = (3.0, 3.3, 1.1)
    turn_reach = math.hypot(3.3, 1.1)
    zones = [disc_polygon(0.0, 4.4, 1.16), disc_polygon(0.0, -4.4, 1.16),
             disc_polygon(-4.5, 0.0, 1.16)]
    fence = _l_lane_fence()
    assert escape(0.0, 0.0, 0.0, zones, turn_reach + 0.5, hull, inside=fence,
                  min_turn_rad=0.65) is None
    found = escape(0.0, 0.0, 0.0, zones, turn_reach, hull, inside=fence, min_turn_rad=0.65,
                   margin_m=0.5)
    assert found is not None and not found.with_margin
    end = found.way[-1]
    assert unary_union(zones).distance(Point(end[0], end[1])) >= turn_reach
    # where the margin is within reach it is taken
    wide = escape(0.0, 0.0, 0.0, zones, turn_reach, hull, min_turn_rad=0.65, margin_m=0.5)
    assert wide is not None and wide.with_margin
    end = wide.way[-1]
    assert unary_union(zones).distance(Point(end[0], end[1])) >= turn_reach + 0.5


def test_a_way_out_goes_no_deeper_into_keep_out_ground_than_the_supervisor_lets_it():
    """One tolerance (KEEP_OUT_AREA_EPS_M2): a reverse that takes the hull 5e-4 m^2 deeper
    into a zone is refused by the supervisor's rule, so no back-out or retrace plans it (they
    allowed 1e-3 m^2 and planned reverses the supervisor then refused)."""
    from demining_control.coverage.no_go import KEEP_OUT_AREA_EPS_M2, KeepOutSweep, retrace
    hull = (3.0, 3.3, 1.1)
    reach = math.hypot(3.3, 1.1) + 0.5
    # a sliver of zone along the hull's left side, from just ahead of its rear edge back
    h = 1e-3
    zone = box(-20.0, hull[2] - h, -2.9, 5.0)
    start, back = footprint(0.0, 0.0, 0.0, *hull), footprint(-0.5, 0.0, 0.0, *hull)
    deeper = back.intersection(zone).area - start.intersection(zone).area
    assert KEEP_OUT_AREA_EPS_M2 < deeper < 1e-3
    assert KeepOutSweep(zone, start, reverse=True).refuses(back)
    assert back_out_point(0.0, 0.0, 0.0, [zone], reach, 0.5, 10.0, hull=hull) is None
    trail = [(x, 0.0, 0.0) for x in np.arange(-10.0, 0.01, 0.5)]
    assert retrace(trail, 0.0, 0.0, 0.0, [zone], reach, 10.0, hull) == []


def test_an_escape_keeps_the_tracks_off_a_suspect_when_a_way_does(suspect_refusals):
    """gen_at_uxo_lanes seed 65 with AP tracks refused once labelled: pinned beside a marked
    suspect, the escape's one leg crossed its disc; the supervisor refused it six times and
    the mission ended pinned at 71 %. Here an AT mine's zone at the hull's front right
    corner and an AP track 2.6 m behind on the left: straight back (the shortest way out)
    runs the left track over it. Knowing the suspects, the escape turns away on the spot and
    backs out past it, and the supervisor passes every motion."""
    from demining_control.coverage.no_go import SuspectPress, escape
    hull = (3.0, 3.3, 1.1)
    tracks = (2.0, 2.0, 0.975)                # the tracks' outline (the supervisor's contact)
    reach = math.hypot(3.3, 1.1) + 0.5
    zone_at, suspect_at = (4.2, -1.8), (-2.6, 0.6)
    zone = disc_polygon(*zone_at, 1.16)
    assert zone.intersects(footprint(0.0, 0.0, 0.0, *hull))     # at the hull's front corner
    blind = escape(0.0, 0.0, 0.0, [zone], reach, hull)
    assert blind is not None and not blind.turns_rad        # straight back...
    assert suspect_refusals(blind.way, 0.0, zone_at, suspect_at)     # ...over the AP track
    disc = disc_polygon(*suspect_at, 0.05 + 0.25)             # its radius and track margin
    press = SuspectPress(disc.difference(footprint(0.0, 0.0, 0.0, *tracks)), tracks)
    found = escape(0.0, 0.0, 0.0, [zone], reach, hull, suspects=press)
    assert found is not None and not found.presses_suspect
    assert zone.distance(Point(*found.way[-1][:2])) >= reach
    assert suspect_refusals(found.way, 0.0, zone_at, suspect_at) == []
    # boxed in (the AP track behind on the axis): a way that presses it is the last resort,
    # and says so
    press = SuspectPress(disc_polygon(-2.6, 0.0, 0.3), tracks)
    last = escape(0.0, 0.0, 0.0, [disc_polygon(4.0, 0.0, 1.16)], reach, hull, suspects=press,
                  max_pivots=1)
    assert last is not None and last.presses_suspect


def test_the_way_back_cuts_an_excursion_driven_out_and_back():
    """The driven trail newest first, a stretch driven out and back again left out: the way
    back goes from the return to the first visit."""
    from demining_control.coverage.no_go import way_back
    out = [(x, 0.0, 0.0) for x in np.arange(-5.0, 2.01, 0.25)]
    back = [(x, 0.0, 0.0) for x in np.arange(1.75, -0.01, -0.25)]     # reversed to (0, 0)
    turn = [(0.0, 0.0, a) for a in (0.1, 0.2, 0.3)]                     # pivoted on the spot
    way = way_back(out + back + turn)
    # the pivot undone, then from the return to (0, 0) straight on to the first visit and
    # back along the lane
    assert way[:4] == [turn[2], turn[1], turn[0], (0.0, 0.0, 0.0)]
    lane = np.arange(-0.25, -5.01, -0.25)
    assert [round(p[0], 2) for p in way[4:]] == [round(x, 2) for x in lane]
    # a pivot on the spot, or a step back shorter than an excursion, is kept as driven
    wiggle = out + [(2.0, 0.0, 0.1), (2.0, 0.0, 0.0)]
    assert way_back(wiggle) == list(reversed(wiggle))
    assert way_back([]) == []


def test_a_retrace_never_drives_back_towards_the_zone_it_backed_away_from():
    """gen_slope seed 66: a machine drove towards an AT mine's zone, backed out along its
    lane, pivoted and drove on, and was pinned. Its retrace, in time order, led it forwards
    again along the stretch it had backed out over, and stopped 0.3 m on: six pins, the
    mission aborted at 44 %. The way back leaves that stretch out."""
    from demining_control.coverage.no_go import retrace, turn_reach
    hull = (3.0, 3.3, 1.1)
    reach = turn_reach(*hull) + 0.5
    zone = disc_polygon(8.0, 0.0, 1.2)
    wide = disc_polygon(8.0, 0.0, 2.7)              # as widened by the pins, for planning
    out = [(x, 0.0, 0.0) for x in np.arange(-10.0, 3.01, 0.25)]           # towards the zone
    back = [(x, 0.0, 0.0) for x in np.arange(2.75, 1.49, -0.25)]          # backed out to 1.5
    turn = [(1.5, 0.0, a) for a in (0.1, 0.2, 0.3)]
    on = [(1.5 + d * math.cos(0.3), d * math.sin(0.3), 0.3) for d in (0.25, 0.5, 0.75)]
    x, y, yaw = on[-1]
    assert wide.distance(Point(x, y)) < reach
    way = retrace(out + back + turn + on, x, y, yaw, [wide], reach, 10.0, hull, behind=[zone])
    assert way and wide.distance(Point(*way[-1][:2])) >= reach
    start = wide.distance(Point(x, y))
    assert all(wide.distance(Point(px, py)) >= start - 1e-9 for px, py, _ in way)
    assert max(px for px, _, _ in way) <= x + 1e-9
